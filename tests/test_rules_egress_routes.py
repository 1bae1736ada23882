"""notebook-subnet-no-internet-route with egress-only internet gateway routes.

An egress-only internet gateway (``eigw-``) carries IPv6 traffic out only and admits no
inbound connection, so a ``::/0`` route to one must not fail the rule: it passes, and the
route is named in the evidence and the PASS message (next to any NAT route).  A blackholed
eigw- route is not evidence, and an internet gateway route still fails next to one.  Each
test starts from :func:`tests.snapshots.compliant_snapshot` and adds routes to the VPC's
main route table.
"""

from __future__ import annotations

from typing import Any

from scanner.model.snapshot import Snapshot
from tests.snapshots import MAIN_RTB, NOTEBOOK, compliant_snapshot, data, finding

RTB = "ec2:route-table"


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
