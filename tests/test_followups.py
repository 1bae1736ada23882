"""Follow-ups from the collectors/rules review, each pinned by a test that failed before.

Offline tests start from :func:`tests.snapshots.compliant_snapshot` (every shipped rule
passes) and change one thing.  The collector preflight test runs over HTTP against moto
through :mod:`tests.faultproxy`; Direct Connect is not implemented by moto, so its tests are
offline (see their docstrings).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from scanner.aws.guard import READ_ONLY_OPERATIONS
from scanner.collectors import COLLECTORS
from scanner.config import Config, ScopeConfig
from scanner.engine import RuleSet, evaluate, load_ruleset
from scanner.enrichment import enrich
from scanner.errors import InputError
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.collectkit import collect_only, outcome
from tests.faultproxy import EC2_API_VERSION, FaultProxy
from tests.snapshots import (
    ACCOUNT,
    API_HOST,
    EP_API,
    EP_NOTEBOOK,
    MAIN_RTB,
    NOTEBOOK,
    REGION,
    VGW,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    finding,
    private_zone,
    scan,
    set_outcome,
    shipped_ruleset,
)

RTB = "ec2:route-table"
EP = "ec2:vpc-endpoint"


# ------------------------------------------------- 2. egress-only internet gateway routes


def _add_route(s: Snapshot, route: dict[str, Any]) -> None:
    data(s, RTB, MAIN_RTB)["Routes"].append({"State": "active", **route})


def test_egress_only_route_passes_and_is_named_in_evidence_and_message() -> None:
    s = compliant_snapshot()
    _add_route(s, {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-0a1"})
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "PASS"
    assert f.evidence["egress_only_routes"] == [
        {"destination": "::/0", "target": "eigw-0a1", "state": "active"}
    ]
    assert "no igw- route; IPv6 egress via eigw-0a1" in f.message


def test_egress_only_and_nat_routes_both_in_pass_message() -> None:
    s = compliant_snapshot()
    _add_route(s, {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-0a1"})
    _add_route(s, {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0a1"})
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "PASS"
    assert f.message.endswith("no igw- route; IPv6 egress via eigw-0a1 and NAT via nat-0a1")


def test_without_egress_routes_the_message_names_none() -> None:
    f = finding(compliant_snapshot(), "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "PASS"
    assert f.message.endswith("no igw- route")
    assert f.evidence["egress_only_routes"] == []


def test_blackholed_egress_only_route_is_not_evidence() -> None:
    s = compliant_snapshot()
    _add_route(
        s,
        {
            "DestinationIpv6CidrBlock": "::/0",
            "EgressOnlyInternetGatewayId": "eigw-0a1",
            "State": "blackhole",
        },
    )
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.evidence["egress_only_routes"] == []
    assert "eigw-0a1" not in f.message


def test_internet_gateway_route_still_fails_next_to_egress_only_route() -> None:
    s = compliant_snapshot()
    _add_route(s, {"DestinationIpv6CidrBlock": "::/0", "EgressOnlyInternetGatewayId": "eigw-0a1"})
    _add_route(s, {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0a1"})
    f = finding(s, "notebook-subnet-no-internet-route", NOTEBOOK)
    assert f.status == "FAIL"
    assert "igw-0a1" in f.message


# ------------------------------------------------- 4. malformed preflight answers (over HTTP)

STS_WITHOUT_ACCOUNT = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
    "<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/x</Arn>"
    "<UserId>AIDAEXAMPLE</UserId></GetCallerIdentityResult>"
    "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>"
    "</GetCallerIdentityResponse>"
)
REGIONS_WITHOUT_NAME = (
    f'<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/">'
    "<requestId>r</requestId><regionInfo><item>"
    "<regionEndpoint>ec2.us-west-2.amazonaws.com</regionEndpoint>"
    "<optInStatus>opt-in-not-required</optInStatus>"
    "</item></regionInfo></DescribeRegionsResponse>"
)


@pytest.fixture
def proxy(moto: Any) -> Iterator[FaultProxy]:
    with FaultProxy(moto.url) as p:
        yield p


def _preflight_failures(snap: Snapshot, operation: str) -> None:
    assert len(snap.collectors) == len(COLLECTORS)  # one region: one outcome per collector
    for o in snap.collectors:
        assert o.status is OutcomeStatus.ERROR, o.collector
        assert (o.operation, o.error_code) == (operation, "MalformedResponse"), o.collector
    assert snap.resources == {}


def test_identity_answer_without_account_is_a_preflight_failure(proxy: FaultProxy) -> None:
    proxy.answer("GetCallerIdentity", STS_WITHOUT_ACCOUNT)
    snap = collect_only(endpoint_url=proxy.url)  # no KeyError escapes
    _preflight_failures(snap, "GetCallerIdentity")
    assert snap.accounts == ["unknown"]
    assert proxy.counts["GetCallerIdentity"] == 1


def test_regions_answer_without_region_name_is_a_preflight_failure(proxy: FaultProxy) -> None:
    proxy.answer("DescribeRegions", REGIONS_WITHOUT_NAME)
    snap = collect_only(endpoint_url=proxy.url, regions=[])  # regions must be discovered
    _preflight_failures(snap, "DescribeRegions")
    assert snap.accounts == ["123456789012"]  # the identity call itself was fine
    assert {o.account_id for o in snap.collectors} == {"123456789012"}


def test_faultproxy_answer_leaves_other_operations_forwarded(proxy: FaultProxy) -> None:
    """The proxy's canned answer applies to the named operation only."""
    proxy.answer("DescribeRegions", REGIONS_WITHOUT_NAME)
    snap = collect_only("vpc", endpoint_url=proxy.url)  # regions given: no DescribeRegions
    assert outcome(snap, "vpc").status is OutcomeStatus.OK
    assert proxy.counts["DescribeVpcs"] == 1 and proxy.counts["DescribeRegions"] == 0


