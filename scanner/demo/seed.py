"""The demo account: the AWS post's private SageMaker setup, with a handful of mistakes.

``scanner demo`` (and ``make demo``) seed this into moto's server and scan it.  What was
seeded is returned as a :class:`DemoManifest`, including the exact FAIL set expected for
every rule of issue 2, so the test suite can assert that the scan finds exactly the
deliberate mistakes and nothing else (``tests/test_demo_seed.py``).

The estate:

- ``ml-prod`` VPC: notebook, API and runtime interface endpoints with private DNS, a
  VPN gateway with a site-to-site VPN, flow logs, a closed default security group.
  Notebooks ``clinical-nlp`` (compliant), ``analytics-scratch`` and ``etl-dev``.
- ``ml-research`` VPC: reached over a transit gateway; its runtime endpoint has private
  DNS off but a private hosted zone answers the hostname (compliant, as in the post).
  Notebook ``research-nb``.
- Studio: ``clinical-studio``, a VpcOnly domain done right in ``ml-prod`` (its subnet, the
  notebook group, a customer managed key, a Studio interface endpoint beside the API one,
  user profile ``alice`` and a shared space); ``sandbox-studio``, a public domain in the
  default VPC (AppNetworkAccessType left at AWS's default PublicInternetOnly, the VPC's
  default security group, no KMS key, a custom image whose AppImageConfig runs as root).
- A multi-region CloudTrail trail that is logging; a customer managed KMS key for notebook
  volumes (``research-nb`` names the AWS managed ``alias/aws/sagemaker`` instead).
- IAM as in the post: a managed policy allowing notebook access only under
  ``aws:sourceVpce`` of the prod notebook and API endpoints, attached to a group (with a
  user) and to a role; the group also gets CreatePresignedDomainUrl only under the prod
  Studio and API endpoints.

moto pre-creates no AWS managed key, so on its server DescribeKey answers NotFoundException
for ``alias/aws/sagemaker``: ``notebook-kms-encryption`` FAILs ``research-nb`` for naming no
key rather than for ``KeyManager: AWS`` (as AWS would answer).  Either way it is no customer
managed key, so the FAIL stands; the AWS-managed answer is tested offline.

Known FAILs that are not deliberate mistakes: ``notebook-imdsv2-required`` for every
notebook (moto drops InstanceMetadataServiceConfiguration), and the default security
group of moto's default VPC, which carries AWS's allow-all egress rule as in any new
account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from scanner.demo.builders import (
    CachedClients,
    ClientFactory,
    Toggle,
    VpcHandles,
    account_id,
    account_trust,
    add_subnet,
    build_endpoint,
    build_group,
    build_kms_key,
    build_managed_policy,
    build_notebook,
    build_private_hosted_zone_for_endpoint,
    build_private_vpc,
    build_role,
    build_trail,
    build_user,
    default_security_group,
    service_hostname,
    sourcevpce_policy,
    unconditioned_policy,
)
from scanner.demo.studio import (
    build_app_image_config,
    build_domain,
    build_space,
    build_user_profile,
)

ISSUE2_RULES: tuple[str, ...] = (
    "notebook-direct-internet-access-disabled",
    "notebook-in-vpc",
    "notebook-root-access-disabled",
    "notebook-kms-encryption",
    "notebook-imdsv2-required",
    "notebook-subnet-no-internet-route",
    "vpc-has-sagemaker-notebook-endpoint",
    "vpc-has-sagemaker-api-endpoint",
    "vpc-has-sagemaker-runtime-endpoint",
    "endpoint-available",
    "endpoint-private-dns-resolves",
    "endpoint-security-group-restricted",
    "endpoint-policy-restricted",
    "vpc-dns-support-enabled",
    "vpc-default-security-group-closed",
    "vpc-private-connectivity",
    "vpc-flow-logs-enabled",
    "cloudtrail-multi-region-enabled",
)
"""The rule ids of issue 2, exactly as written there."""

IAM_RULES: tuple[str, ...] = (
    "iam-presigned-url-requires-vpc-endpoint",
    "iam-notebook-api-requires-vpc-endpoint",
    "iam-vpce-condition-references-known-endpoints",
    "notebook-no-public-access-path",
    "org-scp-enforces-vpc-endpoint",
)
"""The rule ids of issue 3 (IAM analysis), exactly as written there."""

STUDIO_RULES: tuple[str, ...] = (
    "studio-domain-vpc-only",
    "vpc-has-sagemaker-studio-endpoint",
    "studio-domain-subnet-no-internet-route",
    "studio-security-groups-restricted",
    "studio-domain-kms-encryption",
    "studio-root-access-disabled",
    "iam-presigned-domain-url-requires-vpc-endpoint",
    "studio-domain-no-public-access-path",
)
"""The rule ids of issue 7 (Studio domains), exactly as written there."""

DEMO_RULES: tuple[str, ...] = ISSUE2_RULES + IAM_RULES + STUDIO_RULES
"""Every rule the demo manifest states an expected FAIL set for."""

AWS_MANAGED_KEY = "alias/aws/sagemaker"
"""The AWS managed key for SageMaker, which ``research-nb`` names instead of the customer's."""

