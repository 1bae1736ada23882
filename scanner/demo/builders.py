"""Builders that create AWS resources in moto's server, shared by the demo and the tests.

Every builder takes a client factory ``make(service, region) -> boto3 client`` and talks to
the server over real HTTP, exactly as a user's account would be set up with the AWS CLI.
They are designed for *one-field-at-a-time* testing: the defaults build the compliant
setup of the AWS post (``/work/shared/reference/sagemaker-notebooks-privatelink.md``) and
each keyword argument breaks exactly one thing, so a scenario test can flip one rule.

These builders write; they are never used by the scanner itself (whose sessions refuse
every non-read call).

Known limits of moto's server that shape the fixtures (do not work around them here):

- ``DescribeNotebookInstance`` never returns ``InstanceMetadataServiceConfiguration``
  (moto drops it on create), so ``notebook-imdsv2-required`` FAILs for every notebook
  seeded through moto, whatever ``imds_v2`` says.
- ``DescribeNotebookInstance`` returns ``DirectInternetAccess: Enabled`` when it was
  omitted on create (AWS's documented default), so the *absent* field cannot be produced
  through moto; tests that need it remove the field from the collected snapshot.
- Direct Connect is not implemented (every call answers HTTP 500); the demo config
  disables the ``directconnect`` collector.
- Every VPC endpoint is ``available`` at once; a deleted endpoint is still listed with
  state ``deleted``, which is how a non-available endpoint is seeded.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ClientFactory = Callable[..., Any]
"""``make(service, region) -> boto3 client`` aimed at the moto server."""

EndpointKind = Literal["notebook", "api", "runtime", "studio"]
EndpointSg = Literal["restricted", "default", "open", "open_ipv6", "none"]
EndpointPolicy = Literal[
    "restricted", "condition_only", "actions_only", "default", "full_access_explicit"
]
DefaultSgRules = Literal["none", "ingress", "egress", "both"]
Toggle = Literal["Enabled", "Disabled"]

ALL_ENDPOINTS: tuple[EndpointKind, ...] = ("notebook", "api", "runtime")
NOTEBOOK_ACTIONS = (
    "sagemaker:CreatePresignedNotebookInstanceUrl",
    "sagemaker:DescribeNotebookInstance",
)
SAGEMAKER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


class CachedClients:
    """A client factory that reuses one client per (service, region).

    Creating a boto3 client costs tens of milliseconds and a seed makes dozens of calls, so
    the demo and the scenario tests wrap their factory once in this.
    """

    def __init__(self, make: ClientFactory) -> None:
        self._make = make
        self._clients: dict[tuple[str, str], Any] = {}

    def __call__(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._make(service, region)
        return self._clients[key]


def service_name(kind: EndpointKind, region: str) -> str:
    """The interface endpoint service name AWS uses for each SageMaker endpoint kind."""
    if kind in ("notebook", "studio"):
        return f"aws.sagemaker.{region}.{kind}"
    return f"com.amazonaws.{region}.sagemaker.{kind}"


def service_hostname(kind: EndpointKind, region: str) -> str:
    """The public hostname SDKs and browsers resolve for each endpoint kind."""
    if kind in ("notebook", "studio"):
        return f"{kind}.{region}.sagemaker.aws"
    return f"{kind}.sagemaker.{region}.amazonaws.com"


def account_id(make: ClientFactory, region: str) -> str:
    """The account the factory's credentials belong to (moto: 123456789012)."""
    return str(make("sts", region).get_caller_identity()["Account"])


# --------------------------------------------------------------------------------------
# VPC, subnets, routes and endpoints
# --------------------------------------------------------------------------------------


@dataclass
class VpcHandles:
    """Ids of what :func:`build_private_vpc` created, for assertions and further building."""

    region: str
    vpc_id: str
    cidr: str
    subnet_id: str
    route_table_id: str | None
    main_route_table_id: str
    default_sg_id: str
    endpoint_sg_id: str | None
    notebook_sg_id: str
    endpoints: dict[str, str] = field(default_factory=dict)
    endpoint_dns: dict[str, str] = field(default_factory=dict)
    stale_endpoint_id: str | None = None
    internet_gateway_id: str | None = None
    nat_gateway_id: str | None = None
    vpn_gateway_id: str | None = None
    vpn_connection_id: str | None = None
    transit_gateway_attachment_id: str | None = None
    flow_log_id: str | None = None
    extra_subnets: dict[str, str] = field(default_factory=dict)


