"""Enrichment unit tests: joins resolved once, the snapshot left untouched."""

from __future__ import annotations

import copy
from typing import Any

from scanner.config import Config
from scanner.enrichment import enrich
from scanner.model.snapshot import Snapshot
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
    SUBNET,
    TRAIL,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    explicit_route_table,
    private_zone,
)


def _enriched(s: Snapshot, rtype: str, rid: str, region: str = REGION) -> dict[str, Any]:
    res = enrich(s, Config()).get(ACCOUNT, region, rtype, rid)
    assert res is not None
    return res.doc["enriched"]


def test_enrich_does_not_mutate_the_snapshot() -> None:
    s = compliant_snapshot()
    before = copy.deepcopy(s.to_dict())
    estate = enrich(s, Config())
    assert s.to_dict() == before
    doc = estate.get(ACCOUNT, REGION, "sagemaker:notebook-instance", NOTEBOOK)
    assert doc is not None and "enriched" in doc.doc
    assert "enriched" not in data(s, "sagemaker:notebook-instance", NOTEBOOK)


def test_notebook_uses_main_table_without_explicit_association() -> None:
    e = _enriched(compliant_snapshot(), "sagemaker:notebook-instance", NOTEBOOK)
    assert e["vpc_id"] == VPC
    assert e["subnet_id"] == SUBNET
    assert e["route_table"] == {"id": MAIN_RTB, "association": "main"}
    assert e["routes_to_internet"] is False


def test_explicit_association_wins_over_main_table() -> None:
    s = compliant_snapshot()
    explicit_route_table(
        s,
        "rtb-explicit",
        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1", "State": "active"},
    )
    e = _enriched(s, "sagemaker:notebook-instance", NOTEBOOK)
    assert e["route_table"] == {"id": "rtb-explicit", "association": "explicit"}
    assert e["routes_to_internet"] is True
    assert e["internet_gateway_routes"] == [
        {"destination": "0.0.0.0/0", "target": "igw-1", "state": "active"}
    ]


def test_main_table_of_another_vpc_is_not_used() -> None:
    s = compliant_snapshot()
    data(s, "ec2:route-table", MAIN_RTB)["VpcId"] = "vpc-else"
    e = _enriched(s, "sagemaker:notebook-instance", NOTEBOOK)
    assert e["route_table"] is None
    assert e["routes_to_internet"] is None


def test_vpc_facts() -> None:
    e = _enriched(compliant_snapshot(), "ec2:vpc", VPC)
    assert e["notebooks"] == [NOTEBOOK]
    assert e["hosts_notebooks"] is True
    assert e["in_scope"] is False
    assert [x["id"] for x in e["sagemaker_endpoints"]["api"]] == [EP_API]
    assert [x["id"] for x in e["sagemaker_endpoints"]["notebook"]] == [EP_NOTEBOOK]
    assert [x["id"] for x in e["sagemaker_endpoints"]["studio"]] == ["vpce-studio"]
    assert e["studio_domains"] == e["vpc_only_domains"] == ["d-compliant"]
    assert e["default_security_group"] == SG_DEFAULT
    assert [f["id"] for f in e["flow_logs"]] == ["fl-0a1"]
    assert e["vpn_connections"][0]["id"] == "vpn-0a1"


def test_vpc_in_scope_from_config() -> None:
    estate = enrich(compliant_snapshot(), Config(scope={"vpcs": [VPC]}))  # type: ignore[arg-type]
    res = estate.get(ACCOUNT, REGION, "ec2:vpc", VPC)
    assert res is not None and res.enriched["in_scope"] is True


def test_studio_endpoint_is_its_own_kind() -> None:
    s = compliant_snapshot()
    s.add(
        ACCOUNT,
        REGION,
        "ec2:vpc-endpoint",
        "vpce-studio",
        {
            "VpcEndpointId": "vpce-studio",
            "VpcEndpointType": "Interface",
            "VpcId": VPC,
            "ServiceName": f"aws.sagemaker.{REGION}.studio",
            "State": "available",
        },
    )
    e = _enriched(s, "ec2:vpc", VPC)
    assert [x["id"] for x in e["sagemaker_endpoints"]["studio"]] == ["vpce-studio"]
    assert _enriched(s, "ec2:vpc-endpoint", "vpce-studio")["sagemaker_kind"] == "studio"


def test_endpoint_groups_resolved_and_dns_attributes_copied() -> None:
    e = _enriched(compliant_snapshot(), "ec2:vpc-endpoint", EP_API)
    assert e["sagemaker_kind"] == "api"
    assert e["service_hostname"] == f"api.sagemaker.{REGION}.amazonaws.com"
    assert e["vpc"] == {
        "id": VPC,
        "found": True,
        "EnableDnsSupport": True,
        "EnableDnsHostnames": True,
    }
    assert e["security_groups"] == [
        {
            "id": SG_ENDPOINT,
            "found": True,
            "name": "sagemaker-endpoints",
            "is_vpc_default": False,
            "open_ingress": [],
        }
    ]
    assert e["policy"]["present"] is True and e["policy"]["parse_error"] is None


def test_endpoint_dns_via_hosted_zone_alias() -> None:
    s = compliant_snapshot()
    private_zone(
        s,
        "Z9",
        f"{API_HOST}.",
        alias(f"{API_HOST}.", f"DualStack.{endpoint_dns(s).upper()}."),
        {"Name": f"{API_HOST}.", "Type": "NS", "ResourceRecords": [{"Value": "ns.example."}]},
    )
    e = _enriched(s, "ec2:vpc-endpoint", EP_API)
    assert [(r["zone_id"], r["type"]) for r in e["hosted_zone_records"]] == [("Z9", "A")]
    # the runtime endpoint is not what that record points at
    assert _enriched(s, "ec2:vpc-endpoint", "vpce-runtime")["hosted_zone_records"] == []


def test_unparseable_policy_is_recorded_not_raised() -> None:
    s = compliant_snapshot()
    data(s, "ec2:vpc-endpoint", EP_API)["PolicyDocument"] = "{oops"
    policy = _enriched(s, "ec2:vpc-endpoint", EP_API)["policy"]
    assert policy["document"] is None
    assert "invalid JSON" in policy["parse_error"]


def test_default_group_flag() -> None:
    s = compliant_snapshot()
    assert _enriched(s, "ec2:security-group", SG_DEFAULT)["is_vpc_default"] is True
    assert _enriched(s, "ec2:security-group", SG_ENDPOINT)["is_vpc_default"] is False


def test_account_resource_collects_trails_from_every_region_once() -> None:
    s = compliant_snapshot()
    # the same multi-region trail as seen from a second region (shadow trail)
    s.add(ACCOUNT, "eu-west-1", "cloudtrail:trail", TRAIL, dict(data(s, "cloudtrail:trail", TRAIL)))
    estate = enrich(s, Config())
    account = estate.get(ACCOUNT, "global", "aws:account", ACCOUNT)
    assert account is not None
    assert account.region == "global"
    assert [t["arn"] for t in account.enriched["trails"]] == [TRAIL]
    assert account.enriched["trails"][0]["is_logging"] is True


def test_account_resource_exists_without_trails() -> None:
    s = Snapshot(accounts=[ACCOUNT], regions=[REGION])
    account = enrich(s, Config()).get(ACCOUNT, "global", "aws:account", ACCOUNT)
    assert account is not None and account.enriched["trails"] == []
