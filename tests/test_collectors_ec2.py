"""EC2 collectors against moto's server: ids, ARNs and the fields rules read.

Each test seeds through a plain boto3 client and varies one field at a time against a
baseline, so a collector that read the wrong field (or a default) would fail.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.collectkit import REGION, collect_only, outcome, resources

ACCOUNT = "123456789012"


def new_vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> tuple[str, str]:
    vpc = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr.replace("0.0/16", "1.0/24"))
    return vpc, subnet["Subnet"]["SubnetId"]


def test_vpc_baseline_dns_attributes_and_arn(aws: Any) -> None:
    vpc, _ = new_vpc(aws("ec2"))
    snap = collect_only("vpc")
    got = resources(snap, "ec2:vpc")[vpc]
    assert got.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{vpc}"
    assert got.data["CidrBlock"] == "10.0.0.0/16"
    # AWS defaults for a non-default VPC: DNS support on, DNS hostnames off.
    assert (got.data["EnableDnsSupport"], got.data["EnableDnsHostnames"]) == (True, False)
    assert outcome(snap, "vpc").resource_count == len(resources(snap, "ec2:vpc"))


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("EnableDnsHostnames", True, (True, True)),
        ("EnableDnsSupport", False, (False, False)),
    ],
)
def test_vpc_dns_attributes_vary_independently(
    aws: Any, attribute: str, value: bool, expected: tuple[bool, bool]
) -> None:
    ec2 = aws("ec2")
    vpc, _ = new_vpc(ec2)
    ec2.modify_vpc_attribute(VpcId=vpc, **{attribute: {"Value": value}})
    data = resources(collect_only("vpc"), "ec2:vpc")[vpc].data
    assert (data["EnableDnsSupport"], data["EnableDnsHostnames"]) == expected


def test_subnet_keeps_its_arn_and_vpc(aws: Any) -> None:
    vpc, subnet = new_vpc(aws("ec2"))
    got = resources(collect_only("subnet"), "ec2:subnet")[subnet]
    assert got.arn is not None and got.arn.endswith(f":subnet/{subnet}")
    assert got.data["VpcId"] == vpc


def test_route_tables_main_and_explicit_association_with_routes(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc, subnet = new_vpc(ec2)
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    custom = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=custom, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=custom, SubnetId=subnet)

    snap = collect_only("route-table", "internet-gateway")
    tables = {k: v for k, v in resources(snap, "ec2:route-table").items() if v.data["VpcId"] == vpc}
    main = [t for t in tables.values() if any(a.get("Main") for a in t.data["Associations"])]
    assert len(main) == 1 and main[0].id != custom
    assert main[0].arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:route-table/{main[0].id}"
    explicit = tables[custom].data
    assert [(a["Main"], a.get("SubnetId")) for a in explicit["Associations"]] == [(False, subnet)]
    assert {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw} in [
        {k: r[k] for k in ("DestinationCidrBlock", "GatewayId") if k in r}
        for r in explicit["Routes"]
    ]
    gateway = resources(snap, "ec2:internet-gateway")[igw]
    assert gateway.data["Attachments"][0]["VpcId"] == vpc
    assert gateway.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:internet-gateway/{igw}"


def test_nat_gateway(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc, subnet = new_vpc(ec2)
    alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
    got = resources(collect_only("nat-gateway"), "ec2:nat-gateway")[nat]
    assert (got.data["VpcId"], got.data["SubnetId"]) == (vpc, subnet)
    assert got.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:natgateway/{nat}"


def test_vpn_gateway_attachment_connection_and_transit_gateway_attachment(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc, subnet = new_vpc(ec2)
    vgw = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=vpc, VpnGatewayId=vgw)
    cgw = ec2.create_customer_gateway(Type="ipsec.1", PublicIp="203.0.113.9", BgpAsn=65000)
    vpn = ec2.create_vpn_connection(
        Type="ipsec.1", CustomerGatewayId=cgw["CustomerGateway"]["CustomerGatewayId"],
        VpnGatewayId=vgw,
    )["VpnConnection"]["VpnConnectionId"]  # fmt: skip
    tgw = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    att = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=tgw, VpcId=vpc, SubnetIds=[subnet]
    )["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]

    snap = collect_only("vpn-gateway", "vpn-connection", "transit-gateway-vpc-attachment")
    gateway = resources(snap, "ec2:vpn-gateway")[vgw]
    assert [a["VpcId"] for a in gateway.data["VpcAttachments"]] == [vpc]
    assert resources(snap, "ec2:vpn-connection")[vpn].data["VpnGatewayId"] == vgw
    attachment = resources(snap, "ec2:transit-gateway-vpc-attachment")[att]
    assert (attachment.data["VpcId"], attachment.data["TransitGatewayId"]) == (vpc, tgw)
    assert attachment.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:transit-gateway-attachment/{att}"


def test_security_group_rules(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc, _ = new_vpc(ec2)
    sg = ec2.create_security_group(GroupName="ep", Description="ep", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                        "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )  # fmt: skip
    groups = resources(collect_only("security-group"), "ec2:security-group")
    got = groups[sg]
    assert got.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{sg}"
    assert [(p["FromPort"], p["IpRanges"][0]["CidrIp"]) for p in got.data["IpPermissions"]] == [
        (443, "0.0.0.0/0")
    ]
    default = [
        g for g in groups.values() if g.data["VpcId"] == vpc and g.data["GroupName"] == "default"
    ]
    assert len(default) == 1 and default[0].data["IpPermissions"] != got.data["IpPermissions"]


def test_flow_logs_name_their_vpc(aws: Any) -> None:
    ec2 = aws("ec2")
    vpc, _ = new_vpc(ec2)
    ids = ec2.create_flow_logs(
        ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogGroupName="flows",
        DeliverLogsPermissionArn=f"arn:aws:iam::{ACCOUNT}:role/flow",
    )["FlowLogIds"]  # fmt: skip
    logs = resources(collect_only("flow-log"), "ec2:flow-log")
    assert set(logs) == set(ids)
    assert logs[ids[0]].data["ResourceId"] == vpc
    assert logs[ids[0]].arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/{ids[0]}"


POLICY = {
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/nb"},
         "Action": "sagemaker:*", "Resource": "*"}
    ]
}  # fmt: skip


@pytest.mark.parametrize("private_dns", [True, False])
def test_vpc_endpoint_fields(aws: Any, private_dns: bool) -> None:
    ec2 = aws("ec2")
    vpc, subnet = new_vpc(ec2)
    sg = ec2.create_security_group(GroupName="ep", Description="ep", VpcId=vpc)["GroupId"]
    ep = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.sagemaker.api",
        VpcEndpointType="Interface", SubnetIds=[subnet], SecurityGroupIds=[sg],
        PrivateDnsEnabled=private_dns, PolicyDocument=json.dumps(POLICY),
    )["VpcEndpoint"]["VpcEndpointId"]  # fmt: skip
    got = resources(collect_only("vpc-endpoint"), "ec2:vpc-endpoint")[ep]
    assert got.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-endpoint/{ep}"
    data = got.data
    assert data["PrivateDnsEnabled"] is private_dns
    assert data["ServiceName"] == f"com.amazonaws.{REGION}.sagemaker.api"
    assert (data["VpcEndpointType"], data["State"], data["SubnetIds"]) == (
        "Interface", "available", [subnet]
    )  # fmt: skip
    assert [g["GroupId"] for g in data["Groups"]] == [sg]
    assert isinstance(data["PolicyDocument"], str)  # kept raw, as AWS returns it
    assert json.loads(data["PolicyDocument"]) == POLICY
    assert isinstance(data["DnsEntries"], list)
