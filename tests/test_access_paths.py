"""The notebook verdict (notebook-no-public-access-path) over every kind of path.

The baseline is :func:`tests.snapshots.compliant_snapshot`, where the notebook has no path at
all; each test breaks exactly one thing and checks the verdict FAILs naming that path's kind
and what it is, or ERRORs when the evidence for a path is missing.  The IAM kind is varied in
``tests/test_iam_rules_offline.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scanner.config import Config, PublicPathsConfig
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    API_HOST,
    EP_API,
    EP_NOTEBOOK,
    NOTEBOOK,
    REGION,
    SUBNET,
    VPC,
    alias,
    compliant_snapshot,
    data,
    endpoint_dns,
    explicit_route_table,
    finding,
    private_zone,
    set_outcome,
)

RULE = "notebook-no-public-access-path"
LOCAL = {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active"}
IGW = {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0a1", "State": "active"}
NAT = {"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-0a1", "State": "active"}
EIGW = {
    "DestinationIpv6CidrBlock": "::/0",
    "EgressOnlyInternetGatewayId": "eigw-0a1",
    "State": "active",
}


def verdict(snap: Snapshot, config: Config | None = None) -> Finding:
    return finding(snap, RULE, NOTEBOOK, config)


def kinds(f: Finding) -> dict[str, int]:
    counts: dict[str, int] = f.evidence["paths_by_kind"]
    return {k: v for k, v in counts.items() if v}


def routes(*extra: dict[str, Any]) -> Callable[[Snapshot], None]:
    def mutate(s: Snapshot) -> None:
        explicit_route_table(s, "rtb-private", LOCAL, *extra)

    return mutate


def endpoint_field(vid: str, field: str, value: Any) -> Callable[[Snapshot], None]:
    def mutate(s: Snapshot) -> None:
        data(s, "ec2:vpc-endpoint", vid)[field] = value

    return mutate


def drop_endpoint(vid: str) -> Callable[[Snapshot], None]:
    def mutate(s: Snapshot) -> None:
        del s.resources[ACCOUNT][REGION]["ec2:vpc-endpoint"][vid]

    return mutate


def vpc_field(field: str, value: Any) -> Callable[[Snapshot], None]:
    def mutate(s: Snapshot) -> None:
        data(s, "ec2:vpc", VPC)[field] = value

    return mutate


def forwarding_rule(s: Snapshot) -> None:
    s.add(
        ACCOUNT,
        REGION,
        "route53resolver:rule",
        "rslvr-rr-fwd",
        {
            "Id": "rslvr-rr-fwd",
            "DomainName": "amazonaws.com.",
            "RuleType": "FORWARD",
            "TargetIps": [{"Ip": "192.0.2.53", "Port": 53}],
        },
    )
    s.add(
        ACCOUNT,
        REGION,
        "route53resolver:rule-association",
        "rslvr-rrassoc-1",
        {
            "Id": "rslvr-rrassoc-1",
            "ResolverRuleId": "rslvr-rr-fwd",
            "VPCId": VPC,
            "Status": "COMPLETE",
        },
    )
    # Private DNS off on the API endpoint: then the forwarding rule, not the endpoint's own
    # zone, decides its hostname.
    data(s, "ec2:vpc-endpoint", EP_API)["PrivateDnsEnabled"] = False


def test_compliant_notebook_has_no_path_of_any_kind() -> None:
    f = verdict(compliant_snapshot())
    assert f.status is Status.PASS
    assert f.evidence["paths"] == [] and f.evidence["paths_total"] == 0
    closed = " ".join(f.evidence["closed"])
    for seen in (
        "DirectInternetAccess is Disabled",
        "no route to the internet",
        EP_NOTEBOOK,
        EP_API,
    ):
        assert seen in closed


@pytest.mark.parametrize(
    ("mutate", "kind", "named"),
    [
        (
            lambda s: data(s, "sagemaker:notebook-instance", NOTEBOOK).update(
                DirectInternetAccess="Enabled"
            ),
            "internet_outbound",
            "DirectInternetAccess is Enabled",
        ),
        (
            lambda s: data(s, "sagemaker:notebook-instance", NOTEBOOK).pop("SubnetId"),
            "internet_outbound",
            "no SubnetId",
        ),
        (routes(IGW), "internet_outbound", "internet gateway: 0.0.0.0/0 -> igw-0a1"),
        (routes(NAT), "internet_outbound", "NAT gateway: 0.0.0.0/0 -> nat-0a1"),
        (routes(EIGW), "internet_outbound", "egress-only internet gateway: ::/0 -> eigw-0a1"),
        (drop_endpoint(EP_NOTEBOOK), "public_internet", "no available notebook interface"),
        (drop_endpoint(EP_API), "public_internet", "no available SageMaker API interface"),
        (endpoint_field(EP_API, "State", "pendingAcceptance"), "public_internet", EP_API),
        (endpoint_field(EP_API, "VpcEndpointType", "Gateway"), "public_internet", EP_API),
        (
            endpoint_field(EP_NOTEBOOK, "PrivateDnsEnabled", False),
            "public_internet",
            f"notebook hostname to {EP_NOTEBOOK}",
        ),
        (
            endpoint_field(EP_API, "PrivateDnsEnabled", False),
            "public_internet",
            f"SageMaker API hostname to {EP_API}",
        ),
        (vpc_field("EnableDnsHostnames", False), "public_internet", "EnableDnsHostnames is False"),
        (forwarding_rule, "public_internet", "rslvr-rr-fwd"),
    ],
)
def test_each_kind_of_path_fails_the_verdict_by_name(
    mutate: Callable[[Snapshot], Any], kind: str, named: str
) -> None:
    snap = compliant_snapshot()
    mutate(snap)
    # Approved endpoints pinned, so a removed endpoint does not also change the IAM answer.
    f = verdict(snap, Config(approved_vpc_endpoints=[EP_NOTEBOOK, EP_API]))
    assert f.status is Status.FAIL, f.message
    assert list(kinds(f)) == [kind]
    assert named in f.message
    (path,) = [p for p in f.evidence["paths"] if p["kind"] == kind][:1]
    assert path["close"] and path["kind_label"]


def test_the_issue_case_internet_route_and_every_private_dns_off() -> None:
    """The case that used to PASS while the route and DNS rules failed beside it."""
    snap = compliant_snapshot()
    routes(IGW)(snap)
    for vid in (EP_NOTEBOOK, EP_API):
        data(snap, "ec2:vpc-endpoint", vid)["PrivateDnsEnabled"] = False
    f = verdict(snap)
    assert f.status is Status.FAIL
    assert kinds(f) == {"internet_outbound": 1, "public_internet": 2}
    assert "outbound to the internet: subnet subnet-0a1" in f.message
    assert "over the public internet:" in f.message
    assert finding(snap, "notebook-subnet-no-internet-route", NOTEBOOK).status is Status.FAIL
    assert finding(snap, "endpoint-private-dns-resolves", EP_API).status is Status.FAIL


@pytest.mark.parametrize(
    ("route", "setting"),
    [(NAT, {"nat_gateway": False}), (EIGW, {"egress_only_internet_gateway": False})],
)
def test_config_can_stop_counting_outbound_only_gateways(
    route: dict[str, Any], setting: dict[str, bool]
) -> None:
    snap = compliant_snapshot()
    routes(route)(snap)
    cfg = Config(public_paths=PublicPathsConfig(**setting))
    f = verdict(snap, cfg)
    assert f.status is Status.PASS
    assert any("not counted (config public_paths)" in c for c in f.evidence["closed"])
    # The other gateway kind still counts under the same config.
    other = EIGW if route is NAT else NAT
    routes(route, other)(snap)
    assert verdict(snap, cfg).status is Status.FAIL


def test_internet_gateway_counts_whatever_the_config() -> None:
    snap = compliant_snapshot()
    routes(IGW)(snap)
    cfg = Config(
        public_paths=PublicPathsConfig(nat_gateway=False, egress_only_internet_gateway=False)
    )
    assert verdict(snap, cfg).status is Status.FAIL


def test_private_hosted_zone_instead_of_private_dns_is_no_path() -> None:
    snap = compliant_snapshot()
    data(snap, "ec2:vpc-endpoint", EP_API)["PrivateDnsEnabled"] = False
    private_zone(snap, "Z-API", API_HOST, alias(API_HOST, endpoint_dns(snap)))
    assert verdict(snap).status is Status.PASS


def test_second_endpoint_with_private_dns_closes_the_dns_path() -> None:
    snap = compliant_snapshot()
    body = dict(data(snap, "ec2:vpc-endpoint", EP_API), VpcEndpointId="vpce-api-2")
    data(snap, "ec2:vpc-endpoint", EP_API)["PrivateDnsEnabled"] = False
    snap.add(ACCOUNT, REGION, "ec2:vpc-endpoint", "vpce-api-2", body)
    f = verdict(snap)
    assert f.status is Status.PASS
    assert any("vpce-api-2" in c for c in f.evidence["closed"])


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (
            lambda s: data(s, "ec2:route-table", "rtb-main").pop("Routes"),
            "has no route list",
        ),
        (
            lambda s: s.resources[ACCOUNT][REGION]["ec2:subnet"].pop(SUBNET),
            f"subnet {SUBNET} of notebook {NOTEBOOK} is not in the snapshot",
        ),
        (lambda s: data(s, "ec2:vpc", VPC).pop("EnableDnsSupport"), "not collected"),
    ],
)
def test_missing_evidence_is_error_never_pass(mutate: Callable[[Snapshot], Any], why: str) -> None:
    snap = compliant_snapshot()
    mutate(snap)
    f = verdict(snap)
    assert f.status is Status.ERROR
    assert why in f.message
    assert f.evidence["undecided"]


def test_a_path_found_beats_a_path_undecided() -> None:
    snap = compliant_snapshot()
    data(snap, "ec2:route-table", "rtb-main").pop("Routes")
    data(snap, "sagemaker:notebook-instance", NOTEBOOK)["DirectInternetAccess"] = "Enabled"
    f = verdict(snap)
    assert f.status is Status.FAIL
    assert "has no route list" in " ".join(f.evidence["undecided"])


@pytest.mark.parametrize(
    "collector", ["route53.hosted-zones", "ec2.route-tables", "ec2.vpc-endpoints"]
)
def test_failed_collector_of_any_path_makes_the_verdict_error(collector: str) -> None:
    snap = compliant_snapshot()
    set_outcome(snap, collector, OutcomeStatus.ERROR)
    assert verdict(snap).status is Status.ERROR
