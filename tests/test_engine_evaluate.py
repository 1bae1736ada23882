"""Engine behaviour: collector failures, expression errors, builtins, ordering."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest

from scanner.config import Config
from scanner.engine import (
    BUILTINS,
    Builtin,
    CheckContext,
    CheckResult,
    RuleSet,
    Subject,
    evaluate,
    load_ruleset,
)
from scanner.enrichment import enrich
from scanner.enrichment.estate import EstateResource
from scanner.model.finding import Finding
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    NOTEBOOK,
    REGION,
    VPC,
    compliant_snapshot,
    data,
    scan,
    set_outcome,
)

RULE = """\
rules:
  - id: {id}
    title: t
    description: d
    severity: low
    resource_type: {rtype}
    check:
{check}
    remediation: {{text: fix it, cli: aws sagemaker describe-notebook-instance}}
    references: [https://docs.aws.amazon.com/sagemaker/]
"""


def pack(
    tmp_path: Path, check: str, rtype: str = "sagemaker:notebook-instance", rid: str = "r"
) -> Path:
    path = tmp_path / f"{rid}.yaml"
    path.write_text(RULE.format(id=rid, rtype=rtype, check=textwrap.indent(check, "      ")))
    return path


def run(ruleset: RuleSet, s: Snapshot) -> list[Finding]:
    return evaluate(ruleset, enrich(s, Config()), s, Config())


def test_required_collector_error_in_scope_gives_error_naming_it() -> None:
    s = compliant_snapshot()
    set_outcome(s, "ec2.route-tables", OutcomeStatus.ERROR, "AccessDenied")
    found = {f.rule_id: f for f in scan(s) if f.resource_id == NOTEBOOK}
    route = found["notebook-subnet-no-internet-route"]
    assert route.status == "ERROR"
    assert "ec2.route-tables" in route.message and "AccessDenied" in route.message
    assert route.evidence["failed_collectors"][0]["operation"] == "Describe"
    # rules that do not depend on route tables still evaluate
    assert found["notebook-root-access-disabled"].status == "PASS"


def test_failure_in_another_region_does_not_touch_this_scope() -> None:
    s = compliant_snapshot()
    s.record(
        CollectorOutcome(
            "ec2.route-tables",
            ACCOUNT,
            "eu-west-1",
            ["ec2:route-table"],
            OutcomeStatus.ERROR,
            error_code="Throttling",
        )
    )
    found = {f.rule_id: f for f in scan(s) if f.resource_id == NOTEBOOK}
    assert found["notebook-subnet-no-internet-route"].status == "PASS"


def test_own_type_listing_failure_gives_one_star_error_per_scope() -> None:
    s = compliant_snapshot()
    set_outcome(s, "sagemaker.notebook-instances", OutcomeStatus.ERROR, "AccessDeniedException")
    stars = [f for f in scan(s) if f.resource_id == "*" and f.rule_id == "notebook-in-vpc"]
    assert len(stars) == 1
    assert (stars[0].status, stars[0].account_id, stars[0].region) == ("ERROR", ACCOUNT, REGION)
    assert stars[0].resource_type == "sagemaker:notebook-instance"
    assert "AccessDeniedException" in stars[0].message
    # the VPC rules that need notebooks say ERROR rather than NOT_APPLICABLE or PASS
    vpc = [
        f for f in scan(s) if f.resource_id == VPC and f.rule_id == "vpc-has-sagemaker-api-endpoint"
    ]
    assert vpc[0].status == "ERROR"


def test_global_dependency_failure_reaches_regional_resources() -> None:
    s = compliant_snapshot()
    set_outcome(s, "route53.hosted-zones", OutcomeStatus.ERROR)
    statuses = {f.status for f in scan(s) if f.rule_id == "endpoint-private-dns-resolves"}
    assert statuses == {"ERROR"}


def test_disabled_collector_shown_in_evidence_and_rule_still_evaluates() -> None:
    s = compliant_snapshot()
    set_outcome(s, "ec2.flow-logs", OutcomeStatus.DISABLED)
    del s.resources[ACCOUNT][REGION]["ec2:flow-log"]
    f = next(f for f in scan(s) if f.rule_id == "vpc-flow-logs-enabled")
    assert f.status == "FAIL"
    assert f.evidence["collection"][0]["collector"] == "ec2.flow-logs"
    assert f.evidence["collection"][0]["status"] == "disabled"


def test_jmespath_type_error_is_error(tmp_path: Path) -> None:
    check = "jmespath: NotebookInstanceName\non_missing: {status: FAIL, because: x}\npass_when: 'length(@) > `0` && abs(@) > `1`'\n"
    rs = load_ruleset([pack(tmp_path, check)], include_shipped=False)
    [f] = run(rs, compliant_snapshot())
    assert f.status == "ERROR"
    assert "abs" in f.message or "JMESPathTypeError" in f.message


def test_non_boolean_verdict_is_error(tmp_path: Path) -> None:
    check = "jmespath: NotebookInstanceName\non_missing: {status: FAIL, because: x}\n"
    rs = load_ruleset([pack(tmp_path, check)], include_shipped=False)
    [f] = run(rs, compliant_snapshot())
    assert f.status == "ERROR"
    assert "true/false" in f.message


def test_on_missing_assume_substitutes_default(tmp_path: Path) -> None:
    check = "jmespath: Missing\non_missing: {assume: Enabled, because: AWS default}\npass_when: \"@ == 'Enabled'\"\n"
    rs = load_ruleset([pack(tmp_path, check)], include_shipped=False)
    [f] = run(rs, compliant_snapshot())
    assert f.status == "PASS"
    assert f.evidence == {"Missing": None, "on_missing": "AWS default"}


def _boom(res: EstateResource, ctx: CheckContext) -> CheckResult:
    raise KeyError("Routes")


def test_builtin_exception_is_error(tmp_path: Path) -> None:
    builtins = {**BUILTINS, "boom": Builtin("boom", "raises", per_resource=_boom)}
    rs = load_ruleset([pack(tmp_path, "builtin: boom\n")], include_shipped=False, builtins=builtins)
    [f] = run(rs, compliant_snapshot())
    assert f.status == "ERROR"
    assert "KeyError" in f.message


def _per_account(ctx: CheckContext) -> Iterable[tuple[Subject, CheckResult]]:
    assert ctx.config.iam.actions  # builtins receive the config
    for res in ctx.estate.resources("sagemaker:notebook-instance"):
        yield (
            Subject(res.account_id, "global", "iam:role", f"arn:aws:iam::{res.account_id}:role/x"),
            CheckResult.failed("seen", notebook=res.id),
        )


def test_over_estate_builtin_emits_arbitrary_subjects(tmp_path: Path) -> None:
    builtins = {**BUILTINS, "estate": Builtin("estate", "whole estate", over_estate=_per_account)}
    rs = load_ruleset(
        [pack(tmp_path, "builtin: estate\n", rtype="iam:role")],
        include_shipped=False,
        builtins=builtins,
    )
    [f] = run(rs, compliant_snapshot())
    assert (f.status, f.resource_type, f.resource_id) == (
        "FAIL",
        "iam:role",
        f"arn:aws:iam::{ACCOUNT}:role/x",
    )
    assert f.evidence == {"notebook": NOTEBOOK}


def test_builtin_registry_requires_exactly_one_shape() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Builtin("bad", "neither")


def test_findings_are_deterministic_and_fingerprints_stable() -> None:
    a = scan(compliant_snapshot())
    b = scan(compliant_snapshot())
    assert [f.to_dict() for f in a] == [f.to_dict() for f in b]
    s = compliant_snapshot()
    data(s, "sagemaker:notebook-instance", NOTEBOOK)["RootAccess"] = "Enabled"
    changed = {f.fingerprint: f.status for f in scan(s)}
    assert set(changed) == {f.fingerprint for f in a}


def test_disabled_rules_are_removed() -> None:
    rs = load_ruleset(disabled=["notebook-in-vpc"])
    assert "notebook-in-vpc" not in rs.ids
    assert "notebook-root-access-disabled" in rs.ids


def test_message_says_a_field_was_absent_and_which_default_decided() -> None:
    s = compliant_snapshot()
    del data(s, "sagemaker:notebook-instance", NOTEBOOK)["InstanceMetadataServiceConfiguration"]
    [found] = [f for f in scan(s) if f.rule_id == "notebook-imdsv2-required"]
    assert found.status == "FAIL"
    assert "absent (AWS default: 1)" in found.message