# ------------------------------------------------- 3. scope.vpcs entries not in the snapshot

SCOPED_RULES = {
    "vpc-has-sagemaker-notebook-endpoint",
    "vpc-has-sagemaker-api-endpoint",
    "vpc-has-sagemaker-runtime-endpoint",
}
MISSING = "scope.vpcs but not found in the scanned accounts/regions"


def _scoped(*vpcs: str) -> Config:
    return Config(scope=ScopeConfig(vpcs=list(vpcs)))


def test_listed_vpc_missing_from_snapshot_is_one_error_per_scoped_rule() -> None:
    found = [
        f for f in scan(compliant_snapshot(), _scoped("vpc-typo")) if f.resource_id == "vpc-typo"
    ]
    assert {f.rule_id for f in found} == SCOPED_RULES  # one finding each, no other rule
    assert len(found) == len(SCOPED_RULES)
    for f in found:
        assert f.status == "ERROR"
        assert (f.account_id, f.region, f.resource_type) == (ACCOUNT, "unknown", "ec2:vpc")
        assert f.message == f"listed in {MISSING}"


def test_listed_vpc_present_in_snapshot_gets_no_missing_error() -> None:
    found = [f for f in scan(compliant_snapshot(), _scoped(VPC)) if f.resource_id == VPC]
    assert all(MISSING not in f.message for f in found)
    assert {f.region for f in found} == {REGION}


def test_listed_vpc_repeated_in_config_gives_one_finding_per_rule() -> None:
    found = [
        f
        for f in scan(compliant_snapshot(), _scoped("vpc-typo", "vpc-typo"))
        if f.resource_id == "vpc-typo"
    ]
    assert len(found) == len(SCOPED_RULES)