STALE_VPCE_ID = "vpce-0123456789abcdef0"
"""An endpoint id that no longer exists, named by the legacy role's condition."""


@dataclass(frozen=True)
class Mistake:
    """One deliberate mistake: what it is, the resource it is on and the rule that sees it.

    ``rule_id`` names the rule that sees the mistake first; a mistake that several rules see
    records the others with :meth:`DemoManifest.expect`.
    """

    description: str
    resource_id: str
    rule_id: str


@dataclass
class DemoManifest:
    """What :func:`seed_demo_account` created and what a scan of it must find."""

    account_id: str
    region: str
    vpcs: dict[str, VpcHandles]
    default_vpc_id: str
    default_vpc_sg_id: str
    notebooks: dict[str, str]
    notebook_subnets: dict[str, str]
    hosted_zones: dict[str, str]
    trail_arn: str
    kms_key_arn: str
    iam: dict[str, str]
    domains: dict[str, str] = field(default_factory=dict)
    mistakes: list[Mistake] = field(default_factory=list)
    expected_fail: dict[str, set[str]] = field(default_factory=dict)

    def expect(self, rule_id: str, resource_id: str) -> None:
        """Record that ``rule_id`` must FAIL on ``resource_id``."""
        if rule_id not in DEMO_RULES:
            raise ValueError(f"unknown rule id {rule_id!r}")
        self.expected_fail.setdefault(rule_id, set()).add(resource_id)

    def mistake(self, description: str, resource_id: str, rule_id: str) -> None:
        """Record a deliberate mistake (and its expected FAIL when a rule sees it)."""
        self.mistakes.append(Mistake(description, resource_id, rule_id))
        self.expect(rule_id, resource_id)


def _default_vpc(make: ClientFactory, region: str) -> str:
    vpcs = make("ec2", region).describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])
    return str(vpcs["Vpcs"][0]["VpcId"])


def _default_subnet(make: ClientFactory, region: str, vpc_id: str) -> str:
    subnets = make("ec2", region).describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return str(sorted(s["SubnetId"] for s in subnets["Subnets"])[0])


def _seed_studio(
    make: ClientFactory, region: str, prod: VpcHandles, kms_key: str, default_vpc: str
) -> dict[str, str]:
    """The two Studio domains of the module docstring; returns name -> domain id."""
    build_endpoint(make, prod, "studio")
    build_app_image_config(make, region, "clinical-jupyterlab-config")
    build_app_image_config(make, region, "sandbox-root-config", default_uid=0)
    clinical = build_domain(
        make,
        region,
        "clinical-studio",
        prod.vpc_id,
        [prod.subnet_id],
        [prod.notebook_sg_id],
        kms_key=kms_key,
        custom_images=[("clinical-jupyterlab", "clinical-jupyterlab-config")],
        tags={"project": "demo"},
    )
    build_user_profile(make, region, clinical, "alice", tags={"team": "clinical"})
    build_space(make, region, clinical, "clinical-shared")
    sandbox = build_domain(
        make,
        region,
        "sandbox-studio",
        default_vpc,
        [_default_subnet(make, region, default_vpc)],
        [default_security_group(make, region, default_vpc)],
        network_access=None,
        custom_images=[("root-image", "sandbox-root-config")],
    )
    build_user_profile(make, region, sandbox, "bob")
    return {"clinical-studio": clinical, "sandbox-studio": sandbox}