def _first_id(response: Mapping[str, Any], key: str, id_key: str) -> str:
    return str(response[key][id_key])


def default_security_group(make: ClientFactory, region: str, vpc_id: str) -> str:
    """The id of the VPC's ``default`` security group (AWS creates it with the VPC)."""
    groups = make("ec2", region).describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    return str(groups[0]["GroupId"])


def set_default_sg_rules(
    make: ClientFactory, region: str, vpc_id: str, rules: DefaultSgRules
) -> str:
    """Make the default group carry exactly ``rules``; ``"none"`` is the closed, compliant state.

    AWS creates the default group with an allow-all egress rule and a self-referencing
    ingress rule (moto creates only the egress one); CIS 5.4 asks for both to be removed.
    """
    ec2 = make("ec2", region)
    sg_id = default_security_group(make, region, vpc_id)
    group = ec2.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=sg_id, IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=sg_id, IpPermissions=group["IpPermissionsEgress"])
    if rules in ("ingress", "both"):
        ec2.authorize_security_group_ingress(
            GroupId=sg_id,
            IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg_id}]}],
        )
    if rules in ("egress", "both"):
        ec2.authorize_security_group_egress(
            GroupId=sg_id,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
    return sg_id


def _https_group(
    make: ClientFactory, region: str, vpc_id: str, name: str, sources: Sequence[str]
) -> str:
    """A security group allowing HTTPS in from ``sources`` (IPv4 or IPv6 CIDRs)."""
    ec2 = make("ec2", region)
    sg_id = str(
        ec2.create_security_group(GroupName=name, Description=f"{name} (HTTPS)", VpcId=vpc_id)[
            "GroupId"
        ]
    )
    v4 = [{"CidrIp": c} for c in sources if ":" not in c]
    v6 = [{"CidrIpv6": c} for c in sources if ":" in c]
    ec2.authorize_security_group_ingress(
        GroupId=sg_id,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": v4, "Ipv6Ranges": v6}
        ],
    )
    return sg_id