def test_missing_listed_vpc_account_is_unknown_with_several_accounts() -> None:
    s = compliant_snapshot()
    s.accounts = [ACCOUNT, "444455556666"]
    f = finding(s, "vpc-has-sagemaker-api-endpoint", "vpc-typo", _scoped("vpc-typo"))
    assert (f.status, f.account_id) == ("ERROR", "unknown")


def test_shipped_scope_vpcs_rules_are_the_ones_issue_2_scopes_to_listed_vpcs() -> None:
    """Issue 2 applies "VPCs config lists" to the three endpoint-presence rules only."""
    assert {r.id for r in shipped_ruleset().rules if r.scope_vpcs} == SCOPED_RULES


def test_scope_vpcs_flag_on_a_non_vpc_rule_is_an_input_error(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        "rules:\n"
        "  - id: my-rule\n"
        "    title: t\n"
        "    description: d\n"
        "    severity: low\n"
        "    resource_type: sagemaker:notebook-instance\n"
        "    scope_vpcs: true\n"
        "    check: {builtin: notebook_subnet_no_internet_route}\n"
        "    remediation: {text: fix, cli: aws ec2 help}\n"
        "    references: [https://docs.aws.amazon.com/vpc/]\n"
    )
    with pytest.raises(InputError) as exc:
        load_ruleset([pack])
    assert (exc.value.line, "scope_vpcs" in exc.value.problem) == (7, True)
    assert "ec2:vpc" in exc.value.problem


def test_scope_vpcs_flag_on_a_user_vpc_rule_reports_missing_vpcs(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        "rules:\n"
        "  - id: my-vpc-rule\n"
        "    title: t\n"
        "    description: d\n"
        "    severity: low\n"
        "    resource_type: ec2:vpc\n"
        "    scope_vpcs: true\n"
        "    check: {builtin: vpc_dns_attributes}\n"
        "    remediation: {text: fix, cli: aws ec2 help}\n"
        "    references: [https://docs.aws.amazon.com/vpc/]\n"
    )
    rules = RuleSet(rules=tuple(r for r in load_ruleset([pack]).rules if r.id == "my-vpc-rule"))
    s, cfg = compliant_snapshot(), _scoped("vpc-typo")
    got = {(f.resource_id, str(f.status)) for f in evaluate(rules, enrich(s, cfg), s, cfg)}
    assert got == {(VPC, "PASS"), ("vpc-typo", "ERROR")}


# ------------------------------------------------- 1. Route 53 Resolver forwarding rules


def _private_zone(s: Snapshot, zone_id: str, zone: str, record: str) -> None:
    """A private zone associated with the VPC, aliasing ``record`` to the API endpoint."""
    private_zone(s, zone_id, zone, alias(record, endpoint_dns(s)))


RULE = "route53resolver:rule"
ASSOC = "route53resolver:rule-association"
DNS_RULE = "endpoint-private-dns-resolves"


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


# ------------------------------------------------- 5. Direct Connect gateway associations

DXGW = "dxgw-0a1"
DX = "directconnect:gateway"
CONNECTIVITY = "vpc-private-connectivity"


def _only_dx_gateway(associations: list[dict[str, Any]] | None) -> Snapshot:
    """The compliant snapshot with its VPN connection replaced by a DX gateway (VGW still
    attached), whose ``Associations`` are as given (None: not collected, an old snapshot)."""
    s = compliant_snapshot()
    del s.resources[ACCOUNT][REGION]["ec2:vpn-connection"]["vpn-0a1"]
    body: dict[str, Any] = {
        "directConnectGatewayId": DXGW,
        "directConnectGatewayState": "available",
    }
    if associations is not None:
        body["Associations"] = associations
    s.add(ACCOUNT, "global", DX, DXGW, body)
    return s


def _association(
    gateway_id: str, state: str = "associated", kind: str = "virtualPrivateGateway"
) -> dict[str, Any]:
    return {
        "directConnectGatewayId": DXGW,
        "associationId": f"assoc-{gateway_id}",
        "associationState": state,
        "associatedGateway": {"id": gateway_id, "type": kind, "region": REGION},
    }


