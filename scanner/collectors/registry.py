"""The explicit registry of collectors: name -> spec.  Nothing registers itself on import.

Collector names (use them in ``collectors.disabled`` in config.yaml; the service name, e.g.
``directconnect``, ``route53resolver`` or ``organizations``, disables all of its collectors):

Regional (run once per scanned region):
  ``vpc`` (ec2:vpc, with both DNS attributes), ``subnet``, ``route-table``,
  ``internet-gateway``, ``nat-gateway``, ``vpn-gateway``, ``vpn-connection``,
  ``transit-gateway-vpc-attachment``, ``security-group``, ``flow-log``, ``vpc-endpoint``,
  ``directconnect-virtual-interface``, ``resolver-rule``, ``resolver-rule-association``,
  ``notebook-instance``, ``studio-domain``, ``studio-user-profile``, ``studio-space``,
  ``app-image-config``, ``cloudtrail``, ``kms-key`` (the KMS keys notebooks and Studio
  domains name, described once each after those collectors ran).

Global (run once per account, region ``global``):
  ``directconnect-gateway``, ``route53-hosted-zone``, ``iam``, ``organizations``.
"""

from __future__ import annotations

from scanner.aws.errors import ErrorKind
from scanner.collectors.normalize import decode_iam_documents, zone_could_answer
from scanner.collectors.organizations import organization_accounts
from scanner.collectors.specs import (
    BulkTags,
    CollectorSpec,
    Detail,
    Item,
    Lookup,
    Output,
    Scope,
    Source,
)


def _ec2_arn(kind: str) -> str:
    return "arn:{partition}:ec2:{region}:{account}:" + kind + "/{id}"


def _ec2(
    name: str,
    operation: str,
    items: str,
    rtype: str,
    id_field: str,
    arn_kind: str,
    *details: Detail,
) -> CollectorSpec:
    """An EC2 describe call whose items are one resource type with a built ARN."""
    out = Output(rtype, items, id_field, arn_template=_ec2_arn(arn_kind), details=details)
    return CollectorSpec(name, "ec2", (Source(operation, (out,)),))


def _vpc_attribute(attribute: str, field: str) -> Detail:
    return Detail(
        "DescribeVpcAttribute",
        {"VpcId": "VpcId"},
        constants={"Attribute": attribute},
        result=f"{field}.Value",
        key=field,
    )


def _sagemaker_tags(kind: str, arn_field: str) -> BulkTags:
    """Every tag of every SageMaker resource of ``kind`` (``notebook-instance``), read in bulk
    with the tagging API's GetResources; where that is denied, one ListTags per resource
    (ListTags pages at 50), the resource's ARN taken from ``arn_field``."""
    return BulkTags(
        resource_type=f"sagemaker:{kind}",
        arn=arn_field,
        fallback=Detail(
            "ListTags", {"ResourceArn": arn_field}, result="Tags", key="Tags", paginate=True
        ),
    )


def _studio_member(name: str, kind: str, noun: str) -> CollectorSpec:
    """A Studio domain member (user profile, space): listed across all domains, described
    in its domain, then tagged in bulk.  The id is ``<domain id>/<name>``, as in its ARN; the
    list item is replaced by the describe output, which has the settings the list lacks (and
    the ARN the tags are matched by)."""
    out = Output(
        f"sagemaker:{kind}",
        f"{noun}s[]",
        f"join('/', [DomainId, {noun}Name])",
        arn_template="arn:{partition}:sagemaker:{region}:{account}:" + kind + "/{id}",
        details=(
            Detail(f"Describe{noun}", {"DomainId": "DomainId", f"{noun}Name": f"{noun}Name"}),
        ),
        bulk_tags=_sagemaker_tags(kind, f"{noun}Arn"),
    )
    return CollectorSpec(name, "sagemaker", (Source(f"List{noun}s", (out,)),))


def _zone_could_answer_sagemaker(item: Item, scope: Scope) -> bool:
    return zone_could_answer(str(item["Name"]), scope.regions)


# A KmsKeyId is a key id, key ARN, alias name or alias ARN; DescribeKey takes each and, for an
# alias, answers the key it points to (KeyManager included).  NotFoundException means the
# value names no key (deleted, or never created): a fact about it, not a failure.
_KMS_KEYS = Lookup(
    type="kms:key",
    operation="DescribeKey",
    param="KeyId",
    refs={
        "sagemaker:notebook-instance": "KmsKeyId",
        "sagemaker:domain": "KmsKeyId || HomeEfsFileSystemKmsKeyId",
    },
    result="KeyMetadata",
    arn="Arn",
    missing_codes=frozenset({"NotFoundException"}),
)

_IAM_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"]

_NOT_AVAILABLE_TO_MEMBERS = frozenset({ErrorKind.ACCESS_DENIED, ErrorKind.NOT_IN_USE})

