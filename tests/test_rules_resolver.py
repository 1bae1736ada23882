"""endpoint-private-dns-resolves with Route 53 Resolver forwarding rules.

A Resolver forwarding rule associated with the VPC sends the names it covers to other DNS
servers, so the scanner cannot verify that they resolve to the endpoint: the finding FAILs,
naming the rule, its domain and target IPs.  The tests pin which rule applies: the most
specific matching domain wins; private DNS (a private zone for the service hostname) beats a
less specific forwarding rule; a more specific SYSTEM rule beats a forwarding rule; rules
associated with another VPC, for a sibling domain, or with a FAILED association do not apply.
An associated rule missing from the snapshot, or a failed Resolver collector, is an ERROR,
not a PASS.  Offline, starting from :func:`tests.snapshots.compliant_snapshot`.
"""

from __future__ import annotations

from typing import Any

import pytest

from scanner.config import Config
from scanner.enrichment import enrich
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    API_HOST,
    EP_API,
    EP_NOTEBOOK,
    REGION,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    finding,
    private_zone,
    set_outcome,
)

EP = "ec2:vpc-endpoint"
RULE = "route53resolver:rule"
ASSOC = "route53resolver:rule-association"
DNS_RULE = "endpoint-private-dns-resolves"


def _private_zone(s: Snapshot, zone_id: str, zone: str, record: str) -> None:
    """A private zone associated with the VPC, aliasing ``record`` to the API endpoint."""
    private_zone(s, zone_id, zone, alias(record, endpoint_dns(s)))


def _resolver_rule(
    s: Snapshot,
    rule_id: str,
    domain: str,
    rule_type: str = "FORWARD",
    *,
    vpc: str = VPC,
    status: str = "COMPLETE",
) -> None:
    """A Resolver rule associated with ``vpc`` (targets only for forwarding rules)."""
    body: dict[str, Any] = {"Id": rule_id, "DomainName": domain, "RuleType": rule_type}
    if rule_type == "FORWARD":
        body["TargetIps"] = [{"Ip": "10.9.0.2", "Port": 53}, {"Ip": "10.9.0.3", "Port": 53}]
    s.add(ACCOUNT, REGION, RULE, rule_id, body, arn=f"arn:aws:route53resolver:::{rule_id}")
    assoc_id = f"rslvr-rrassoc-{rule_id}"
    s.add(
        ACCOUNT,
        REGION,
        ASSOC,
        assoc_id,
        {"Id": assoc_id, "ResolverRuleId": rule_id, "VPCId": vpc, "Status": status},
    )


def test_forward_rule_for_the_hostname_fails_naming_rule_domain_and_targets() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", f"{API_HOST}.")
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "FAIL"
    for part in ("rslvr-rr-api", API_HOST, "10.9.0.2:53", "10.9.0.3:53", "cannot verify"):
        assert part in f.message
    assert f.evidence["resolver_rule"]["id"] == "rslvr-rr-api"
    # the other endpoints' hostnames are not covered by this rule
    assert finding(s, DNS_RULE, EP_NOTEBOOK).status == "PASS"
    assert finding(s, DNS_RULE, "vpce-runtime").status == "PASS"


def test_forward_rule_for_a_parent_domain_overrides_a_customer_zone_with_the_same_name() -> None:
    """Without private DNS, a zone named like the rule's domain loses to the rule."""
    s = compliant_snapshot()
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    _private_zone(s, "Zapi", f"sagemaker.{REGION}.amazonaws.com.", f"{API_HOST}.")
    assert finding(s, DNS_RULE, EP_API).status == "PASS"  # the zone alone resolves it
    _resolver_rule(s, "rslvr-rr-sm", f"sagemaker.{REGION}.amazonaws.com")
    assert finding(s, DNS_RULE, EP_API).status == "FAIL"


