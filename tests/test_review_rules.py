"""Review findings on the issue-2 rules, reproduced on offline snapshots.

Each test starts from a state that passes and changes one thing, so the assertion fails if
the scanner keeps the PASS it should have lost.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.model.snapshot import Snapshot
from tests.snapshots import (
    ACCOUNT,
    API_HOST,
    EP_API,
    REGION,
    VGW,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    finding,
    private_zone,
)

EP = "ec2:vpc-endpoint"
RULE = "endpoint-private-dns-resolves"


def _zone_path_only() -> Snapshot:
    """Private DNS off; a private zone for the API hostname aliases it to the endpoint."""
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    private_zone(
        s, "ZSM", f"sagemaker.{REGION}.amazonaws.com.", alias(f"{API_HOST}.", endpoint_dns(s))
    )
    return s


def test_zone_path_baseline_passes() -> None:
    assert finding(_zone_path_only(), RULE, EP_API).status == "PASS"


@pytest.mark.parametrize("field", ["EnableDnsSupport", "EnableDnsHostnames"])
def test_private_hosted_zone_needs_both_vpc_dns_attributes(field: str) -> None:
    """Route 53 DG, "Considerations when working with a private hosted zone": to use private
    hosted zones, enableDnsHostnames and enableDnsSupport must be true.  Without them the
    zone answers nothing and clients resolve the public endpoint."""
    s = _zone_path_only()
    data(s, "ec2:vpc", VPC)[field] = False
    f = finding(s, RULE, EP_API)
    assert f.status == "FAIL"
    assert field in f.message


@pytest.mark.parametrize("field", ["EnableDnsSupport", "EnableDnsHostnames"])
def test_private_hosted_zone_with_dns_attribute_not_collected_is_error(field: str) -> None:
    s = _zone_path_only()
    del data(s, "ec2:vpc", VPC)[field]
    assert finding(s, RULE, EP_API).status == "ERROR"


def test_exact_record_elsewhere_beats_a_wildcard_to_the_endpoint() -> None:
    """DNS answers a name from its own record; a wildcard only covers names with none."""
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    wildcard = alias(f"*.sagemaker.{REGION}.amazonaws.com.", endpoint_dns(s))
    private_zone(s, "ZSM", f"sagemaker.{REGION}.amazonaws.com.", wildcard)
    assert finding(s, RULE, EP_API).status == "PASS"

    private_zone(
        s,
        "ZSM",
        f"sagemaker.{REGION}.amazonaws.com.",
        wildcard,
        alias(f"{API_HOST}.", "public-proxy.example.com."),
    )
    assert finding(s, RULE, EP_API).status == "FAIL"


def test_more_specific_private_zone_without_the_record_shadows_the_parent_zone() -> None:
    """Route 53 DG, overlapping private namespaces: Resolver uses the most specific matching
    private zone; with no matching record there it returns NXDOMAIN, it does not fall back
    to the parent zone."""
    s = _zone_path_only()
    private_zone(s, "ZAPI", f"{API_HOST}.", {"Name": f"{API_HOST}.", "Type": "TXT"})
    f = finding(s, RULE, EP_API)
    assert f.status == "FAIL"


def test_more_specific_zone_holding_the_record_passes() -> None:
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    private_zone(s, "ZSM", f"sagemaker.{REGION}.amazonaws.com.")
    private_zone(s, "ZAPI", f"{API_HOST}.", alias(f"{API_HOST}.", endpoint_dns(s)))
    f = finding(s, RULE, EP_API)
    assert f.status == "PASS"
    assert [r["zone_id"] for r in f.evidence["hosted_zone_records"]] == ["ZAPI"]


# -------------------------------------------------------------- vpc-private-connectivity
def _vgw_without_vpn() -> Snapshot:
    """The VGW stays attached, but its only VPN connection is gone."""
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION]["ec2:vpn-connection"]
    return s


def test_attached_vgw_alone_is_no_private_way_in() -> None:
    assert finding(_vgw_without_vpn(), "vpc-private-connectivity", VPC).status == "FAIL"


def test_unrelated_direct_connect_gateway_is_not_a_private_way_in() -> None:
    """A Direct Connect gateway somewhere in the account proves nothing about this VPC:
    only an association with the VPC's VGW (DescribeDirectConnectGatewayAssociations)
    connects them.  A DX gateway with no association to VGW must not PASS."""
    s = _vgw_without_vpn()
    s.add(
        ACCOUNT,
        "global",
        "directconnect:gateway",
        "dxgw-1",
        {"directConnectGatewayId": "dxgw-1", "directConnectGatewayState": "available"},
    )
    f = finding(s, "vpc-private-connectivity", VPC)
    assert f.status != "PASS", f.message
    assert VGW in str(f.evidence)


def test_weighted_sibling_pointing_elsewhere_is_not_private() -> None:
    """Two weighted records for the hostname: some clients get the public proxy."""
    s = _zone_path_only()
    to_endpoint = {**alias(f"{API_HOST}.", endpoint_dns(s)), "SetIdentifier": "a", "Weight": 50}
    elsewhere = {
        **alias(f"{API_HOST}.", "public-proxy.example.com."),
        "SetIdentifier": "b",
        "Weight": 50,
    }
    private_zone(s, "ZSM", f"sagemaker.{REGION}.amazonaws.com.", to_endpoint)
    assert finding(s, RULE, EP_API).status == "PASS"
    private_zone(s, "ZSM", f"sagemaker.{REGION}.amazonaws.com.", to_endpoint, elsewhere)
    assert finding(s, RULE, EP_API).status == "FAIL"


# -------------------------------------------------------------- endpoint-policy-restricted
@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # NotAction of one unrelated action grants every principal everything else
        ({"NotAction": "iam:CreateUser"}, "FAIL"),
        # NotResource of one unrelated ARN leaves every other resource open
        ({"NotResource": "arn:aws:s3:::other-bucket"}, "FAIL"),
        # excluding every SageMaker action leaves nothing reachable through this endpoint
        ({"NotAction": "sagemaker:*"}, "PASS"),
    ],
)
def test_allow_everyone_with_not_action_or_not_resource(
    statement: dict[str, Any], expected: str
) -> None:
    s = compliant_snapshot()
    full = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    key = next(iter(statement))
    replaced = {"NotAction": "Action", "NotResource": "Resource"}[key]
    body = {k: v for k, v in full.items() if k != replaced} | statement
    data(s, EP, EP_API)["PolicyDocument"] = json.dumps({"Statement": [body]})
    assert finding(s, "endpoint-policy-restricted", EP_API).status == expected
