"""endpoint-private-dns-resolves through private hosted zones: which record answers.

With private DNS off, a private hosted zone associated with the VPC must answer the service
hostname with a record pointing at the endpoint, as Route 53 Resolver would: the zone needs
the VPC's enableDnsSupport and enableDnsHostnames (ERROR if not collected); an exact record
beats a wildcard; the most specific matching zone answers, even with no record for the name
(NXDOMAIN, no fall-back to the parent zone); a weighted sibling pointing elsewhere makes the
answer not private.  Each test starts from a state that passes and changes one thing, so it
fails if the scanner keeps a PASS it should have lost.
"""

from __future__ import annotations

import pytest

from scanner.model.snapshot import Snapshot
from tests.snapshots import (
    API_HOST,
    EP_API,
    REGION,
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
