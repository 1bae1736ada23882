"""SageMaker endpoint rules on moto-seeded accounts, one field varied at a time.

Covers ``vpc-has-sagemaker-{notebook,api,runtime}-endpoint``, ``endpoint-available``,
``endpoint-private-dns-resolves`` (private DNS, or a private hosted zone that answers the
service hostname with a record pointing at the endpoint), ``endpoint-security-group-
restricted`` and ``endpoint-policy-restricted``.
"""

from __future__ import annotations

from typing import Any, Literal

import pytest

from scanner.demo.builders import (
    ALL_ENDPOINTS,
    EndpointKind,
    add_stale_endpoint,
    build_endpoint,
    build_private_hosted_zone_for_endpoint,
    build_private_vpc,
    service_hostname,
)
from scanner.demo.server import MotoServer
from scanner.model.finding import Status
from tests.scenariokit import (
    PER_ENDPOINT_RULES,
    REGION,
    VPC_ENDPOINT_RULES,
    Baseline,
    Expected,
    add_notebook,
    assert_scan,
    build_baseline,
    scan,
)

DNS_RULE = "endpoint-private-dns-resolves"


# -- which endpoints exist ---------------------------------------------------------------


@pytest.mark.parametrize("missing", ALL_ENDPOINTS)
def test_vpc_missing_one_endpoint(aws: Any, moto: MotoServer, missing: EndpointKind) -> None:
    others = tuple(k for k in ALL_ENDPOINTS if k != missing)
    base = build_baseline(aws, vpc={"endpoints": others})
    expected = base.expected()
    expected[VPC_ENDPOINT_RULES[missing]][base.vpc.vpc_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_vpc_without_any_endpoint(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"endpoints": ()})
    expected = base.expected()
    for rule in VPC_ENDPOINT_RULES.values():
        expected[rule][base.vpc.vpc_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_deleted_endpoint_next_to_an_available_one(aws: Any, moto: MotoServer) -> None:
    """Only endpoint-available notices the deleted one; the VPC still has an available one."""
    base = build_baseline(aws, vpc={"stale_endpoint": "api"})
    stale = str(base.vpc.stale_endpoint_id)
    expected = base.expected()
    for rule in PER_ENDPOINT_RULES:
        expected[rule][stale] = Status.PASS
    expected["endpoint-available"][stale] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_only_endpoint_of_a_kind_is_deleted(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"endpoints": ("notebook", "runtime")})
    stale = add_stale_endpoint(aws, base.vpc, "api")
    expected = base.expected()
    for rule in PER_ENDPOINT_RULES:
        expected[rule][stale] = Status.PASS
    expected["endpoint-available"][stale] = Status.FAIL
    expected[VPC_ENDPOINT_RULES["api"]][base.vpc.vpc_id] = Status.FAIL
    assert_scan(scan(moto.url), expected)


# -- private DNS and private hosted zones -----------------------------------------------


def _api_without_private_dns(aws: Any) -> tuple[Baseline, str]:
    base = build_baseline(aws, vpc={"endpoints": ("notebook", "runtime")})
    api = build_endpoint(aws, base.vpc, "api", private_dns=False)
    return base, api


def test_private_dns_off_without_zone(aws: Any, moto: MotoServer) -> None:
    base, api = _api_without_private_dns(aws)
    expected = base.expected()
    expected[DNS_RULE][api] = Status.FAIL
    assert_scan(scan(moto.url), expected)


@pytest.mark.parametrize("record", ["alias", "cname"])
def test_private_hosted_zone_answers_for_the_endpoint(
    aws: Any, moto: MotoServer, record: Literal["alias", "cname"]
) -> None:
    base, api = _api_without_private_dns(aws)
    build_private_hosted_zone_for_endpoint(
        aws,
        REGION,
        base.vpc.vpc_id,
        service_hostname("api", REGION),
        base.vpc.endpoint_dns["api"],
        record=record,
    )
    expected = base.expected()
    assert expected[DNS_RULE][api] is Status.PASS
    assert_scan(scan(moto.url), expected)


def test_zone_associated_with_another_vpc(aws: Any, moto: MotoServer) -> None:
    base, api = _api_without_private_dns(aws)
    other = build_private_vpc(
        aws, REGION, name="other", cidr="10.9.0.0/16", endpoints=(), vpn=False, flow_logs=False
    )
    build_private_hosted_zone_for_endpoint(
        aws, REGION, other.vpc_id, service_hostname("api", REGION), base.vpc.endpoint_dns["api"]
    )
    expected = base.expected()
    expected[DNS_RULE][api] = Status.FAIL
    expected["vpc-default-security-group-closed"][other.default_sg_id] = Status.PASS
    assert_scan(scan(moto.url), expected)


