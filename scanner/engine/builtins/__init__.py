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
from scanner.engine.builtins.network import (
    notebook_subnet_no_internet_route,
    vpc_dns_attributes,
    vpc_private_connectivity,
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
    )
}