def test_forward_rule_less_specific_than_private_dns_zone_does_not_override_it() -> None:
    """Private DNS is a private zone for the service hostname; Resolver's autodefined rule
    for it is more specific than a forward rule for ``.`` or ``amazonaws.com``."""
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-root", ".")
    _resolver_rule(s, "rslvr-rr-aws", "amazonaws.com.")
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "PASS"
    assert f.evidence["resolver_rule"]["id"] == "rslvr-rr-aws"  # the most specific match


def test_forward_rule_for_a_parent_domain_fails_when_private_dns_is_off() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-root", ".")
    data(s, EP, EP_API)["PrivateDnsEnabled"] = False
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "FAIL"
    assert "rslvr-rr-root" in f.message and "domain ." in f.message


def test_more_specific_system_rule_overrides_the_forward_rule() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", f"{API_HOST}.")
    assert finding(s, DNS_RULE, EP_API).status == "FAIL"
    s2 = compliant_snapshot()
    _resolver_rule(s2, "rslvr-rr-root", ".")
    _resolver_rule(s2, "rslvr-rr-sys", f"{API_HOST}.", "SYSTEM")
    data(s2, EP, EP_API)["PrivateDnsEnabled"] = False
    _private_zone(s2, "Zapi", f"{API_HOST}.", f"{API_HOST}.")
    f = finding(s2, DNS_RULE, EP_API)
    assert f.status == "PASS"
    assert f.evidence["resolver_rule"]["type"] == "SYSTEM"


def test_less_specific_system_rule_does_not_override_the_forward_rule() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-sys", "amazonaws.com", "SYSTEM")
    _resolver_rule(s, "rslvr-rr-api", API_HOST)
    assert finding(s, DNS_RULE, EP_API).status == "FAIL"


def test_forward_rule_associated_with_another_vpc_does_not_apply() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", API_HOST, vpc="vpc-elsewhere")
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "PASS"
    assert f.evidence["resolver_rule"] is None


def test_forward_rule_for_a_sibling_domain_does_not_apply() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-rt", f"runtime.sagemaker.{REGION}.amazonaws.com")
    assert finding(s, DNS_RULE, EP_API).status == "PASS"
    assert finding(s, DNS_RULE, "vpce-runtime").status == "FAIL"


def test_forward_rule_for_the_notebook_parent_covers_the_wildcard_hostname() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-nb", f"notebook.{REGION}.sagemaker.aws")
    assert finding(s, DNS_RULE, EP_NOTEBOOK).status == "FAIL"


def test_failed_forward_association_does_not_apply_but_creating_does() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", API_HOST, status="FAILED")
    assert finding(s, DNS_RULE, EP_API).status == "PASS"
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", API_HOST, status="CREATING")
    assert finding(s, DNS_RULE, EP_API).status == "FAIL"


def test_associated_rule_missing_from_snapshot_is_error_not_pass() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", API_HOST)
    del s.resources[ACCOUNT][REGION][RULE]["rslvr-rr-api"]
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "ERROR"
    assert "rslvr-rr-api" in f.message


@pytest.mark.parametrize(
    "collector", ["route53resolver.rules", "route53resolver.rule-associations"]
)
def test_failed_resolver_collector_is_error(collector: str) -> None:
    s = compliant_snapshot()
    set_outcome(s, collector, OutcomeStatus.ERROR)
    f = finding(s, DNS_RULE, EP_API)
    assert f.status == "ERROR"
    assert collector in f.message


def test_enrichment_resolves_the_rule_once_per_endpoint() -> None:
    s = compliant_snapshot()
    _resolver_rule(s, "rslvr-rr-api", API_HOST)
    estate = enrich(s, Config())
    ep = estate.get(ACCOUNT, REGION, EP, EP_API)
    assert ep is not None
    assert ep.enriched["resolver_forwards"] is True
    assert ep.enriched["resolver_rule"] == {
        "id": "rslvr-rr-api",
        "name": None,
        "type": "FORWARD",
        "domain": API_HOST,
        "target_ips": ["10.9.0.2:53", "10.9.0.3:53"],
        "association_id": "rslvr-rrassoc-rslvr-rr-api",
        "association_status": "COMPLETE",
    }
