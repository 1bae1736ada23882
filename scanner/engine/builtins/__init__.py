"""The explicit registry of builtin checks (name → :class:`~scanner.engine.checks.Builtin`).

A rule names a builtin with ``check: {builtin: <name>}``; the loader refuses unknown names.
Registration is this dict, never an import side effect, so what exists is visible here.
"""

from __future__ import annotations

from scanner.engine.builtins.endpoints import (
    endpoint_policy_restricted,
    endpoint_private_dns_resolves,
    endpoint_security_group_restricted,
)
from scanner.engine.builtins.iam import (
    notebook_api_requires_vpc_endpoint,
    org_scp_enforces_vpc_endpoint,
    presigned_domain_url_requires_vpc_endpoint,
    presigned_url_requires_vpc_endpoint,
    vpce_condition_references_known_endpoints,
)
from scanner.engine.builtins.kms import kms_key_customer_managed
from scanner.engine.builtins.network import (
    notebook_subnet_no_internet_route,
    vpc_dns_attributes,
    vpc_private_connectivity,
)
from scanner.engine.builtins.studio import (
    studio_domain_subnet_no_internet_route,
    studio_root_access_disabled,
    studio_security_groups_restricted,
    vpc_has_sagemaker_studio_endpoint,
)
from scanner.engine.builtins.verdicts import (
    notebook_no_public_access_path,
    studio_domain_no_public_access_path,
)
from scanner.engine.checks import Builtin

BUILTINS: dict[str, Builtin] = {
    b.name: b
    for b in (
        Builtin(
            "notebook_subnet_no_internet_route",
            "effective route table of the notebook's subnet has no igw- route",
            per_resource=notebook_subnet_no_internet_route,
        ),
        Builtin(
            "vpc_dns_attributes",
            "EnableDnsSupport and EnableDnsHostnames are both true",
            per_resource=vpc_dns_attributes,
        ),
        Builtin(
            "vpc_private_connectivity",
            "VPN, Direct Connect or transit gateway into the VPC",
            per_resource=vpc_private_connectivity,
        ),
        Builtin(
            "endpoint_private_dns_resolves",
            "private DNS or a private hosted zone sends the hostname to the endpoint",
            per_resource=endpoint_private_dns_resolves,
        ),
        Builtin(
            "endpoint_security_group_restricted",
            "endpoint groups listed, not default, not open to the world",
            per_resource=endpoint_security_group_restricted,
        ),
        Builtin(
            "endpoint_policy_restricted",
            "endpoint policy is not the default full-access policy",
            per_resource=endpoint_policy_restricted,
        ),
        Builtin(
            "iam_presigned_url_requires_vpc_endpoint",
            "no public path to CreatePresignedNotebookInstanceUrl for a user or role",
            over_estate=presigned_url_requires_vpc_endpoint,
        ),
        Builtin(
            "iam_notebook_api_requires_vpc_endpoint",
            "no public path to the other configured notebook actions for a user or role",
            over_estate=notebook_api_requires_vpc_endpoint,
        ),
        Builtin(
            "iam_vpce_condition_references_known_endpoints",
            "aws:sourceVpce values name existing endpoints, notebook and API in pairs",
            over_estate=vpce_condition_references_known_endpoints,
        ),
        Builtin(
            "notebook_no_public_access_path",
            "no IAM, outbound-internet or public-DNS path to the notebook",
            over_estate=notebook_no_public_access_path,
        ),
        Builtin(
            "iam_presigned_domain_url_requires_vpc_endpoint",
            "no public path to CreatePresignedDomainUrl for a user or role",
            over_estate=presigned_domain_url_requires_vpc_endpoint,
        ),
        Builtin(
            "studio_domain_no_public_access_path",
            "no IAM, outbound-internet or public-DNS path to the Studio domain",
            over_estate=studio_domain_no_public_access_path,
        ),
        Builtin(
            "studio_domain_subnet_no_internet_route",
            "no subnet of a VpcOnly domain routes to an internet gateway",
            per_resource=studio_domain_subnet_no_internet_route,
        ),
        Builtin(
            "studio_security_groups_restricted",
            "domain, space-default and user-profile groups: not default, not open to the world",
            per_resource=studio_security_groups_restricted,
        ),
        Builtin(
            "studio_root_access_disabled",
            "no custom image running as root, no rootful Docker access",
            per_resource=studio_root_access_disabled,
        ),
        Builtin(
            "vpc_has_sagemaker_studio_endpoint",
            "available Studio and API endpoints the VPC resolves privately",
            per_resource=vpc_has_sagemaker_studio_endpoint,
        ),
        Builtin(
            "kms_key_customer_managed",
            "DescribeKey says the KmsKeyId's key is customer managed (KeyManager CUSTOMER)",
            per_resource=kms_key_customer_managed,
        ),
        Builtin(
            "org_scp_enforces_vpc_endpoint",
            "an applying SCP denies presigned notebook URLs outside the approved endpoints",
            over_estate=org_scp_enforces_vpc_endpoint,
        ),
    )
}
