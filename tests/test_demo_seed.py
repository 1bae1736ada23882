"""The demo seed builds what its manifest says, checked through plain boto3 describe calls.

These tests do not use the scanner at all: they read the moto server the way an operator
would with the AWS CLI, so a bug in the seed cannot hide behind the same bug in a
collector.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.demo.builders import (
    EndpointSg,
    build_notebook,
    build_private_hosted_zone_for_endpoint,
    build_private_vpc,
    service_hostname,
    service_name,
)
from scanner.demo.seed import (
    AWS_MANAGED_KEY,
    DEMO_RULES,
    STALE_VPCE_ID,
    DemoManifest,
    seed_demo_account,
)

REGION = "us-west-2"


@pytest.fixture
def demo(aws: Any) -> DemoManifest:
    return seed_demo_account(aws, REGION)


def _endpoints(aws: Any, **filters: str) -> dict[str, dict[str, Any]]:
    flt = [{"Name": k.replace("_", "-"), "Values": [v]} for k, v in filters.items()]
    items = aws("ec2").describe_vpc_endpoints(Filters=flt)["VpcEndpoints"]
    return {e["VpcEndpointId"]: e for e in items}


def test_manifest_lists_every_rule_and_thirteen_mistakes(demo: DemoManifest) -> None:
    assert set(demo.expected_fail) == set(DEMO_RULES)
    assert len(demo.mistakes) == 13
    seen_by_rules = [m for m in demo.mistakes if m.rule_id is not None]
    for mistake in seen_by_rules:
        assert mistake.resource_id in demo.expected_fail[str(mistake.rule_id)]


def test_notebooks_are_described_as_the_manifest_says(aws: Any, demo: DemoManifest) -> None:
    sm = aws("sagemaker")
    names = {n["NotebookInstanceName"] for n in sm.list_notebook_instances()["NotebookInstances"]}
    assert names == set(demo.notebooks)
    direct = {}
    for name in names:
        nb = sm.describe_notebook_instance(NotebookInstanceName=name)
        assert nb["SubnetId"] == demo.notebook_subnets[name]
        assert nb["RootAccess"] == "Disabled"
        assert nb["KmsKeyId"] == (AWS_MANAGED_KEY if name == "research-nb" else demo.kms_key_arn)
        # moto drops the IMDS configuration: the reason imdsv2 FAILs for every notebook.
        assert "InstanceMetadataServiceConfiguration" not in nb
        direct[name] = nb["DirectInternetAccess"]
    assert direct == {
        "clinical-nlp": "Disabled",
        "analytics-scratch": "Enabled",
        "etl-dev": "Disabled",
        "research-nb": "Disabled",
    }
    assert demo.expected_fail["notebook-imdsv2-required"] == names


def test_prod_vpc_endpoints_dns_vpn_and_flow_logs(aws: Any, demo: DemoManifest) -> None:
    ec2 = aws("ec2")
    prod = demo.vpcs["ml-prod"]
    for attr, key in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        answer = ec2.describe_vpc_attribute(VpcId=prod.vpc_id, Attribute=attr)
        assert answer[key]["Value"] is True
    eps = _endpoints(aws, vpc_id=prod.vpc_id)
    assert {e["ServiceName"] for e in eps.values()} == {
        service_name(k, REGION) for k in ("notebook", "api", "runtime", "studio")
    }
    assert all(e["PrivateDnsEnabled"] and e["State"] == "available" for e in eps.values())
    runtime = eps[prod.endpoints["runtime"]]
    assert [g["GroupId"] for g in runtime["Groups"]] == [prod.default_sg_id]
    assert demo.expected_fail["endpoint-security-group-restricted"] == {runtime["VpcEndpointId"]}
    for kind in ("notebook", "api", "studio"):
        assert [g["GroupId"] for g in eps[prod.endpoints[kind]]["Groups"]] == [prod.endpoint_sg_id]
    vgw = ec2.describe_vpn_gateways(VpnGatewayIds=[prod.vpn_gateway_id])["VpnGateways"][0]
    assert vgw["VpcAttachments"] == [{"VpcId": prod.vpc_id, "State": "attached"}]
    vpn = ec2.describe_vpn_connections(VpnConnectionIds=[prod.vpn_connection_id])
    assert vpn["VpnConnections"][0]["VpnGatewayId"] == prod.vpn_gateway_id
    logs = ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [prod.vpc_id]}])
    assert [f["FlowLogId"] for f in logs["FlowLogs"]] == [prod.flow_log_id]


def test_only_the_dev_subnet_routes_to_the_internet(aws: Any, demo: DemoManifest) -> None:
    ec2 = aws("ec2")
    prod = demo.vpcs["ml-prod"]
    dev = prod.extra_subnets["ml-prod-dev"]
    igw_subnets = set()
    for table in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [prod.vpc_id]}])[
        "RouteTables"
    ]:
        if any(r.get("GatewayId", "").startswith("igw-") for r in table["Routes"]):
            igw_subnets |= {a["SubnetId"] for a in table["Associations"] if "SubnetId" in a}
            assert not any(a["Main"] for a in table["Associations"])
    assert igw_subnets == {dev}
    assert demo.notebook_subnets["etl-dev"] == dev
    assert demo.expected_fail["notebook-subnet-no-internet-route"] == {"etl-dev"}


def test_research_vpc_dns_policy_and_default_group(aws: Any, demo: DemoManifest) -> None:
    ec2 = aws("ec2")
    research = demo.vpcs["ml-research"]
    eps = _endpoints(aws, vpc_id=research.vpc_id)
    api = eps[research.endpoints["api"]]
    runtime = eps[research.endpoints["runtime"]]
    notebook = eps[research.endpoints["notebook"]]
    assert api["PrivateDnsEnabled"] is False and runtime["PrivateDnsEnabled"] is False
    assert notebook["PrivateDnsEnabled"] is True
    # The notebook endpoint kept AWS's default policy; the others are limited to the account.
    full = json.loads(notebook["PolicyDocument"])["Statement"][0]
    assert (full["Principal"], full["Action"], full["Resource"]) == ("*", "*", "*")
    limited = json.loads(api["PolicyDocument"])["Statement"][0]
    assert limited["Principal"] == {"AWS": f"arn:aws:iam::{demo.account_id}:root"}
    sg = ec2.describe_security_groups(GroupIds=[research.default_sg_id])["SecurityGroups"][0]
    assert sg["GroupName"] == "default" and sg["IpPermissions"] and sg["IpPermissionsEgress"]
    prod_sg = ec2.describe_security_groups(GroupIds=[demo.vpcs["ml-prod"].default_sg_id])
    assert not prod_sg["SecurityGroups"][0]["IpPermissions"]
    assert not prod_sg["SecurityGroups"][0]["IpPermissionsEgress"]
    assert demo.expected_fail["vpc-default-security-group-closed"] == {
        research.default_sg_id,
        demo.default_vpc_sg_id,
    }
    assert research.vpn_gateway_id is None
    att = ec2.describe_transit_gateway_vpc_attachments()["TransitGatewayVpcAttachments"]
    assert [a["VpcId"] for a in att] == [research.vpc_id]


def test_runtime_hosted_zone_answers_with_the_endpoint(aws: Any, demo: DemoManifest) -> None:
    r53 = aws("route53")
    research = demo.vpcs["ml-research"]
    zone_id = demo.hosted_zones["runtime"]
    zone = r53.get_hosted_zone(Id=zone_id)
    assert zone["HostedZone"]["Config"]["PrivateZone"] is True
    assert zone["VPCs"] == [{"VPCRegion": REGION, "VPCId": research.vpc_id}]
    records = r53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
    alias = [r for r in records if r["Type"] == "A"]
    assert alias[0]["Name"] == service_hostname("runtime", REGION) + "."
    assert alias[0]["AliasTarget"]["DNSName"].rstrip(".") == research.endpoint_dns["runtime"]
    # No zone answers the API hostname: the reason the research API endpoint FAILs.
    names = {z["Name"] for z in r53.list_hosted_zones()["HostedZones"]}
    assert service_hostname("api", REGION) + "." not in names


def test_trail_is_multi_region_and_logging(aws: Any, demo: DemoManifest) -> None:
    ct = aws("cloudtrail")
    trails = ct.describe_trails()["trailList"]
    assert [t["TrailARN"] for t in trails] == [demo.trail_arn]
    assert trails[0]["IsMultiRegionTrail"] is True
    assert ct.get_trail_status(Name=demo.trail_arn)["IsLogging"] is True


def test_iam_matches_the_post_plus_two_mistakes(aws: Any, demo: DemoManifest) -> None:
    details = aws("iam").get_account_authorization_details()
    prod = demo.vpcs["ml-prod"]
    # Keyed by ARN: moto's GetAccountAuthorizationDetails omits PolicyName (AWS sends it).
    policies = {p["Arn"]: p for p in details["Policies"]}
    doc = policies[demo.iam["policy:SageMakerNotebookViaVpce"]]["PolicyVersionList"][0]["Document"]
    if isinstance(doc, str):
        doc = json.loads(doc)
    cond = doc["Statement"][0]["Condition"]["StringEquals"]["aws:sourceVpce"]
    assert cond == [prod.endpoints["notebook"], prod.endpoints["api"]]
    users = {u["UserName"]: u for u in details["UserDetailList"]}
    assert users["alice"]["GroupList"] == ["data-scientists"]
    bob_doc = users["bob-contractor"]["UserPolicyList"][0]["PolicyDocument"]
    assert bob_doc["Statement"][0] == {"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}
    roles = {r["RoleName"]: r for r in details["RoleDetailList"]}
    legacy = roles["LegacyNotebookAccess"]["RolePolicyList"][0]["PolicyDocument"]
    assert legacy["Statement"][0]["Condition"]["StringEquals"]["aws:sourceVpce"] == [STALE_VPCE_ID]
    existing = _endpoints(aws)
    assert STALE_VPCE_ID not in existing
    bob, role = demo.iam["user:bob-contractor"], demo.iam["role:LegacyNotebookAccess"]
    assert {m.resource_id: m.rule_id for m in demo.mistakes if m.rule_id.startswith("iam-")} == {
        bob: "iam-presigned-url-requires-vpc-endpoint",
        f"{role}/notebook-access": "iam-vpce-condition-references-known-endpoints",
    }


# -- builders on their own --------------------------------------------------------------


def test_baseline_vpc_is_closed_and_private(aws: Any) -> None:
    vpc = build_private_vpc(aws, REGION)
    ec2 = aws("ec2")
    sg = ec2.describe_security_groups(GroupIds=[vpc.default_sg_id])["SecurityGroups"][0]
    assert sg["IpPermissions"] == [] and sg["IpPermissionsEgress"] == []
    table = ec2.describe_route_tables(RouteTableIds=[vpc.route_table_id])["RouteTables"][0]
    assert [a.get("SubnetId") for a in table["Associations"]] == [vpc.subnet_id]
    assert all(r["GatewayId"] == "local" for r in table["Routes"])
    assert vpc.internet_gateway_id is None and vpc.nat_gateway_id is None


@pytest.mark.parametrize(
    ("kwargs", "table_attr", "target_key"),
    [
        ({"igw_route": True}, "route_table_id", "GatewayId"),
        ({"nat_route": True}, "route_table_id", "NatGatewayId"),
        (
            {"explicit_association": False, "igw_route_on_main": True},
            "main_route_table_id",
            "GatewayId",
        ),
    ],
)
def test_route_variants_land_in_the_intended_table(
    aws: Any, kwargs: dict[str, Any], table_attr: str, target_key: str
) -> None:
    vpc = build_private_vpc(aws, REGION, **kwargs)
    table_id = getattr(vpc, table_attr)
    table = aws("ec2").describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
    targets = [
        r[target_key] for r in table["Routes"] if target_key in r and r[target_key] != "local"
    ]
    expected = vpc.nat_gateway_id if target_key == "NatGatewayId" else vpc.internet_gateway_id
    assert targets == [expected]


@pytest.mark.parametrize(
    ("variant", "field", "ranges"),
    [
        ("open", "IpRanges", [{"CidrIp": "0.0.0.0/0"}]),
        ("open_ipv6", "Ipv6Ranges", [{"CidrIpv6": "::/0"}]),
    ],
)
def test_open_endpoint_sg_variants(aws: Any, variant: EndpointSg, field: str, ranges: Any) -> None:
    vpc = build_private_vpc(aws, REGION, endpoints=("api",), endpoint_sg=variant)
    ep = _endpoints(aws, vpc_id=vpc.vpc_id)[vpc.endpoints["api"]]
    group = aws("ec2").describe_security_groups(GroupIds=[ep["Groups"][0]["GroupId"]])
    assert group["SecurityGroups"][0]["IpPermissions"][0][field] == ranges


def test_endpoint_without_groups(aws: Any) -> None:
    vpc = build_private_vpc(aws, REGION, endpoints=("api",), endpoint_sg="none")
    assert _endpoints(aws, vpc_id=vpc.vpc_id)[vpc.endpoints["api"]]["Groups"] == []


def test_stale_endpoint_is_listed_as_deleted(aws: Any) -> None:
    vpc = build_private_vpc(aws, REGION, stale_endpoint="api")
    eps = _endpoints(aws, vpc_id=vpc.vpc_id)
    assert eps[str(vpc.stale_endpoint_id)]["State"] == "deleted"
    assert eps[vpc.endpoints["api"]]["State"] == "available"


def test_cname_hosted_zone(aws: Any) -> None:
    vpc = build_private_vpc(aws, REGION, endpoints=("api",), private_dns=False)
    zone = build_private_hosted_zone_for_endpoint(
        aws,
        REGION,
        vpc.vpc_id,
        service_hostname("api", REGION),
        vpc.endpoint_dns["api"],
        record="cname",
    )
    records = aws("route53").list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    cname = next(r for r in records if r["Type"] == "CNAME")
    assert cname["ResourceRecords"] == [{"Value": vpc.endpoint_dns["api"]}]


def test_notebook_omitted_fields(aws: Any) -> None:
    vpc = build_private_vpc(aws, REGION, endpoints=())
    build_notebook(
        aws,
        REGION,
        "nb",
        vpc.subnet_id,
        [vpc.notebook_sg_id],
        direct_internet=None,
        root_access=None,
    )
    nb = aws("sagemaker").describe_notebook_instance(NotebookInstanceName="nb")
    # moto answers AWS's default for DirectInternetAccess but omits RootAccess and KmsKeyId.
    assert nb["DirectInternetAccess"] == "Enabled"
    assert "RootAccess" not in nb and "KmsKeyId" not in nb


def test_studio_domains_are_described_as_the_manifest_says(aws: Any, demo: DemoManifest) -> None:
    sm = aws("sagemaker")
    listed = {d["DomainId"] for d in sm.list_domains()["Domains"]}
    assert listed == set(demo.domains.values())
    clinical = sm.describe_domain(DomainId=demo.domains["clinical-studio"])
    sandbox = sm.describe_domain(DomainId=demo.domains["sandbox-studio"])
    prod = demo.vpcs["ml-prod"]
    assert clinical["AppNetworkAccessType"] == "VpcOnly"
    assert (clinical["VpcId"], clinical["SubnetIds"]) == (prod.vpc_id, [prod.subnet_id])
    assert clinical["DefaultUserSettings"]["SecurityGroups"] == [prod.notebook_sg_id]
    assert clinical["KmsKeyId"] == demo.kms_key_arn
    # moto reports AWS's default for the omitted network access type.
    assert sandbox["AppNetworkAccessType"] == "PublicInternetOnly"
    assert sandbox["VpcId"] == demo.default_vpc_id
    assert sandbox["DefaultUserSettings"]["SecurityGroups"] == [demo.default_vpc_sg_id]
    assert not sandbox.get("KmsKeyId")
    profiles = sm.list_user_profiles(DomainIdEquals=demo.domains["clinical-studio"])
    assert [p["UserProfileName"] for p in profiles["UserProfiles"]] == ["alice"]
    configs = {
        c["AppImageConfigName"]: c["JupyterLabAppImageConfig"]["FileSystemConfig"]["DefaultUid"]
        for c in sm.list_app_image_configs()["AppImageConfigs"]
    }
    assert configs == {"clinical-jupyterlab-config": 1000, "sandbox-root-config": 0}
    sandbox_id = demo.domains["sandbox-studio"]
    assert demo.expected_fail["studio-domain-vpc-only"] == {sandbox_id}
    assert demo.expected_fail["studio-domain-no-public-access-path"] == set(demo.domains.values())