COLLECTORS: dict[str, CollectorSpec] = {
    spec.name: spec
    for spec in (
        _ec2(
            "vpc",
            "DescribeVpcs",
            "Vpcs[]",
            "ec2:vpc",
            "VpcId",
            "vpc",
            _vpc_attribute("enableDnsSupport", "EnableDnsSupport"),
            _vpc_attribute("enableDnsHostnames", "EnableDnsHostnames"),
        ),
        CollectorSpec(
            "subnet",
            "ec2",
            (
                Source(
                    "DescribeSubnets",
                    (Output("ec2:subnet", "Subnets[]", "SubnetId", arn="SubnetArn"),),
                ),
            ),
        ),
        _ec2(
            "route-table",
            "DescribeRouteTables",
            "RouteTables[]",
            "ec2:route-table",
            "RouteTableId",
            "route-table",
        ),
        _ec2(
            "internet-gateway",
            "DescribeInternetGateways",
            "InternetGateways[]",
            "ec2:internet-gateway",
            "InternetGatewayId",
            "internet-gateway",
        ),
        _ec2(
            "nat-gateway",
            "DescribeNatGateways",
            "NatGateways[]",
            "ec2:nat-gateway",
            "NatGatewayId",
            "natgateway",
        ),
        _ec2(
            "vpn-gateway",
            "DescribeVpnGateways",
            "VpnGateways[]",
            "ec2:vpn-gateway",
            "VpnGatewayId",
            "vpn-gateway",
        ),
        _ec2(
            "vpn-connection",
            "DescribeVpnConnections",
            "VpnConnections[]",
            "ec2:vpn-connection",
            "VpnConnectionId",
            "vpn-connection",
        ),
        _ec2(
            "transit-gateway-vpc-attachment",
            "DescribeTransitGatewayVpcAttachments",
            "TransitGatewayVpcAttachments[]",
            "ec2:transit-gateway-vpc-attachment",
            "TransitGatewayAttachmentId",
            "transit-gateway-attachment",
        ),
        _ec2(
            "security-group",
            "DescribeSecurityGroups",
            "SecurityGroups[]",
            "ec2:security-group",
            "GroupId",
            "security-group",
        ),
        _ec2(
            "flow-log",
            "DescribeFlowLogs",
            "FlowLogs[]",
            "ec2:flow-log",
            "FlowLogId",
            "vpc-flow-log",
        ),
        _ec2(
            "vpc-endpoint",
            "DescribeVpcEndpoints",
            "VpcEndpoints[]",
            "ec2:vpc-endpoint",
            "VpcEndpointId",
            "vpc-endpoint",
        ),
        CollectorSpec(
            "directconnect-gateway",
            "directconnect",
            (
                Source(
                    "DescribeDirectConnectGateways",
                    (
                        Output(
                            "directconnect:gateway",
                            "directConnectGateways[]",
                            "directConnectGatewayId",
                            details=(
                                # Which VGWs / transit gateways the gateway connects: without
                                # this a DX gateway proves nothing about any VPC.
                                Detail(
                                    "DescribeDirectConnectGatewayAssociations",
                                    {"directConnectGatewayId": "directConnectGatewayId"},
                                    result="directConnectGatewayAssociations",
                                    key="Associations",
                                    paginate=True,
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            is_global=True,
        ),
        CollectorSpec(
            "directconnect-virtual-interface",
            "directconnect",
            (
                Source(
                    "DescribeVirtualInterfaces",
                    (
                        Output(
                            "directconnect:virtual-interface",
                            "virtualInterfaces[]",
                            "virtualInterfaceId",
                            arn_template="arn:{partition}:directconnect:{region}:{account}:dxvif/{id}",
                        ),
                    ),
                ),
            ),
        ),
        CollectorSpec(
            "route53-hosted-zone",
            "route53",
            (
                Source(
                    "ListHostedZones",
                    (
                        Output(
                            "route53:hosted-zone",
                            "HostedZones[?Config.PrivateZone]",
                            "Id",
                            arn_template="arn:{partition}:route53:::hostedzone/{id}",
                            id_prefix="/hostedzone/",
                            details=(
                                Detail("GetHostedZone", {"Id": "Id"}, result="VPCs", key="VPCs"),
                                Detail(
                                    "ListResourceRecordSets",
                                    {"HostedZoneId": "Id"},
                                    result="ResourceRecordSets",
                                    key="ResourceRecordSets",
                                    paginate=True,
                                    when=_zone_could_answer_sagemaker,
                                ),
                            ),
                        ),
                    ),
                ),
            ),
            is_global=True,
        ),
        CollectorSpec(
            "resolver-rule",
            "route53resolver",
            (
                Source(
                    "ListResolverRules",
                    (Output("route53resolver:rule", "ResolverRules[]", "Id", arn="Arn"),),
                ),
            ),
        ),
        CollectorSpec(
            "resolver-rule-association",
            "route53resolver",
            (
                Source(
                    "ListResolverRuleAssociations",
                    (
                        Output(
                            "route53resolver:rule-association", "ResolverRuleAssociations[]", "Id"
                        ),
                    ),
                ),
            ),
        ),
        CollectorSpec(
            "notebook-instance",
            "sagemaker",
            (
                Source(
                    "ListNotebookInstances",
                    (
                        Output(
                            "sagemaker:notebook-instance",
                            "NotebookInstances[]",
                            "NotebookInstanceName",
                            arn="NotebookInstanceArn",
                            details=(
                                Detail(
                                    "DescribeNotebookInstance",
                                    {"NotebookInstanceName": "NotebookInstanceName"},
                                ),
                            ),
                            bulk_tags=_sagemaker_tags("notebook-instance", "NotebookInstanceArn"),
                        ),
                    ),
                ),
            ),
        ),
        CollectorSpec(
            "studio-domain",
            "sagemaker",
            (
                Source(
                    "ListDomains",
                    (
                        Output(
                            "sagemaker:domain",
                            "Domains[]",
                            "DomainId",
                            arn="DomainArn",
                            details=(Detail("DescribeDomain", {"DomainId": "DomainId"}),),
                            bulk_tags=_sagemaker_tags("domain", "DomainArn"),
                        ),
                    ),
                ),
            ),
        ),
        _studio_member("studio-user-profile", "user-profile", "UserProfile"),
        _studio_member("studio-space", "space", "Space"),
        CollectorSpec(
            "app-image-config",
            "sagemaker",
            (
                Source(
                    "ListAppImageConfigs",
                    (
                        # The list answer is the whole AppImageConfigDetails (the image
                        # configs with FileSystemConfig), so no describe call is needed.
                        Output(
                            "sagemaker:app-image-config",
                            "AppImageConfigs[]",
                            "AppImageConfigName",
                            arn="AppImageConfigArn",
                        ),
                    ),
                ),
            ),
        ),
        CollectorSpec(
            "iam",
            "iam",
            (
                Source(
                    "GetAccountAuthorizationDetails",
                    (
                        Output(
                            "iam:user",
                            "UserDetailList[]",
                            "Arn",
                            arn="Arn",
                            transform=decode_iam_documents,
                        ),
                        Output(
                            "iam:group",
                            "GroupDetailList[]",
                            "Arn",
                            arn="Arn",
                            transform=decode_iam_documents,
                        ),
                        Output(
                            "iam:role",
                            "RoleDetailList[]",
                            "Arn",
                            arn="Arn",
                            transform=decode_iam_documents,
                        ),
                        Output(
                            "iam:policy",
                            "Policies[]",
                            "Arn",
                            arn="Arn",
                            transform=decode_iam_documents,
                        ),
                    ),
                    params={"Filter": _IAM_FILTERS},
                ),
            ),
            is_global=True,
        ),
        CollectorSpec(
            "organizations",
            "organizations",
            (
                Source(
                    "DescribeOrganization",
                    (Output("organizations:organization", "[Organization]", "Id", arn="Arn"),),
                ),
                Source(
                    "ListPolicies",
                    (
                        Output(
                            "organizations:policy",
                            "Policies[]",
                            "Id",
                            arn="Arn",
                            details=(
                                Detail(
                                    "DescribePolicy",
                                    {"PolicyId": "Id"},
                                    result="Policy.Content",
                                    key="Content",
                                ),
                                Detail(
                                    "ListTargetsForPolicy",
                                    {"PolicyId": "Id"},
                                    result="Targets",
                                    key="Targets",
                                    paginate=True,
                                ),
                            ),
                        ),
                    ),
                    params={"Filter": "SERVICE_CONTROL_POLICY"},
                ),
            ),
            is_global=True,
            extra=organization_accounts,
            extra_operations=(
                "ListParents",
                "ListRoots",
                "ListOrganizationalUnitsForParent",
                "ListAccountsForParent",
            ),
            extra_types=("organizations:account",),
            not_collected_kinds=_NOT_AVAILABLE_TO_MEMBERS,
        ),
        CollectorSpec(
            "cloudtrail",
            "cloudtrail",
            (
                Source(
                    "DescribeTrails",
                    (
                        Output(
                            "cloudtrail:trail",
                            "trailList[]",
                            "TrailARN",
                            arn="TrailARN",
                            details=(Detail("GetTrailStatus", {"Name": "TrailARN"}, key="Status"),),
                        ),
                    ),
                    # Shadow trails included (AWS's default): a multi-region trail homed in
                    # a region outside the scan is still the account's trail, and
                    # GetTrailStatus accepts a shadow trail's ARN.  Enrichment dedupes by ARN.
                    params={"includeShadowTrails": True},
                ),
            ),
        ),
        CollectorSpec("kms-key", "kms", (), lookup=_KMS_KEYS),
    )
}

# Calls made once per account before any collector runs: assuming the account's role (an
# organization or account-list scan), its identity, and its enabled regions.  (The walk of
# the organization's OU tree is the organizations collector's own, in its spec.)
PREFLIGHT_OPERATIONS = ("sts:AssumeRole", "sts:GetCallerIdentity", "ec2:DescribeRegions")


def all_operations() -> list[str]:
    """Every ``service:Operation`` the scanner may call: the preflight, an organization
    scan's walk, and the collectors."""
    ops = list(PREFLIGHT_OPERATIONS)
    for spec in COLLECTORS.values():
        ops += spec.operations
    return list(dict.fromkeys(ops))