def _allow(principal: Any, action: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


def endpoint_policy_document(policy: EndpointPolicy, account: str) -> str | None:
    """The endpoint policy JSON for each variant; ``None`` means "omit it" (AWS default).

    - ``restricted``: only principals of this account (the rule passes on limited principals).
    - ``condition_only``: any principal and action, but only ``aws:PrincipalAccount`` of this
      account (limited by a condition: not the default).
    - ``actions_only``: any principal, but only the post's two notebook actions.
    - ``default``: omitted, so AWS attaches its full-access default.
    - ``full_access_explicit``: the default written out in another legal shape (Statement as
      an object, ``{"AWS": "*"}`` principal, ``["*"]`` action), which is still full access.
    """
    statement: Any
    if policy == "default":
        return None
    if policy == "restricted":
        statement = [_allow({"AWS": f"arn:aws:iam::{account}:root"}, "sagemaker:*")]
    elif policy == "condition_only":
        condition = {"StringEquals": {"aws:PrincipalAccount": account}}
        statement = [_allow("*", "*", Condition=condition)]
    elif policy == "actions_only":
        statement = [_allow("*", list(NOTEBOOK_ACTIONS))]
    else:
        statement = _allow({"AWS": "*"}, ["*"])
    return json.dumps({"Version": "2012-10-17", "Statement": statement})


def build_endpoint(
    make: ClientFactory,
    vpc: VpcHandles,
    kind: EndpointKind,
    *,
    private_dns: bool = True,
    endpoint_sg: EndpointSg = "restricted",
    endpoint_policy: EndpointPolicy = "restricted",
    record: bool = True,
) -> str:
    """Create one SageMaker interface endpoint in ``vpc``'s private subnet; returns its id.

    ``endpoint_sg``: ``restricted`` (HTTPS from the VPC CIDR), ``default`` (the VPC's
    default group, named explicitly), ``open`` (HTTPS from 0.0.0.0/0), ``open_ipv6``
    (HTTPS from ::/0) or ``none`` (no group given; AWS then uses the default group).
    With ``record`` the id and DNS name are stored on ``vpc.endpoints``/``endpoint_dns``.
    """
    region = vpc.region
    ec2 = make("ec2", region)
    kwargs: dict[str, Any] = {
        "VpcId": vpc.vpc_id,
        "ServiceName": service_name(kind, region),
        "VpcEndpointType": "Interface",
        "SubnetIds": [vpc.subnet_id],
        "PrivateDnsEnabled": private_dns,
    }
    if endpoint_sg == "restricted":
        if vpc.endpoint_sg_id is None:
            vpc.endpoint_sg_id = _https_group(
                make, region, vpc.vpc_id, "sagemaker-endpoints", [vpc.cidr]
            )
        kwargs["SecurityGroupIds"] = [vpc.endpoint_sg_id]
    elif endpoint_sg == "default":
        kwargs["SecurityGroupIds"] = [vpc.default_sg_id]
    elif endpoint_sg in ("open", "open_ipv6"):
        source = "0.0.0.0/0" if endpoint_sg == "open" else "::/0"
        kwargs["SecurityGroupIds"] = [
            _https_group(make, region, vpc.vpc_id, f"endpoint-{kind}-{endpoint_sg}", [source])
        ]
    policy = endpoint_policy_document(endpoint_policy, account_id(make, region))
    if policy is not None:
        kwargs["PolicyDocument"] = policy
    endpoint = ec2.create_vpc_endpoint(**kwargs)["VpcEndpoint"]
    vpce_id = str(endpoint["VpcEndpointId"])
    if record:
        vpc.endpoints[kind] = vpce_id
        vpc.endpoint_dns[kind] = str(endpoint["DnsEntries"][0]["DnsName"])
    return vpce_id


def add_stale_endpoint(make: ClientFactory, vpc: VpcHandles, kind: EndpointKind) -> str:
    """A second endpoint of ``kind``, deleted at once: listed with state ``deleted``.

    Everything else about it is compliant, so only ``endpoint-available`` notices it.
    """
    vpce_id = build_endpoint(make, vpc, kind, record=False)
    make("ec2", vpc.region).delete_vpc_endpoints(VpcEndpointIds=[vpce_id])
    vpc.stale_endpoint_id = vpce_id
    return vpce_id


def _internet_gateway(make: ClientFactory, vpc: VpcHandles) -> str:
    if vpc.internet_gateway_id is None:
        ec2 = make("ec2", vpc.region)
        igw = _first_id(ec2.create_internet_gateway(), "InternetGateway", "InternetGatewayId")
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc.vpc_id)
        vpc.internet_gateway_id = igw
    return vpc.internet_gateway_id


def add_subnet(
    make: ClientFactory,
    vpc: VpcHandles,
    name: str,
    cidr: str,
    *,
    igw_route: bool = False,
    az_suffix: str = "b",
) -> str:
    """Another subnet with its own route table (an IGW default route when ``igw_route``)."""
    ec2 = make("ec2", vpc.region)
    subnet = _first_id(
        ec2.create_subnet(
            VpcId=vpc.vpc_id, CidrBlock=cidr, AvailabilityZone=f"{vpc.region}{az_suffix}"
        ),
        "Subnet",
        "SubnetId",
    )
    table = _first_id(ec2.create_route_table(VpcId=vpc.vpc_id), "RouteTable", "RouteTableId")
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if igw_route:
        ec2.create_route(
            RouteTableId=table,
            DestinationCidrBlock="0.0.0.0/0",
            GatewayId=_internet_gateway(make, vpc),
        )
    ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": name}])
    vpc.extra_subnets[name] = subnet
    return subnet


