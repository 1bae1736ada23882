"""The two verdicts on moto-seeded accounts: each kind of path varied one at a time.

Everything is seeded through boto3 over HTTP and collected by the real collectors.  The
baseline is :mod:`tests.scenariokit`'s compliant account plus, for Studio, a VpcOnly domain
in its private subnet with a Studio endpoint beside the API endpoint; both verdicts PASS
there.  The offline twins of these tests (every kind, including what moto cannot seed, such
as Resolver rules) are ``tests/test_access_paths.py`` and ``tests/test_rules_studio.py``.
"""

from __future__ import annotations

from typing import Any

import pytest

from scanner.config import PublicPathsConfig
from scanner.demo.builders import (
    CachedClients,
    build_endpoint,
    build_user,
    sourcevpce_policy,
    unconditioned_policy,
)
from scanner.demo.server import MotoServer
from scanner.demo.studio import build_domain, build_user_profile
from scanner.model.finding import Finding, Status
from tests.scenariokit import NB, REGION, Baseline, Scan, build_baseline, scan

NB_VERDICT = "notebook-no-public-access-path"
DOMAIN_VERDICT = "studio-domain-no-public-access-path"


def kinds(f: Finding) -> list[str]:
    return [k for k, n in f.evidence["paths_by_kind"].items() if n]


def notebook_verdict(result: Scan) -> Finding:
    return result.finding(NB_VERDICT, NB)


@pytest.mark.parametrize(
    ("vpc", "notebook", "kind", "named"),
    [
        ({}, {}, None, None),
        ({}, {"direct_internet": "Enabled"}, "internet_outbound", "DirectInternetAccess"),
        ({"igw_route": True}, {}, "internet_outbound", "internet gateway"),
        ({"nat_route": True}, {}, "internet_outbound", "NAT gateway"),
        ({"endpoints": ("notebook", "runtime")}, {}, "public_internet", "SageMaker API"),
        ({"endpoints": ("api", "runtime")}, {}, "public_internet", "no available notebook"),
        ({"private_dns": False}, {}, "public_internet", "do not resolve"),
        ({"dns_hostnames": False}, {}, "public_internet", "EnableDnsHostnames is False"),
    ],
    ids=["compliant", "direct", "igw", "nat", "no-api-ep", "no-nb-ep", "dns-off", "hostnames-off"],
)
def test_notebook_verdict_names_each_kind(
    aws: Any,
    moto: MotoServer,
    vpc: dict[str, Any],
    notebook: dict[str, Any],
    kind: str | None,
    named: str | None,
) -> None:
    build_baseline(aws, vpc=vpc, notebook=notebook)
    f = notebook_verdict(scan(moto.url))
    if kind is None:
        assert f.status is Status.PASS, f.message
        assert f.evidence["paths_total"] == 0
        return
    assert f.status is Status.FAIL, f.message
    assert kinds(f) == [kind]
    assert named is not None and named in f.message


def test_nat_route_passes_when_config_does_not_count_it(aws: Any, moto: MotoServer) -> None:
    build_baseline(aws, vpc={"nat_route": True})
    f = notebook_verdict(scan(moto.url, public_paths=PublicPathsConfig(nat_gateway=False)))
    assert f.status is Status.PASS
    assert "not counted" in " ".join(f.evidence["closed"])


def test_unconditioned_user_is_an_iam_path(aws: Any, moto: MotoServer) -> None:
    build_baseline(aws)
    build_user(aws, REGION, "mallory", inline={"open": unconditioned_policy()})
    f = notebook_verdict(scan(moto.url))
    assert f.status is Status.FAIL
    assert kinds(f) == ["iam_inbound"]
    assert "user/mallory" in f.message


# -- Studio -------------------------------------------------------------------------------


def studio_baseline(aws: Any, **domain: Any) -> tuple[Baseline, str]:
    """The compliant account with a VpcOnly domain in its private subnet, a Studio endpoint
    and a user profile; ``domain`` overrides build_domain's keywords."""
    make = CachedClients(aws)
    base = build_baseline(make)
    build_endpoint(make, base.vpc, "studio")
    kwargs: dict[str, Any] = {"kms_key": base.kms_key}
    kwargs.update(domain)
    domain_id = build_domain(
        make,
        REGION,
        "research",
        base.vpc.vpc_id,
        [base.vpc.subnet_id],
        [base.vpc.notebook_sg_id],
        **kwargs,
    )
    build_user_profile(make, REGION, domain_id, "alice")
    return base, domain_id


def test_compliant_domain_passes_every_studio_rule(aws: Any, moto: MotoServer) -> None:
    _, domain_id = studio_baseline(aws)
    result = scan(moto.url)
    assert result.errors() == []
    for rule in (
        DOMAIN_VERDICT,
        "studio-domain-vpc-only",
        "studio-domain-subnet-no-internet-route",
        "studio-security-groups-restricted",
        "studio-domain-kms-encryption",
        "studio-root-access-disabled",
    ):
        assert result.finding(rule, domain_id).status is Status.PASS, rule


@pytest.mark.parametrize(
    ("domain", "rule", "kind"),
    [
        ({"network_access": None}, "studio-domain-vpc-only", "internet_outbound"),
        ({"network_access": "PublicInternetOnly"}, "studio-domain-vpc-only", "internet_outbound"),
    ],
    ids=["omitted", "public"],
)
def test_public_domain_fails_its_rule_and_the_verdict(
    aws: Any, moto: MotoServer, domain: dict[str, Any], rule: str, kind: str
) -> None:
    _, domain_id = studio_baseline(aws, **domain)
    result = scan(moto.url)
    assert result.finding(rule, domain_id).status is Status.FAIL
    verdict = result.finding(DOMAIN_VERDICT, domain_id)
    assert verdict.status is Status.FAIL and kinds(verdict) == [kind]


def test_domain_presigned_url_grants(aws: Any, moto: MotoServer) -> None:
    base, domain_id = studio_baseline(aws)
    vpce = [base.vpc.endpoints["studio"], base.vpc.endpoints["api"]]
    build_user(
        aws,
        REGION,
        "carol",
        inline={"studio": sourcevpce_policy(vpce, actions=("sagemaker:CreatePresignedDomainUrl",))},
    )
    result = scan(moto.url)
    carol = f"arn:aws:iam::{base.account}:user/carol"
    assert result.finding("iam-presigned-domain-url-requires-vpc-endpoint", carol).status is (
        Status.PASS
    )
    build_user(
        aws,
        REGION,
        "dave",
        inline={"studio": unconditioned_policy("sagemaker:CreatePresignedDomainUrl")},
    )
    result = scan(moto.url)
    dave = f"arn:aws:iam::{base.account}:user/dave"
    assert result.finding("iam-presigned-domain-url-requires-vpc-endpoint", dave).status is (
        Status.FAIL
    )
    verdict = result.finding(DOMAIN_VERDICT, domain_id)
    assert kinds(verdict) == ["iam_inbound"] and "user/dave" in verdict.message