def test_dx_gateway_associated_with_the_attached_vgw_passes() -> None:
    """Direct Connect is not implemented by moto, so the rule is tested on Snapshot data."""
    f = finding(_only_dx_gateway([_association(VGW)]), CONNECTIVITY, VPC)
    assert f.status == "PASS"
    assert DXGW in f.message and VGW in f.message


def test_dx_gateway_associated_with_another_vgw_fails() -> None:
    f = finding(_only_dx_gateway([_association("vgw-other")]), CONNECTIVITY, VPC)
    assert f.status == "FAIL"


def test_dx_gateway_association_not_yet_associated_fails() -> None:
    f = finding(_only_dx_gateway([_association(VGW, "associating")]), CONNECTIVITY, VPC)
    assert f.status == "FAIL"


def test_dx_gateway_without_associations_fails() -> None:
    assert finding(_only_dx_gateway([]), CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_with_associations_not_collected_stays_error() -> None:
    f = finding(_only_dx_gateway(None), CONNECTIVITY, VPC)
    assert f.status == "ERROR"
    assert DXGW in f.message


def _tgw_attachment(s: Snapshot, state: str) -> None:
    s.add(
        ACCOUNT,
        REGION,
        "ec2:transit-gateway-vpc-attachment",
        "tgw-attach-0a1",
        {
            "TransitGatewayAttachmentId": "tgw-attach-0a1",
            "TransitGatewayId": "tgw-0a1",
            "VpcId": VPC,
            "State": state,
        },
    )


def test_dx_gateway_associated_with_the_vpcs_transit_gateway_is_named_as_a_path() -> None:
    s = _only_dx_gateway([_association("tgw-0a1", kind="transitGateway")])
    _tgw_attachment(s, "available")
    f = finding(s, CONNECTIVITY, VPC)
    assert f.status == "PASS"
    assert f"{DXGW} -> tgw-0a1" in f.message
    assert [a["gateway_id"] for a in f.evidence["direct_connect_gateway_associations"]] == [
        "tgw-0a1"
    ]


def test_dx_gateway_on_a_transit_gateway_the_vpc_is_not_attached_to_fails() -> None:
    s = _only_dx_gateway([_association("tgw-0a1", kind="transitGateway")])
    _tgw_attachment(s, "pendingAcceptance")
    assert finding(s, CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_associated_with_a_vgw_in_another_region_fails() -> None:
    assoc = _association(VGW)
    assoc["associatedGateway"]["region"] = "eu-west-1"
    assert finding(_only_dx_gateway([assoc]), CONNECTIVITY, VPC).status == "FAIL"


def test_dx_gateway_collector_lists_associations_per_gateway_paginated() -> None:
    """The spec's shape (moto has no Direct Connect, so this is a unit test of the spec):
    one paginated DescribeDirectConnectGatewayAssociations per gateway, by its id, stored
    under ``Associations``; the operation is allowlisted and in the IAM policy."""
    spec = COLLECTORS["directconnect-gateway"]
    (detail,) = spec.sources[0].outputs[0].details
    assert detail.operation == "DescribeDirectConnectGatewayAssociations"
    assert dict(detail.params) == {"directConnectGatewayId": "directConnectGatewayId"}
    assert (detail.key, detail.result, detail.paginate) == (
        "Associations",
        "directConnectGatewayAssociations",
        True,
    )
    op = "directconnect:DescribeDirectConnectGatewayAssociations"
    assert op in spec.operations and op in READ_ONLY_OPERATIONS
    model = botocore.session.get_session().get_service_model("directconnect")
    shape = model.operation_model(detail.operation)
    assert set(detail.params) <= set(shape.input_shape.members)
    assert detail.result in shape.output_shape.members
    assert "nextToken" in shape.input_shape.members  # paginated by nextToken