def build_private_vpc(
    make: ClientFactory,
    region: str,
    *,
    name: str = "ml-private",
    cidr: str = "10.0.0.0/16",
    dns_support: bool = True,
    dns_hostnames: bool = True,
    endpoints: Iterable[EndpointKind] = ALL_ENDPOINTS,
    private_dns: bool = True,
    endpoint_sg: EndpointSg = "restricted",
    endpoint_policy: EndpointPolicy = "restricted",
    stale_endpoint: EndpointKind | None = None,
    default_sg_rules: DefaultSgRules = "none",
    vpn: bool = True,
    vpn_connection: bool = True,
    tgw: bool = False,
    flow_logs: bool = True,
    explicit_association: bool = True,
    igw_route: bool = False,
    igw_route_on_main: bool = False,
    nat_route: bool = False,
) -> VpcHandles:
    """A VPC set up as in the AWS post; each keyword breaks (or changes) one thing.

    Layout: one private subnet (``subnet_id``) for notebooks and endpoints.  With
    ``explicit_association`` it has its own route table (``route_table_id``), else it
    uses the VPC's main table.  ``igw_route`` puts a route to an internet gateway in that
    explicit table; ``igw_route_on_main`` puts one in the main table (which matters only
    when the subnet has no explicit association).  ``nat_route`` adds a public subnet with
    a NAT gateway and sends the private subnet's default route to it (still no IGW route).
    ``vpn`` attaches a virtual private gateway, with a VPN connection unless
    ``vpn_connection`` is False; ``tgw`` attaches the VPC to a transit gateway.
    """
    ec2 = make("ec2", region)
    vpc_id = _first_id(ec2.create_vpc(CidrBlock=cidr), "Vpc", "VpcId")
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": name}])
    # Set both attributes explicitly (one per call, as the API requires): a new VPC has
    # DNS support on and DNS hostnames off.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": dns_support})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": dns_hostnames})
    subnet_cidr = cidr.rsplit(".", 2)[0] + ".1.0/24"
    subnet_id = _first_id(
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=subnet_cidr, AvailabilityZone=f"{region}a"),
        "Subnet",
        "SubnetId",
    )
    ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": "Name", "Value": f"{name}-private"}])
    main_table = ec2.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    route_table: str | None = None
    if explicit_association:
        route_table = _first_id(ec2.create_route_table(VpcId=vpc_id), "RouteTable", "RouteTableId")
        ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet_id)
    vpc = VpcHandles(
        region=region,
        vpc_id=vpc_id,
        cidr=cidr,
        subnet_id=subnet_id,
        route_table_id=route_table,
        main_route_table_id=str(main_table),
        default_sg_id=set_default_sg_rules(make, region, vpc_id, default_sg_rules),
        endpoint_sg_id=None,
        notebook_sg_id=_https_group(make, region, vpc_id, f"{name}-notebooks", [cidr]),
    )
    effective_table = route_table or vpc.main_route_table_id
    if nat_route:
        public = add_subnet(
            make, vpc, f"{name}-public", cidr.rsplit(".", 2)[0] + ".200.0/24", igw_route=True
        )
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = _first_id(
            ec2.create_nat_gateway(SubnetId=public, AllocationId=allocation),
            "NatGateway",
            "NatGatewayId",
        )
        vpc.nat_gateway_id = nat
        ec2.create_route(
            RouteTableId=effective_table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat
        )
    # With a NAT default route present, the IGW route takes a narrower prefix: it is an
    # internet route all the same.
    igw_destination = "198.51.100.0/24" if nat_route else "0.0.0.0/0"
    if igw_route:
        if route_table is None:
            raise ValueError("igw_route needs explicit_association (use igw_route_on_main)")
        ec2.create_route(
            RouteTableId=route_table,
            DestinationCidrBlock=igw_destination,
            GatewayId=_internet_gateway(make, vpc),
        )
    if igw_route_on_main:
        ec2.create_route(
            RouteTableId=vpc.main_route_table_id,
            DestinationCidrBlock=igw_destination,
            GatewayId=_internet_gateway(make, vpc),
        )
    for kind in endpoints:
        build_endpoint(
            make,
            vpc,
            kind,
            private_dns=private_dns,
            endpoint_sg=endpoint_sg,
            endpoint_policy=endpoint_policy,
        )
    if stale_endpoint is not None:
        add_stale_endpoint(make, vpc, stale_endpoint)
    if vpn:
        _attach_vpn(make, vpc, with_connection=vpn_connection)
    if tgw:
        tgw_id = _first_id(ec2.create_transit_gateway(), "TransitGateway", "TransitGatewayId")
        vpc.transit_gateway_attachment_id = _first_id(
            ec2.create_transit_gateway_vpc_attachment(
                TransitGatewayId=tgw_id, VpcId=vpc_id, SubnetIds=[subnet_id]
            ),
            "TransitGatewayVpcAttachment",
            "TransitGatewayAttachmentId",
        )
    if flow_logs:
        account = account_id(make, region)
        vpc.flow_log_id = str(
            ec2.create_flow_logs(
                ResourceIds=[vpc_id],
                ResourceType="VPC",
                TrafficType="ALL",
                LogDestinationType="cloud-watch-logs",
                LogGroupName=f"/vpc/{name}/flow-logs",
                DeliverLogsPermissionArn=f"arn:aws:iam::{account}:role/vpc-flow-logs",
            )["FlowLogIds"][0]
        )
    return vpc