def test_zone_record_points_at_another_endpoint(aws: Any, moto: MotoServer) -> None:
    base, api = _api_without_private_dns(aws)
    build_private_hosted_zone_for_endpoint(
        aws,
        REGION,
        base.vpc.vpc_id,
        service_hostname("api", REGION),
        base.vpc.endpoint_dns["runtime"],
    )
    expected = base.expected()
    expected[DNS_RULE][api] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_zone_record_for_another_hostname(aws: Any, moto: MotoServer) -> None:
    """The zone is right, but its record answers a different name than the service's."""
    base, api = _api_without_private_dns(aws)
    hostname = service_hostname("api", REGION)
    build_private_hosted_zone_for_endpoint(
        aws,
        REGION,
        base.vpc.vpc_id,
        hostname,
        base.vpc.endpoint_dns["api"],
        record_name=f"legacy.{hostname}",
    )
    expected = base.expected()
    expected[DNS_RULE][api] = Status.FAIL
    assert_scan(scan(moto.url), expected)


# -- endpoint security groups ------------------------------------------------------------


@pytest.mark.parametrize("endpoint_sg", ["default", "open", "open_ipv6", "none"])
def test_endpoint_security_group(aws: Any, moto: MotoServer, endpoint_sg: str) -> None:
    """``default``: the VPC's (closed) default group is named, which alone must FAIL."""
    base = build_baseline(aws, vpc={"endpoint_sg": endpoint_sg})
    expected = base.expected()
    for vpce in base.vpc.endpoints.values():
        expected["endpoint-security-group-restricted"][vpce] = Status.FAIL
    assert_scan(scan(moto.url), expected)


def test_one_endpoint_with_an_open_group(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws, vpc={"endpoints": ("notebook", "api")})
    runtime = build_endpoint(aws, base.vpc, "runtime", endpoint_sg="open")
    expected = base.expected()
    expected["endpoint-security-group-restricted"][runtime] = Status.FAIL
    assert_scan(scan(moto.url), expected)


# -- endpoint policies -------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_policy", ["default", "full_access_explicit"])
def test_endpoint_policy_full_access(aws: Any, moto: MotoServer, endpoint_policy: str) -> None:
    base = build_baseline(aws, vpc={"endpoint_policy": endpoint_policy})
    expected: Expected = base.expected()
    for vpce in base.vpc.endpoints.values():
        expected["endpoint-policy-restricted"][vpce] = Status.FAIL
    assert_scan(scan(moto.url), expected)


@pytest.mark.parametrize("endpoint_policy", ["condition_only", "actions_only"])
def test_endpoint_policy_limited_otherwise(
    aws: Any, moto: MotoServer, endpoint_policy: str
) -> None:
    """Principal "*" is fine when a condition or the actions limit the policy."""
    base = build_baseline(aws, vpc={"endpoint_policy": endpoint_policy})
    result = scan(moto.url)
    assert_scan(result, base.expected())
    policies = [
        result.snapshot.get(base.account, REGION, "ec2:vpc-endpoint", vpce)
        for vpce in base.vpc.endpoints.values()
    ]
    assert all(p is not None and '"Principal": "*"' in p.data["PolicyDocument"] for p in policies)


def test_notebook_vpc_without_endpoints_next_to_one_with_them(aws: Any, moto: MotoServer) -> None:
    """Endpoints in another VPC do not serve the notebook's VPC."""
    base = build_baseline(aws)
    lonely = build_private_vpc(aws, REGION, name="lonely", cidr="10.3.0.0/16", endpoints=())
    add_notebook(aws, base, "nb-lonely", subnet_id=lonely.subnet_id, sg_ids=[lonely.notebook_sg_id])
    expected = base.expected()
    for rule in VPC_ENDPOINT_RULES.values():
        expected[rule][lonely.vpc_id] = Status.FAIL
    for rule in ("vpc-dns-support-enabled", "vpc-private-connectivity", "vpc-flow-logs-enabled"):
        expected[rule][lonely.vpc_id] = Status.PASS
    expected["vpc-default-security-group-closed"][lonely.default_sg_id] = Status.PASS
    assert_scan(scan(moto.url), expected)


def test_endpoint_in_a_vpc_without_notebooks(aws: Any, moto: MotoServer) -> None:
    """Endpoint rules judge every SageMaker endpoint, wherever it is."""
    base = build_baseline(aws, vpc={"endpoint_policy": "default"}, with_notebook=False)
    expected = base.expected()
    for vpce in base.vpc.endpoints.values():
        expected["endpoint-policy-restricted"][vpce] = Status.FAIL
    result = scan(moto.url)
    assert_scan(result, expected)
    for rule in VPC_ENDPOINT_RULES.values():
        assert result.status()[rule][base.vpc.vpc_id] is Status.NOT_APPLICABLE
