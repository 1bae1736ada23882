"""``scope.vpcs`` entries that are not in the snapshot.

A VPC listed in ``scope.vpcs`` but not found in the scanned accounts/regions (a typo, another
account) must not disappear silently: each rule flagged ``scope_vpcs`` (the three SageMaker
endpoint-presence rules) reports one ERROR for it, once however often it is listed, with
region ``unknown`` (and account ``unknown`` when several accounts are scanned).  Listed VPCs
that are present get no such error.  The flag is valid only on ``ec2:vpc`` rules, and a user
rule pack's ``ec2:vpc`` rule with it reports missing VPCs too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import Config, ScopeConfig
from scanner.engine import RuleSet, evaluate, load_ruleset
from scanner.enrichment import enrich
from scanner.errors import InputError
from tests.snapshots import (
    ACCOUNT,
    REGION,
    VPC,
    compliant_snapshot,
    finding,
    scan,
    shipped_ruleset,
)

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