def _attach_vpn(make: ClientFactory, vpc: VpcHandles, *, with_connection: bool) -> None:
    """A virtual private gateway attached to the VPC and (optionally) a site-to-site VPN."""
    ec2 = make("ec2", vpc.region)
    vgw = _first_id(ec2.create_vpn_gateway(Type="ipsec.1"), "VpnGateway", "VpnGatewayId")
    ec2.attach_vpn_gateway(VpcId=vpc.vpc_id, VpnGatewayId=vgw)
    vpc.vpn_gateway_id = vgw
    if with_connection:
        cgw = _first_id(
            ec2.create_customer_gateway(Type="ipsec.1", PublicIp="203.0.113.10", BgpAsn=65000),
            "CustomerGateway",
            "CustomerGatewayId",
        )
        vpc.vpn_connection_id = _first_id(
            ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=cgw, VpnGatewayId=vgw),
            "VpnConnection",
            "VpnConnectionId",
        )


# --------------------------------------------------------------------------------------
# Route 53 private hosted zones
# --------------------------------------------------------------------------------------


def build_private_hosted_zone_for_endpoint(
    make: ClientFactory,
    region: str,
    vpc_id: str,
    hostname: str,
    target_dns_name: str,
    *,
    record: Literal["alias", "cname"] = "alias",
    record_name: str | None = None,
) -> str:
    """A private zone for ``hostname`` associated with ``vpc_id``, answering it with a record.

    This is the post's alternative to the endpoint's private DNS: the zone named after the
    service hostname (``api.sagemaker.<region>.amazonaws.com``) answers it with an alias A
    record (or a CNAME) to the endpoint's own DNS name.  ``record_name`` overrides the
    record's name (e.g. a different host, for the negative case).  Returns the zone id
    without ``/hostedzone/``.
    """
    r53 = make("route53", region)
    zone = r53.create_hosted_zone(
        Name=hostname,
        CallerReference=f"{vpc_id}-{hostname}",
        VPC={"VPCRegion": region, "VPCId": vpc_id},
        HostedZoneConfig={"PrivateZone": True, "Comment": "SageMaker endpoint private DNS"},
    )["HostedZone"]
    zone_id = str(zone["Id"]).rsplit("/", 1)[-1]
    rrset: dict[str, Any] = {"Name": record_name or hostname}
    if record == "alias":
        rrset.update(
            Type="A",
            AliasTarget={
                "HostedZoneId": "Z1YSA3EXCYUU9Z",
                "DNSName": target_dns_name,
                "EvaluateTargetHealth": False,
            },
        )
    else:
        rrset.update(Type="CNAME", TTL=300, ResourceRecords=[{"Value": target_dns_name}])
    r53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": rrset}]},
    )
    return zone_id


# --------------------------------------------------------------------------------------
# SageMaker notebooks, KMS, CloudTrail
# --------------------------------------------------------------------------------------


def build_kms_key(make: ClientFactory, region: str, description: str = "notebook volumes") -> str:
    """A customer managed KMS key; returns its ARN."""
    meta = make("kms", region).create_key(Description=description)["KeyMetadata"]
    return str(meta["Arn"])


def build_notebook_role(make: ClientFactory, region: str, name: str = "SageMakerNotebook") -> str:
    """The notebook execution role (trusted by sagemaker.amazonaws.com); returns its ARN."""
    iam = make("iam", region)
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST))[
            "Role"
        ]
        return str(role["Arn"])


