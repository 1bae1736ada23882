"""Every shipped rule, PASS / FAIL / missing field, on offline snapshots.

Each case starts from :func:`compliant_snapshot` (every rule passes) and changes exactly one
field, so a rule that reads the wrong field (RootAccess for DirectInternetAccess) fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from scanner.config import Config
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    API_HOST,
    EP_API,
    EP_NOTEBOOK,
    MAIN_RTB,
    NOTEBOOK,
    REGION,
    SG_DEFAULT,
    SG_ENDPOINT,
    TRAIL,
    VGW,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    explicit_route_table,
    finding,
    private_zone,
    scan,
    set_outcome,
    shipped_ruleset,
    statuses,
)

NB = "sagemaker:notebook-instance"
EP = "ec2:vpc-endpoint"


def test_compliant_snapshot_passes_every_shipped_rule() -> None:
    found = scan(compliant_snapshot())
    assert {f.rule_id for f in found} == set(shipped_ruleset().ids)
    assert [(f.rule_id, f.resource_id) for f in found if f.status != "PASS"] == []


def nb(field: str, value: Any) -> Callable[[Snapshot], None]:
    def mutate(s: Snapshot) -> None:
        if value is None:
            del data(s, NB, NOTEBOOK)[field]
        else:
            data(s, NB, NOTEBOOK)[field] = value

    return mutate


NOTEBOOK_CASES = [
    ("notebook-direct-internet-access-disabled", nb("DirectInternetAccess", "Enabled"), "FAIL"),
    ("notebook-direct-internet-access-disabled", nb("DirectInternetAccess", None), "FAIL"),
    ("notebook-root-access-disabled", nb("RootAccess", "Enabled"), "FAIL"),
    ("notebook-root-access-disabled", nb("RootAccess", None), "FAIL"),
    ("notebook-kms-encryption", nb("KmsKeyId", None), "FAIL"),
    ("notebook-kms-encryption", nb("KmsKeyId", ""), "FAIL"),
    ("notebook-in-vpc", nb("SubnetId", None), "FAIL"),
    ("notebook-imdsv2-required", nb("InstanceMetadataServiceConfiguration", None), "FAIL"),
    (
        "notebook-imdsv2-required",
        nb("InstanceMetadataServiceConfiguration", {"MinimumInstanceMetadataServiceVersion": "1"}),
        "FAIL",
    ),
]


@pytest.mark.parametrize(("rule_id", "mutate", "expected"), NOTEBOOK_CASES)
def test_notebook_field_rules(
    rule_id: str, mutate: Callable[[Snapshot], None], expected: str
) -> None:
    s = compliant_snapshot()
    mutate(s)
    assert finding(s, rule_id, NOTEBOOK).status == expected


def test_direct_internet_and_root_access_are_read_from_their_own_fields() -> None:
    """The published bug: DirectInternetAccess read from RootAccess.  Vary each alone."""
    s = compliant_snapshot()
    data(s, NB, NOTEBOOK)["DirectInternetAccess"] = "Enabled"
    found = {f.rule_id: f.status for f in scan(s) if f.resource_id == NOTEBOOK}
    assert found["notebook-direct-internet-access-disabled"] == "FAIL"
    assert found["notebook-root-access-disabled"] == "PASS"

    s = compliant_snapshot()
    data(s, NB, NOTEBOOK)["RootAccess"] = "Enabled"
    found = {f.rule_id: f.status for f in scan(s) if f.resource_id == NOTEBOOK}
    assert found["notebook-direct-internet-access-disabled"] == "PASS"
    assert found["notebook-root-access-disabled"] == "FAIL"


def test_missing_direct_internet_access_states_the_aws_default() -> None:
    s = compliant_snapshot()
    del data(s, NB, NOTEBOOK)["DirectInternetAccess"]
    f = finding(s, "notebook-direct-internet-access-disabled", NOTEBOOK)
    assert "Enabled" in f.message
    assert f.evidence["DirectInternetAccess"] is None
    assert "Enabled" in f.evidence["on_missing"]


def test_notebook_finding_carries_arn_remediation_and_frameworks() -> None:
    f = finding(compliant_snapshot(), "notebook-root-access-disabled", NOTEBOOK)
    assert f.resource_arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}"
    assert f"--notebook-instance-name {NOTEBOOK}" in f.remediation["cli"]
    assert f.remediation["references"][0].startswith("https://docs.aws.amazon.com/")
    assert f.frameworks["hipaa"] == ["164.312(a)(1)"]


# --------------------------------------------------------------- internet route


def _igw_route(s: Snapshot, table: str = MAIN_RTB, state: str = "active") -> None:
    data(s, "ec2:route-table", table)["Routes"].append(
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0a1", "State": state}
    )


def test_internet_route_in_main_table_fails() -> None:
    s = compliant_snapshot()
    _igw_route(s)
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "FAIL"
    assert "igw-0a1" in f.message
    assert f.evidence["route_table"] == {"id": MAIN_RTB, "association": "main"}


def test_blackholed_internet_route_carries_no_traffic() -> None:
    s = compliant_snapshot()
    _igw_route(s, state="blackhole")
    assert finding(s, "notebook-subnet-no-internet-route", NOTEBOOK).status == "PASS"


def test_explicit_association_overrides_main_table_with_internet_route() -> None:
    s = compliant_snapshot()
    _igw_route(s)
    explicit_route_table(
        s,
        "rtb-private",
        {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0a1", "State": "active"},
    )
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "PASS"
    assert f.evidence["route_table"] == {"id": "rtb-private", "association": "explicit"}
    assert f.evidence["nat_routes"][0]["target"] == "nat-0a1"
    assert "nat-0a1" in f.message


def test_notebook_without_subnet_is_not_applicable_for_route_rule() -> None:
    s = compliant_snapshot()
    del data(s, NB, NOTEBOOK)["SubnetId"]
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "NOT_APPLICABLE"
    assert "notebook-in-vpc" in f.message


def test_unknown_subnet_is_error_not_pass() -> None:
    s = compliant_snapshot()
    data(s, NB, NOTEBOOK)["SubnetId"] = "subnet-gone"
    assert finding(s, "notebook-subnet-no-internet-route", NOTEBOOK).status == "ERROR"


def test_no_route_table_at_all_is_error() -> None:
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION]["ec2:route-table"][MAIN_RTB]
    assert finding(s, "notebook-subnet-no-internet-route", NOTEBOOK).status == "ERROR"


def test_route_table_without_its_routes_is_error_not_pass() -> None:
    """DescribeRouteTables always lists at least the local route: a table without ``Routes``
    is data the scanner does not have, not a table with no internet route."""
    s = compliant_snapshot()
    del data(s, "ec2:route-table", MAIN_RTB)["Routes"]
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "ERROR"
    assert MAIN_RTB in f.message


# --------------------------------------------------------------- VPC endpoint presence

KIND_RULES = {
    "vpc-has-sagemaker-notebook-endpoint": EP_NOTEBOOK,
    "vpc-has-sagemaker-api-endpoint": EP_API,
    "vpc-has-sagemaker-runtime-endpoint": "vpce-runtime",
}


@pytest.mark.parametrize("rule_id", sorted(KIND_RULES))
def test_vpc_endpoint_rule_fails_without_its_endpoint_only(rule_id: str) -> None:
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION][EP][KIND_RULES[rule_id]]
    found = {f.rule_id: f.status for f in scan(s) if f.resource_id == VPC}
    for other in KIND_RULES:
        assert found[other] == ("FAIL" if other == rule_id else "PASS")


@pytest.mark.parametrize("rule_id", sorted(KIND_RULES))
def test_vpc_endpoint_rule_fails_when_endpoint_not_available(rule_id: str) -> None:
    s = compliant_snapshot()
    data(s, EP, KIND_RULES[rule_id])["State"] = "pendingAcceptance"
    assert finding(s, rule_id, VPC).status == "FAIL"


def test_endpoint_state_is_case_insensitive() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["State"] = "Available"
    assert finding(s, "vpc-has-sagemaker-api-endpoint", VPC).status == "PASS"
    assert finding(s, "endpoint-available", EP_API).status == "PASS"


def test_endpoint_in_another_region_name_does_not_count() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["ServiceName"] = "com.amazonaws.us-east-1.sagemaker.api"
    assert finding(s, "vpc-has-sagemaker-api-endpoint", VPC).status == "FAIL"


def test_vpc_without_notebooks_is_not_applicable_unless_in_scope() -> None:
    s = compliant_snapshot()
    s.add(
        ACCOUNT,
        REGION,
        "ec2:vpc",
        "vpc-other",
        {
            "VpcId": "vpc-other",
            "EnableDnsSupport": True,
            "EnableDnsHostnames": True,
        },
    )
    assert statuses(s, "vpc-has-sagemaker-api-endpoint")["vpc-other"] == "NOT_APPLICABLE"
    scoped = Config(scope={"vpcs": ["vpc-other"]})  # type: ignore[arg-type]
    assert statuses(s, "vpc-has-sagemaker-api-endpoint", scoped)["vpc-other"] == "FAIL"


# --------------------------------------------------------------- endpoints


def test_endpoint_available_fails_on_pending() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["State"] = "pending"
    f = finding(s, "endpoint-available", EP_API)
    assert f.status == "FAIL"
    assert f.evidence["State"] == "pending"


def test_non_sagemaker_endpoints_get_no_endpoint_findings() -> None:
    s = compliant_snapshot()
    s.add(
        ACCOUNT,
        REGION,
        EP,
        "vpce-s3",
        {
            "VpcEndpointId": "vpce-s3",
            "VpcEndpointType": "Gateway",
            "VpcId": VPC,
            "ServiceName": f"com.amazonaws.{REGION}.s3",
            "State": "available",
        },
    )
    assert all(f.resource_id != "vpce-s3" for f in scan(s))


@pytest.mark.parametrize(
    ("where", "field", "value"),
    [
        ("endpoint", "PrivateDnsEnabled", False),
        ("vpc", "EnableDnsSupport", False),
        ("vpc", "EnableDnsHostnames", False),
    ],
)
def test_private_dns_needs_flag_and_both_vpc_attributes(
    where: str, field: str, value: bool
) -> None:
    s = compliant_snapshot()
    target = data(s, EP, EP_API) if where == "endpoint" else data(s, "ec2:vpc", VPC)
    target[field] = value
    f = finding(s, "endpoint-private-dns-resolves", EP_API)
    assert f.status == "FAIL"
    assert field in f.message


def _zone(s: Snapshot, record: dict[str, Any], vpc: str = VPC) -> None:
    private_zone(s, "Z123", f"sagemaker.{REGION}.amazonaws.com.", record, vpc=vpc)


def test_private_hosted_zone_alias_to_endpoint_passes_without_private_dns() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    _zone(s, alias(f"{API_HOST}.", endpoint_dns(s) + "."))
    f = finding(s, "endpoint-private-dns-resolves", EP_API)
    assert f.status == "PASS"
    assert f.evidence["hosted_zone_records"][0]["zone_id"] == "Z123"


def test_hosted_zone_pointing_elsewhere_or_other_vpc_does_not_count() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    _zone(s, alias(f"{API_HOST}.", "vpce-other.example.com."))
    assert finding(s, "endpoint-private-dns-resolves", EP_API).status == "FAIL"

    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    _zone(s, alias(f"{API_HOST}.", endpoint_dns(s)), vpc="vpc-else")
    assert finding(s, "endpoint-private-dns-resolves", EP_API).status == "FAIL"


def test_notebook_wildcard_record_with_escaped_star_and_cname() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_NOTEBOOK)["PrivateDnsEnabled"] = False
    # A record must lie inside its zone (Route 53 rejects any other name), and only a zone
    # containing the hostname is consulted for it: the zone is named after the notebook domain.
    private_zone(
        s,
        "Z123",
        f"notebook.{REGION}.sagemaker.aws.",
        {
            "Name": f"\\052.notebook.{REGION}.sagemaker.aws.",
            "Type": "CNAME",
            "ResourceRecords": [{"Value": endpoint_dns(s, EP_NOTEBOOK)}],
        },
    )
    assert finding(s, "endpoint-private-dns-resolves", EP_NOTEBOOK).status == "PASS"


def test_endpoint_with_no_groups_uses_default_group_and_fails() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["Groups"] = []
    f = finding(s, "endpoint-security-group-restricted", EP_API)
    assert f.status == "FAIL"
    assert SG_DEFAULT in f.message


def test_endpoint_with_default_group_fails() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["Groups"] = [{"GroupId": SG_DEFAULT, "GroupName": "default"}]
    assert finding(s, "endpoint-security-group-restricted", EP_API).status == "FAIL"


@pytest.mark.parametrize(
    ("key", "field", "cidr"),
    [("IpRanges", "CidrIp", "0.0.0.0/0"), ("Ipv6Ranges", "CidrIpv6", "::/0")],
)
def test_endpoint_group_open_to_world_fails(key: str, field: str, cidr: str) -> None:
    s = compliant_snapshot()
    data(s, "ec2:security-group", SG_ENDPOINT)["IpPermissions"][0][key] = [{field: cidr}]
    f = finding(s, "endpoint-security-group-restricted", EP_API)
    assert f.status == "FAIL"
    assert cidr in f.message


def test_endpoint_group_missing_from_snapshot_is_error() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["Groups"] = [{"GroupId": "sg-unknown"}]
    assert finding(s, "endpoint-security-group-restricted", EP_API).status == "ERROR"


FULL = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (FULL, "FAIL"),
        ({**FULL, "Principal": {"AWS": "*"}}, "FAIL"),
        ({**FULL, "Principal": {"AWS": ["*"]}}, "FAIL"),
        ({**FULL, "Action": ["*"]}, "FAIL"),
        ({**FULL, "Action": "sagemaker:*"}, "FAIL"),
        ({**FULL, "Resource": ["*"]}, "FAIL"),
        ({**FULL, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}, "PASS"),
        ({**FULL, "Action": "sagemaker:CreatePresignedNotebookInstanceUrl"}, "PASS"),
        ({**FULL, "Resource": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:*"}, "PASS"),
        ({**FULL, "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}, "PASS"),
        ({**FULL, "Effect": "Deny"}, "PASS"),
    ],
)
def test_endpoint_policy_shapes(statement: dict[str, Any], expected: str) -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["PolicyDocument"] = json.dumps({"Statement": statement})
    assert finding(s, "endpoint-policy-restricted", EP_API).status == expected


def test_absent_policy_is_the_default_full_access_policy() -> None:
    s = compliant_snapshot()
    del data(s, EP, EP_API)["PolicyDocument"]
    assert finding(s, "endpoint-policy-restricted", EP_API).status == "FAIL"


@pytest.mark.parametrize("raw", ["{not json", '"a string"', '{"Statement": 5}'])
def test_unparseable_policy_is_error(raw: str) -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["PolicyDocument"] = raw
    assert finding(s, "endpoint-policy-restricted", EP_API).status == "ERROR"


# --------------------------------------------------------------- VPC controls


@pytest.mark.parametrize("field", ["EnableDnsSupport", "EnableDnsHostnames"])
def test_vpc_dns_attributes_each_required(field: str) -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpc", VPC)[field] = False
    assert finding(s, "vpc-dns-support-enabled", VPC).status == "FAIL"
    del data(s, "ec2:vpc", VPC)[field]
    assert finding(s, "vpc-dns-support-enabled", VPC).status == "ERROR"


def test_vpc_dns_applies_to_vpc_with_endpoints_but_no_notebooks() -> None:
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION][NB][NOTEBOOK]
    data(s, "ec2:vpc", VPC)["EnableDnsHostnames"] = False
    assert finding(s, "vpc-dns-support-enabled", VPC).status == "FAIL"
    assert finding(s, "vpc-private-connectivity", VPC).status == "NOT_APPLICABLE"


@pytest.mark.parametrize("field", ["IpPermissions", "IpPermissionsEgress"])
def test_default_group_with_any_rule_fails(field: str) -> None:
    s = compliant_snapshot()
    data(s, "ec2:security-group", SG_DEFAULT)[field] = [
        {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": SG_DEFAULT}]}
    ]
    assert finding(s, "vpc-default-security-group-closed", SG_DEFAULT).status == "FAIL"


def test_default_group_with_absent_rule_lists_passes_and_others_not_emitted() -> None:
    s = compliant_snapshot()
    del data(s, "ec2:security-group", SG_DEFAULT)["IpPermissionsEgress"]
    assert statuses(s, "vpc-default-security-group-closed") == {SG_DEFAULT: "PASS"}


def test_private_connectivity_vpn_needs_attachment_and_available_connection() -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpn-connection", "vpn-0a1")["State"] = "deleted"
    assert finding(s, "vpc-private-connectivity", VPC).status == "FAIL"

    s = compliant_snapshot()
    data(s, "ec2:vpn-gateway", VGW)["VpcAttachments"][0]["State"] = "detached"
    assert finding(s, "vpc-private-connectivity", VPC).status == "FAIL"


def test_private_connectivity_via_transit_gateway() -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpn-connection", "vpn-0a1")["State"] = "deleted"
    s.add(
        ACCOUNT,
        REGION,
        "ec2:transit-gateway-vpc-attachment",
        "tgw-attach-1",
        {
            "TransitGatewayAttachmentId": "tgw-attach-1",
            "VpcId": VPC,
            "State": "available",
            "TransitGatewayId": "tgw-1",
        },
    )
    f = finding(s, "vpc-private-connectivity", VPC)
    assert f.status == "PASS"
    assert "tgw-attach-1" in f.message


def test_private_connectivity_via_direct_connect_interface() -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpn-connection", "vpn-0a1")["State"] = "deleted"
    s.add(
        ACCOUNT,
        REGION,
        "directconnect:virtual-interface",
        "dxvif-1",
        {
            "virtualInterfaceId": "dxvif-1",
            "virtualGatewayId": VGW,
            "virtualInterfaceState": "available",
        },
    )
    assert finding(s, "vpc-private-connectivity", VPC).status == "PASS"


def test_private_connectivity_failure_mentions_uncollected_direct_connect() -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpn-connection", "vpn-0a1")["State"] = "deleted"
    set_outcome(s, "directconnect.virtual-interfaces", OutcomeStatus.NOT_COLLECTED)
    f = finding(s, "vpc-private-connectivity", VPC)
    assert f.status == "FAIL"
    assert "Direct Connect was not checked" in f.message
    assert f.evidence["collection"][0]["status"] == "not_collected"


def test_flow_logs_required() -> None:
    s = compliant_snapshot()
    data(s, "ec2:flow-log", "fl-0a1")["ResourceId"] = "vpc-else"
    assert finding(s, "vpc-flow-logs-enabled", VPC).status == "FAIL"


# --------------------------------------------------------------- account


@pytest.mark.parametrize(
    ("field", "value"),
    [("IsMultiRegionTrail", False), ("Status", {"IsLogging": False}), ("Status", None)],
)
def test_cloudtrail_needs_multi_region_and_logging(field: str, value: Any) -> None:
    s = compliant_snapshot()
    if value is None:
        del data(s, "cloudtrail:trail", TRAIL)[field]
    else:
        data(s, "cloudtrail:trail", TRAIL)[field] = value
    f = finding(s, "cloudtrail-multi-region-enabled", ACCOUNT)
    assert f.status == "FAIL"
    assert f.region == "global"
    assert f.resource_type == "aws:account"


def _trails_denied_in_eu_west_1(s: Snapshot) -> Snapshot:
    s.record(
        CollectorOutcome(
            "cloudtrail.trails",
            ACCOUNT,
            "eu-west-1",
            ["cloudtrail:trail"],
            OutcomeStatus.ERROR,
            error_code="AccessDenied",
            operation="DescribeTrails",
        )
    )
    return s


def test_cloudtrail_logging_trail_proves_it_when_another_region_failed() -> None:
    """An existence rule (requires_for_fail): the logging multi-region trail read in
    us-west-2 proves it; the PASS names the region it could not read."""
    f = finding(
        _trails_denied_in_eu_west_1(compliant_snapshot()),
        "cloudtrail-multi-region-enabled",
        ACCOUNT,
    )
    assert f.status == "PASS"
    assert "eu-west-1" in f.message and "DescribeTrails" in f.message
    assert [u["region"] for u in f.evidence["unread_sources"]] == ["eu-west-1"]


def test_cloudtrail_no_proof_with_a_region_failed_is_error() -> None:
    s = compliant_snapshot()
    data(s, "cloudtrail:trail", TRAIL)["Status"]["IsLogging"] = False
    f = finding(_trails_denied_in_eu_west_1(s), "cloudtrail-multi-region-enabled", ACCOUNT)
    assert f.status == "ERROR"
    assert "eu-west-1" in f.message and "DescribeTrails" in f.message
    assert f.evidence["failed_collectors"][0]["error_code"] == "AccessDenied"
