"""Network, VPC and account rules on moto-seeded accounts, one field varied at a time.

Covers ``notebook-subnet-no-internet-route`` (explicit vs main route table, IGW vs NAT),
``vpc-dns-support-enabled``, ``vpc-default-security-group-closed``,
``vpc-private-connectivity``, ``vpc-flow-logs-enabled`` and
``cloudtrail-multi-region-enabled``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.config import ScopeConfig
from scanner.demo.builders import build_private_vpc
from scanner.demo.server import MotoServer
from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot
from tests.scenariokit import (
    DX_COLLECTORS,
    NB,
    PER_ENDPOINT_RULES,
    REGION,
    VPC_ENDPOINT_RULES,
    Expected,
    assert_scan,
    build_baseline,
    scan,
)

ROUTE_RULE = "notebook-subnet-no-internet-route"


# -- routes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vpc", "status"),
    [
        ({"igw_route": True}, Status.FAIL),
        # The main table routes to the IGW, but the subnet's explicit table wins.
        ({"igw_route_on_main": True}, Status.PASS),
        # No explicit association: the main table is effective, and it has the IGW route.
        ({"explicit_association": False, "igw_route_on_main": True}, Status.FAIL),
        ({"explicit_association": False}, Status.PASS),
        # A NAT default route is not an internet-gateway route.
        ({"nat_route": True}, Status.PASS),
        ({"nat_route": True, "igw_route": True}, Status.FAIL),
    ],
    ids=["igw", "igw-on-main-only", "main-table-igw", "main-table-clean", "nat", "nat-and-igw"],
)
def test_subnet_internet_route(
    aws: Any, moto: MotoServer, vpc: dict[str, Any], status: Status
) -> None:
    base = build_baseline(aws, vpc=vpc)
    expected = base.expected()
    expected[ROUTE_RULE][NB] = status
    result = scan(moto.url)
    assert_scan(result, expected)
    evidence = json.dumps(result.finding(ROUTE_RULE, NB).evidence)
    if status is Status.FAIL:
        assert str(base.vpc.internet_gateway_id) in evidence
    effective = base.vpc.route_table_id or base.vpc.main_route_table_id
    assert effective in evidence


def test_nat_route_is_shown_in_the_evidence(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"nat_route": True})
    result = scan(moto.url)
    finding = result.finding(ROUTE_RULE, NB)
    assert finding.status is Status.PASS
    assert str(base.vpc.nat_gateway_id) in json.dumps(finding.evidence)


# -- DNS attributes ----------------------------------------------------------------------


@pytest.mark.parametrize("attribute", ["dns_support", "dns_hostnames"])
def test_vpc_dns_attribute_off(aws: Any, moto: MotoServer, attribute: str) -> None:
    """One attribute off: the VPC rule FAILs, and so does private DNS of every endpoint."""
    base = build_baseline(aws, vpc={attribute: False})
    expected = base.expected()
    expected["vpc-dns-support-enabled"][base.vpc.vpc_id] = Status.FAIL
    for vpce in base.vpc.endpoints.values():
        expected["endpoint-private-dns-resolves"][vpce] = Status.FAIL
    assert_scan(scan(moto.url), expected)


@pytest.mark.parametrize("field", ["EnableDnsSupport", "EnableDnsHostnames"])
def test_vpc_dns_attribute_not_in_snapshot_never_passes(
    aws: Any, moto: MotoServer, field: str
) -> None:
    """An attribute missing from the snapshot must not read as "on"."""
    base = build_baseline(aws)

    def drop(snapshot: Snapshot) -> None:
        account = snapshot.accounts[0]
        del snapshot.resources[account][REGION]["ec2:vpc"][base.vpc.vpc_id]["data"][field]

    status = scan(moto.url, mutate=drop).status()
    assert status["vpc-dns-support-enabled"][base.vpc.vpc_id] in (Status.FAIL, Status.ERROR)
    for vpce in base.vpc.endpoints.values():
        assert status["endpoint-private-dns-resolves"][vpce] in (Status.FAIL, Status.ERROR)


# -- default security groups -------------------------------------------------------------


@pytest.mark.parametrize("rules", ["ingress", "egress", "both"])
def test_vpc_default_group_with_rules(aws: Any, moto: MotoServer, rules: str) -> None:
    base = build_baseline(aws, vpc={"default_sg_rules": rules})
    expected = base.expected()
    expected["vpc-default-security-group-closed"][base.vpc.default_sg_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_default_vpc_group_as_aws_creates_it(aws: Any, moto: MotoServer) -> None:
    """Every VPC's default group is judged, also one hosting nothing (moto's default VPC)."""
    base = build_baseline(aws, close_default_vpc=False)
    expected = base.expected()
    expected["vpc-default-security-group-closed"][base.default_vpc_sg] = Status.FAIL
    assert_scan(scan(moto.url), expected)


# -- private connectivity ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("vpc", "status"),
    [
        ({"vpn": False}, Status.FAIL),
        # A virtual private gateway attached but no VPN connection through it.
        ({"vpn_connection": False}, Status.FAIL),
        ({"vpn": False, "tgw": True}, Status.PASS),
        ({"vpn": True, "tgw": True}, Status.PASS),
    ],
    ids=["none", "vgw-without-vpn", "tgw-only", "vpn-and-tgw"],
)
def test_private_connectivity(
    aws: Any, moto: MotoServer, vpc: dict[str, Any], status: Status
) -> None:
    base = build_baseline(aws, vpc=vpc)
    expected = base.expected()
    expected["vpc-private-connectivity"][base.vpc.vpc_id] = status
    assert_scan(scan(moto.url), expected)


def test_private_connectivity_names_disabled_direct_connect(aws: Any, moto: MotoServer) -> None:
    """With Direct Connect not collected, a FAIL must say so rather than claim "no DX"."""
    base = build_baseline(aws, vpc={"vpn": False})
    finding = scan(moto.url).finding("vpc-private-connectivity", base.vpc.vpc_id)
    assert finding.status is Status.FAIL
    text = json.dumps(finding.evidence) + finding.message
    assert any(name in text for name in (*DX_COLLECTORS, "directconnect", "Direct Connect"))


def test_vpc_without_notebooks_needs_no_private_connectivity(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"vpn": False}, with_notebook=False)
    result = scan(moto.url)
    assert_scan(result, base.expected())
    assert result.status()["vpc-private-connectivity"][base.vpc.vpc_id] is Status.NOT_APPLICABLE


# -- flow logs ---------------------------------------------------------------------------


def test_flow_logs_missing(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"flow_logs": False})
    expected = base.expected()
    expected["vpc-flow-logs-enabled"][base.vpc.vpc_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_flow_logs_judged_for_endpoint_only_vpc(aws: Any, moto: MotoServer) -> None:
    """A VPC with SageMaker endpoints but no notebook still needs flow logs."""
    base = build_baseline(aws, vpc={"flow_logs": False}, with_notebook=False)
    expected = base.expected()
    expected["vpc-flow-logs-enabled"][base.vpc.vpc_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


# -- VPCs chosen by config ---------------------------------------------------------------


def test_config_scope_vpc_without_notebooks_gets_endpoint_rules(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws)
    listed = build_private_vpc(
        aws, REGION, name="planned", cidr="10.1.0.0/16", endpoints=(), vpn=False, flow_logs=False
    )
    expected: Expected = base.expected()
    for rule in VPC_ENDPOINT_RULES.values():
        expected[rule][listed.vpc_id] = Status.FAIL
    expected["vpc-default-security-group-closed"][listed.default_sg_id] = Status.PASS
    result = scan(moto.url, scope=ScopeConfig(vpcs=[listed.vpc_id]))
    assert_scan(result, expected)
    # Without the config entry, the empty VPC gets no endpoint verdict at all.
    unlisted = scan(moto.url)
    for rule in VPC_ENDPOINT_RULES.values():
        assert unlisted.pass_fail()[rule].get(listed.vpc_id) is None


# -- CloudTrail --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "trail",
    [{"multi_region": False}, {"logging": False}, None],
    ids=["single-region", "not-logging", "no-trail"],
)
def test_cloudtrail_multi_region(aws: Any, moto: MotoServer, trail: dict[str, Any] | None) -> None:
    base = build_baseline(aws, trail=trail, with_trail=trail is not None)
    expected = base.expected()
    expected["cloudtrail-multi-region-enabled"][base.account] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_endpoint_rules_cover_only_sagemaker_endpoints(aws: Any, moto: MotoServer) -> None:
    """An S3 gateway endpoint in the same VPC is no SageMaker interface endpoint."""
    base = build_baseline(aws)
    s3 = aws("ec2").create_vpc_endpoint(
        VpcId=base.vpc.vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[base.vpc.route_table_id],
    )["VpcEndpoint"]["VpcEndpointId"]
    result = scan(moto.url)
    assert_scan(result, base.expected())
    for rule in PER_ENDPOINT_RULES:
        assert s3 not in result.pass_fail()[rule]