def build_notebook(
    make: ClientFactory,
    region: str,
    name: str,
    subnet_id: str | None,
    sg_ids: Sequence[str] | None,
    *,
    direct_internet: Toggle | None = "Disabled",
    root_access: Toggle | None = "Disabled",
    kms_key: str | None = None,
    imds_v2: bool = True,
    role_arn: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """A notebook instance; ``None`` for a field omits it from the request.

    Omitted ``direct_internet`` means AWS's default, Enabled (moto reports it as
    ``Enabled``); omitted ``root_access`` is absent from moto's describe output (AWS's
    default is also Enabled).  ``imds_v2`` is sent, but moto drops it (see module
    docstring), so ``notebook-imdsv2-required`` FAILs for every moto notebook.
    ``subnet_id=None`` creates a notebook outside any VPC (moto accepts
    ``DirectInternetAccess: Disabled`` there although AWS would not; that keeps the
    variation to one field).  Returns the notebook ARN.
    """
    kwargs: dict[str, Any] = {
        "NotebookInstanceName": name,
        "InstanceType": "ml.t3.medium",
        "RoleArn": role_arn or build_notebook_role(make, region),
        "InstanceMetadataServiceConfiguration": {
            "MinimumInstanceMetadataServiceVersion": "2" if imds_v2 else "1"
        },
    }
    if subnet_id is not None:
        kwargs["SubnetId"] = subnet_id
    if sg_ids:
        kwargs["SecurityGroupIds"] = list(sg_ids)
    if direct_internet is not None:
        kwargs["DirectInternetAccess"] = direct_internet
    if root_access is not None:
        kwargs["RootAccess"] = root_access
    if kms_key is not None:
        kwargs["KmsKeyId"] = kms_key
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return str(make("sagemaker", region).create_notebook_instance(**kwargs)["NotebookInstanceArn"])


def build_trail(
    make: ClientFactory,
    region: str,
    name: str = "organization-trail",
    *,
    multi_region: bool = True,
    logging: bool = True,
) -> str:
    """An S3 bucket plus a CloudTrail trail (started when ``logging``); returns the trail ARN."""
    bucket = f"{name}-logs-{account_id(make, region)}"
    s3 = make("s3", region)
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    ct = make("cloudtrail", region)
    trail = ct.create_trail(Name=name, S3BucketName=bucket, IsMultiRegionTrail=multi_region)
    if logging:
        ct.start_logging(Name=name)
    return str(trail["TrailARN"])


# --------------------------------------------------------------------------------------
# IAM: the post's aws:sourceVpce policies, and mistakes
# --------------------------------------------------------------------------------------


def sourcevpce_policy(
    vpce_ids: Sequence[str], actions: Sequence[str] = NOTEBOOK_ACTIONS
) -> dict[str, Any]:
    """The AWS post's policy: notebook access only through the listed VPC endpoints."""
    return {
        "Version": "2012-10-17",
        "Id": "notebook-example-with-sourcevpce",
        "Statement": [
            {
                "Sid": "EnableNotebookAccess",
                "Effect": "Allow",
                "Action": list(actions),
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:sourceVpce": list(vpce_ids)}},
            }
        ],
    }


def unconditioned_policy(action: str = "sagemaker:*") -> dict[str, Any]:
    """The classic mistake: the action allowed from anywhere, no condition."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}],
    }


def build_managed_policy(
    make: ClientFactory, region: str, name: str, document: Mapping[str, Any]
) -> str:
    """A customer managed policy; returns its ARN."""
    iam = make("iam", region)
    return str(
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    )


def build_user(
    make: ClientFactory,
    region: str,
    name: str,
    *,
    inline: Mapping[str, Mapping[str, Any]] | None = None,
    managed: Sequence[str] = (),
    groups: Sequence[str] = (),
) -> str:
    """An IAM user with inline policies, attached managed policies and group memberships."""
    iam = make("iam", region)
    arn = str(iam.create_user(UserName=name)["User"]["Arn"])
    for pname, doc in (inline or {}).items():
        iam.put_user_policy(UserName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
    for parn in managed:
        iam.attach_user_policy(UserName=name, PolicyArn=parn)
    for group in groups:
        iam.add_user_to_group(GroupName=group, UserName=name)
    return arn


def build_group(make: ClientFactory, region: str, name: str, *, managed: Sequence[str] = ()) -> str:
    """An IAM group with attached managed policies; returns its ARN."""
    iam = make("iam", region)
    arn = str(iam.create_group(GroupName=name)["Group"]["Arn"])
    for parn in managed:
        iam.attach_group_policy(GroupName=name, PolicyArn=parn)
    return arn


def build_role(
    make: ClientFactory,
    region: str,
    name: str,
    *,
    trust: Mapping[str, Any],
    inline: Mapping[str, Mapping[str, Any]] | None = None,
    managed: Sequence[str] = (),
) -> str:
    """An IAM role with a trust policy, inline and attached managed policies."""
    iam = make("iam", region)
    arn = str(
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    )
    for pname, doc in (inline or {}).items():
        iam.put_role_policy(RoleName=name, PolicyName=pname, PolicyDocument=json.dumps(doc))
    for parn in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=parn)
    return arn


def account_trust(account: str) -> dict[str, Any]:
    """Trust policy letting principals of ``account`` assume a role (data scientists' role)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