def seed_demo_account(make: ClientFactory, region: str) -> DemoManifest:
    """Seed the demo estate (see module docstring) and return its manifest."""
    make = CachedClients(make)
    account = account_id(make, region)
    kms_key = build_kms_key(make, region)

    # -- ml-prod: the post's setup; its runtime endpoint was created with the default SG.
    prod = build_private_vpc(
        make, region, name="ml-prod", cidr="10.10.0.0/16", endpoints=("notebook", "api")
    )
    runtime = build_endpoint(make, prod, "runtime", endpoint_sg="default")
    dev_subnet = add_subnet(make, prod, "ml-prod-dev", "10.10.50.0/24", igw_route=True)

    # -- ml-research: TGW instead of VPN; runtime DNS via a private hosted zone (fine),
    # but the API endpoint's private DNS is off with no zone, the notebook endpoint kept
    # the default full-access policy, and the default security group was never closed.
    research = build_private_vpc(
        make,
        region,
        name="ml-research",
        cidr="10.20.0.0/16",
        endpoints=(),
        vpn=False,
        tgw=True,
        default_sg_rules="both",
    )
    research_nb_endpoint = build_endpoint(make, research, "notebook", endpoint_policy="default")
    research_api = build_endpoint(make, research, "api", private_dns=False)
    build_endpoint(make, research, "runtime", private_dns=False)
    runtime_zone = build_private_hosted_zone_for_endpoint(
        make,
        region,
        research.vpc_id,
        service_hostname("runtime", region),
        research.endpoint_dns["runtime"],
    )

    notebooks: dict[str, str] = {}
    subnets: dict[str, str] = {}

    def notebook(
        name: str,
        vpc: VpcHandles,
        subnet: str,
        direct_internet: Toggle = "Disabled",
        key: str = kms_key,
    ) -> None:
        notebooks[name] = build_notebook(
            make,
            region,
            name,
            subnet,
            [vpc.notebook_sg_id],
            kms_key=key,
            direct_internet=direct_internet,
            tags={"project": "demo"},
        )
        subnets[name] = subnet

    notebook("clinical-nlp", prod, prod.subnet_id)
    notebook("analytics-scratch", prod, prod.subnet_id, direct_internet="Enabled")
    notebook("etl-dev", prod, dev_subnet)
    notebook("research-nb", research, research.subnet_id, key=AWS_MANAGED_KEY)

    trail = build_trail(make, region)

    # -- IAM as in the post, plus two classic mistakes.
    vpce_policy = build_managed_policy(
        make,
        region,
        "SageMakerNotebookViaVpce",
        sourcevpce_policy([prod.endpoints["notebook"], prod.endpoints["api"]]),
    )
    default_vpc = _default_vpc(make, region)
    domains = _seed_studio(make, region, prod, kms_key, default_vpc)
    studio_policy = build_managed_policy(
        make,
        region,
        "SageMakerStudioViaVpce",
        sourcevpce_policy(
            [prod.endpoints["studio"], prod.endpoints["api"]],
            actions=("sagemaker:CreatePresignedDomainUrl",),
        ),
    )
    group = build_group(make, region, "data-scientists", managed=[vpce_policy, studio_policy])
    alice = build_user(make, region, "alice", groups=["data-scientists"])
    ds_role = build_role(
        make, region, "DataScientist", trust=account_trust(account), managed=[vpce_policy]
    )
    bob = build_user(
        make, region, "bob-contractor", inline={"sagemaker-full": unconditioned_policy()}
    )
    legacy = build_role(
        make,
        region,
        "LegacyNotebookAccess",
        trust=account_trust(account),
        inline={"notebook-access": sourcevpce_policy([STALE_VPCE_ID])},
    )

    manifest = DemoManifest(
        account_id=account,
        region=region,
        vpcs={"ml-prod": prod, "ml-research": research},
        default_vpc_id=default_vpc,
        default_vpc_sg_id=default_security_group(make, region, default_vpc),
        notebooks=notebooks,
        notebook_subnets=subnets,
        hosted_zones={"runtime": runtime_zone},
        trail_arn=trail,
        kms_key_arn=kms_key,
        iam={
            "policy:SageMakerNotebookViaVpce": vpce_policy,
            "group:data-scientists": group,
            "user:alice": alice,
            "role:DataScientist": ds_role,
            "user:bob-contractor": bob,
            "role:LegacyNotebookAccess": legacy,
            "policy:SageMakerStudioViaVpce": studio_policy,
        },
        domains=domains,
    )
    manifest.mistake(
        "notebook with direct internet access enabled",
        "analytics-scratch",
        "notebook-direct-internet-access-disabled",
    )
    manifest.mistake(
        "notebook in a subnet whose route table sends 0.0.0.0/0 to an internet gateway",
        "etl-dev",
        "notebook-subnet-no-internet-route",
    )
    manifest.mistake(
        "API endpoint with private DNS off and no private hosted zone",
        research_api,
        "endpoint-private-dns-resolves",
    )
    manifest.mistake(
        "runtime endpoint using the VPC's default security group",
        runtime,
        "endpoint-security-group-restricted",
    )
    manifest.mistake(
        "notebook endpoint left with the default full-access policy",
        research_nb_endpoint,
        "endpoint-policy-restricted",
    )
    manifest.mistake(
        "VPC default security group with inbound and outbound rules",
        research.default_sg_id,
        "vpc-default-security-group-closed",
    )
    manifest.mistake(
        f"notebook volume on the AWS managed key {AWS_MANAGED_KEY}, not a customer managed one",
        "research-nb",
        "notebook-kms-encryption",
    )
    manifest.mistake(
        "IAM user allowed sagemaker:* with no aws:sourceVpce condition",
        bob,
        "iam-presigned-url-requires-vpc-endpoint",
    )
    manifest.mistake(
        f"role whose aws:sourceVpce condition names a deleted endpoint ({STALE_VPCE_ID})",
        f"{legacy}/notebook-access",
        "iam-vpce-condition-references-known-endpoints",
    )
    # Both principals reach every notebook from outside the approved endpoints: bob from the
    # internet, the legacy role through whatever endpoint now carries the stale id.
    for principal in (bob, legacy):
        manifest.expect("iam-presigned-url-requires-vpc-endpoint", principal)
        manifest.expect("iam-notebook-api-requires-vpc-endpoint", principal)
    for name in notebooks:
        manifest.expect("notebook-no-public-access-path", name)
    sandbox = domains["sandbox-studio"]
    manifest.mistake(
        "Studio domain left at AWS's default PublicInternetOnly",
        sandbox,
        "studio-domain-vpc-only",
    )
    manifest.mistake(
        "Studio domain apps in the VPC's default security group",
        sandbox,
        "studio-security-groups-restricted",
    )
    manifest.mistake(
        "Studio domain storage on an AWS managed key",
        sandbox,
        "studio-domain-kms-encryption",
    )
    manifest.mistake(
        "custom Studio image whose AppImageConfig runs it as root (DefaultUid 0)",
        sandbox,
        "studio-root-access-disabled",
    )
    # bob's sagemaker:* opens Studio too, so both domains have an IAM path; the sandbox also
    # reaches the internet and has no Studio endpoint in its VPC.
    manifest.expect("iam-presigned-domain-url-requires-vpc-endpoint", bob)
    for domain_id in domains.values():
        manifest.expect("studio-domain-no-public-access-path", domain_id)
    # Not deliberate: moto's limitation and AWS's own default VPC (see module docstring).
    for name in notebooks:
        manifest.expect("notebook-imdsv2-required", name)
    manifest.expect("vpc-default-security-group-closed", manifest.default_vpc_sg_id)
    for rule_id in DEMO_RULES:
        manifest.expected_fail.setdefault(rule_id, set())
    return manifest
