"""Faults during collection, one at a time: every operation denied, and credentials that die.

"Every operation the collectors call" is :func:`scanner.collectors.registry.all_operations`
(the preflight, every spec's calls, the tagging API's GetResources, the organization walk),
so a new collector is covered by these tests the day it is registered.  Each operation is
denied with the error body its protocol really uses (:data:`tests.faultproxy.DENIED`) and
the outcome is compared with the undisturbed scan of the same seeded account
(:mod:`tests.faultkit`), finding by finding (fingerprint and status):

- a collector's call: every rule whose ``requires`` meets a type of the collectors that call
  it is ERROR, every other finding is unchanged, the run exits 3, and the report (the JSON
  document's collector errors, the CLI's failure lines, the ERROR findings) names the IAM
  permission to add (``tag:GetResources``, not botocore's service name);
- the preflight (identity, the role, the regions) and, in an organization scan, the
  organization walk: nothing can be attributed, so every finding is ERROR;
- documented fallbacks: GetResources denied reads tags per resource (same findings, one
  warning naming ``tag:GetResources``); the per-resource ListTags is only ever called then,
  so it is denied together with GetResources; Organizations denied is ``not_collected``
  (what a member account sees): no ERROR, its rule says why in its evidence.

Cost: moto is seeded once per module; each operation costs one partial collection (only
the collectors that call it) through the proxy, spliced into the undisturbed snapshot and
evaluated offline.  The real CLI runs for one operation per protocol and for credentials
that expire or turn invalid mid-scan, with a store.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.aws.errors import CREDENTIALS_ADVICE, ErrorKind, kind_for_code, permission_note
from scanner.cli.scan import failure_lines
from scanner.collectors import COLLECTORS, collect
from scanner.collectors.accounts import ORGANIZATIONS
from scanner.collectors.registry import PREFLIGHT_OPERATIONS, all_operations
from scanner.collectors.specs import TAGGING_OPERATION, TAGGING_SERVICE
from scanner.config import AccountEntry, Config, OrganizationConfig
from scanner.engine import load_config_ruleset
from scanner.errors import ExitCode
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import OutcomeStatus, Snapshot
from scanner.reporting.document import run_document
from tests.clikit import run_cli
from tests.faultkit import (
    ACCOUNT,
    Seeded,
    arm,
    bare,
    by_fingerprint,
    callers,
    changed,
    dependents,
    fail_dependents,
    moto_process,
    provided_types,
    record_of,
    rest_services,
    seed,
    splice,
)
from tests.faultproxy import EXPIRED_TOKEN, INVALID_TOKEN, FaultProxy, ProtocolFault
from tests.historykit import findings_json, run_id_of, show, sql

OPERATIONS = all_operations()
BULK_TAGS = f"{TAGGING_SERVICE}:{TAGGING_OPERATION}"
FALLBACKS = {
    f"{spec.service}:{out.bulk_tags.fallback.operation}"
    for spec in COLLECTORS.values()
    for src in spec.sources
    for out in src.outputs
    if out.bulk_tags is not None
}
"""Per-resource reads used only when the bulk read is denied (sagemaker:ListTags)."""

# The preflight call each operation of PREFLIGHT_OPERATIONS needs to be made at all: the role
# only for an account reached through one, the regions only when none are configured.
PREFLIGHT_SCENARIO: dict[str, dict[str, object]] = {
    "sts:GetCallerIdentity": {},
    "sts:AssumeRole": {
        "accounts": [AccountEntry(id=ACCOUNT, role_arn=f"arn:aws:iam::{ACCOUNT}:role/Scanner")]
    },
    "ec2:DescribeRegions": {"regions": []},
}
ORGANIZATION_SCAN: dict[str, object] = {"organization": OrganizationConfig(discover=True)}


@pytest.fixture(scope="module")
def seeded() -> Iterator[Seeded]:
    with moto_process() as url, FaultProxy(url) as proxy:
        seed(url)
        proxy.route_rest(*rest_services())
        arm(proxy)
        config = Config(regions=["us-west-2"])
        rules = load_config_ruleset(config)
        state = Seeded(proxy, rules, Snapshot(), [], Counter())
        state.baseline = collect(state.config())
        state.called = Counter(proxy.counts)
        state.findings = state.evaluate(state.baseline)
        yield state


def test_the_undisturbed_scan_is_complete_and_calls_every_operation_but_the_optional(
    seeded: Seeded,
) -> None:
    """The matrix means something only if the seed makes the scanner call each operation;
    the ones it does not call are exactly those that need another kind of scan."""
    assert not seeded.baseline.failed_outcomes()
    assert {o.status for o in seeded.baseline.collectors} == {OutcomeStatus.OK}
    assert not [f for f in seeded.findings if f.status is Status.ERROR]
    assert {f.status for f in seeded.findings} >= {Status.PASS, Status.FAIL}
    uncalled = {op for op in OPERATIONS if seeded.called[bare(op)] == 0}
    org_walk = {
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
    }  # only an organization scan walks the tree down from the root
    assert uncalled == {"sts:AssumeRole", "ec2:DescribeRegions"} | FALLBACKS | org_walk


def test_the_proxy_can_tell_every_operation_apart() -> None:
    """The proxy knows a request by its bare operation name: two services sharing one would
    make a denial hit both."""
    names = Counter(bare(op) for op in OPERATIONS)
    assert [n for n, c in names.items() if c > 1] == []


# -- one operation denied at a time ------------------------------------------------------


def _assert_names_permission(
    snapshot: Snapshot,
    findings: list[Finding],
    operation: str,
    *,
    errors_expected: bool | None = True,
) -> None:
    """The JSON report, the CLI's failure lines and the ERROR findings name the permission
    (``errors_expected``: whether there must be ERROR findings; None: either)."""
    note = permission_note(operation)
    doc = run_document(record_of(snapshot, findings))
    assert doc["collector_errors"], "no collector error reported"
    assert all(note in e["error_message"] for e in doc["collector_errors"]), doc["collector_errors"]
    lines = failure_lines(snapshot.failed_outcomes())
    assert lines and all(note in line for line in lines), lines
    errors = [f for f in findings if f.status is Status.ERROR]
    assert errors_expected is None or bool(errors) is errors_expected
    assert all(note in f.message for f in errors), [f.message for f in errors]


def _assert_every_finding_error(seeded: Seeded, snapshot: Snapshot, operation: str) -> None:
    findings = seeded.evaluate(snapshot)
    assert {o.status for o in snapshot.collectors} == {OutcomeStatus.ERROR}
    assert {o.operation for o in snapshot.collectors} == {bare(operation)}
    assert {f.status for f in findings} == {Status.ERROR}
    # Every rule says so (none is silently absent: no finding would read as nothing wrong).
    assert {f.rule_id for f in findings} == set(seeded.rules.ids)
    assert record_of(snapshot, findings).exit_code is ExitCode.INCOMPLETE
    _assert_names_permission(snapshot, findings, operation)


def _assert_dependents_error(
    seeded: Seeded, snapshot: Snapshot, failed: set[str], operation: str
) -> None:
    """Exactly ``failed`` collectors failed on ``operation``; their dependents are ERROR and
    every other finding is the undisturbed scan's."""
    bad = snapshot.failed_outcomes()
    assert {o.collector for o in bad} == failed
    assert {(o.operation, kind_for_code(o.error_code or "")) for o in bad} == {
        (bare(operation), ErrorKind.ACCESS_DENIED)
    }
    findings = seeded.evaluate(snapshot)
    types = provided_types(failed)
    hit = dependents(seeded.rules, types)
    soft = fail_dependents(seeded.rules, types, seeded.config())
    assert changed(seeded.findings, findings, hit, frozenset(soft)) == []
    after = [f for f in findings if f.rule_id in hit]
    assert {f.status for f in after} <= {Status.ERROR}
    had = {f.rule_id for f in seeded.findings if f.rule_id in hit}
    assert {f.rule_id for f in after} >= had
    assert record_of(snapshot, findings).exit_code is ExitCode.INCOMPLETE
    _assert_names_permission(snapshot, findings, operation, errors_expected=True if after else None)


def _partial(seeded: Seeded, denied: tuple[str, ...], collectors: set[str]) -> Snapshot:
    """The undisturbed snapshot with ``collectors`` collected again, ``denied`` denied: only
    they run, unless that does not reach the call (a collector that reads what others
    found, such as the KMS keys notebooks name), then every collector does."""
    part = seeded.collect(*denied, only=collectors)
    if not seeded.proxy.faulted[bare(denied[-1])]:
        part = seeded.collect(*denied)
    assert seeded.proxy.faulted[bare(denied[-1])] >= 1, f"{denied[-1]} was never called"
    return splice(seeded.baseline, part, collectors)


def _bulk_tags_fall_back(seeded: Seeded, operation: str, caplog: pytest.LogCaptureFixture) -> None:
    """GetResources denied: the tags are read per resource, the findings do not change, and
    one warning per output names the IAM permission."""
    with caplog.at_level(logging.WARNING, logger="scanner.collectors.engine"):
        snapshot = _partial(seeded, (operation,), callers(operation))
    assert seeded.proxy.counts["ListTags"] >= 1  # the documented fallback ran
    assert not snapshot.failed_outcomes()
    assert changed(seeded.findings, seeded.evaluate(snapshot), set()) == []
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warned and all("tag:GetResources" in w for w in warned), warned


def _not_collected(seeded: Seeded, operation: str) -> None:
    """Organizations from credentials that may not read it (a member account): the outcome
    is ``not_collected`` naming the permission, no finding is ERROR, the dependent rule says
    why in its evidence, and the exit status is the undisturbed scan's."""
    found = callers(operation)
    snapshot = _partial(seeded, (operation,), found)
    outcomes = [o for o in snapshot.collectors if o.collector in found]
    assert {(o.status, o.operation) for o in outcomes} == {
        (OutcomeStatus.NOT_COLLECTED, bare(operation))
    }
    assert all(permission_note(operation) in (o.error_message or "") for o in outcomes)
    findings = seeded.evaluate(snapshot)
    hit = dependents(seeded.rules, provided_types(found))
    assert changed(seeded.findings, findings, hit) == []
    after = [f for f in findings if f.rule_id in hit]
    assert after and Status.ERROR not in {f.status for f in after}
    assert all(
        bare(operation) in {c["operation"] for c in f.evidence.get("collection", [])} for f in after
    ), [f.evidence for f in after]
    baseline_exit = record_of(seeded.baseline, seeded.findings).exit_code
    assert record_of(snapshot, findings).exit_code is baseline_exit


def _whole_scan(seeded: Seeded, operation: str, **scenario: object) -> None:
    """A call every collector rests on, denied in the scan that makes it: all ERROR."""
    seeded.arm(operation)
    snapshot = collect(seeded.config(**scenario))
    assert seeded.proxy.faulted[bare(operation)] == 1
    _assert_every_finding_error(seeded, snapshot, operation)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_one_operation_denied(
    seeded: Seeded, operation: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What denying ``operation`` must do follows from the specs (module docstring)."""
    optional = {
        c
        for c in callers(operation)
        if ErrorKind.ACCESS_DENIED in COLLECTORS[c].not_collected_kinds
    }
    if operation in PREFLIGHT_OPERATIONS:
        _whole_scan(seeded, operation, **PREFLIGHT_SCENARIO[operation])
    elif operation == BULK_TAGS:
        _bulk_tags_fall_back(seeded, operation, caplog)
    elif operation in FALLBACKS:
        failed = {c for c in callers(operation) if BULK_TAGS in COLLECTORS[c].operations}
        snapshot = _partial(seeded, (BULK_TAGS, operation), failed)
        _assert_dependents_error(seeded, snapshot, failed, operation)
    elif seeded.called[bare(operation)] == 0:
        # Only an organization scan walks the organization's tree; nothing else may be left
        # uncalled by the seeded account (seed what a new collector reads in faultkit.seed).
        assert operation in COLLECTORS[ORGANIZATIONS].operations, f"{operation} never called"
        _whole_scan(seeded, operation, **ORGANIZATION_SCAN)
    elif optional:
        assert optional == callers(operation)
        _not_collected(seeded, operation)
    else:
        found = callers(operation)
        snapshot = _partial(seeded, (operation,), found)
        _assert_dependents_error(seeded, snapshot, found, operation)


# -- the real CLI ------------------------------------------------------------------------

CLI_CONFIG = """\
regions: [us-west-2]
retries:
  max_attempts: 4
collectors:
  concurrency: 4
  disabled: {disabled}
"""


def _cli_scan(
    seeded: Seeded, tmp_path: Path, only: set[str], *extra: str
) -> tuple[int, str, str, Path]:
    config = tmp_path / "config.yaml"
    disabled = sorted(set(COLLECTORS) - only)
    config.write_text(CLI_CONFIG.format(disabled=json.dumps(disabled)))
    out = tmp_path / "out"
    proc = run_cli(
        "scan", "--config", str(config), "--output", str(out), "--format", "json", *extra,
        env={"AWS_ENDPOINT_URL": seeded.proxy.url},
    )  # fmt: skip
    assert "Traceback" not in proc.stderr, show(proc)
    return proc.returncode, proc.stdout, proc.stderr, out / run_id_of(proc)


@pytest.mark.parametrize(
    "operation",
    [
        "ec2:DescribeVpcEndpoints",  # EC2 query: UnauthorizedOperation
        "iam:GetAccountAuthorizationDetails",  # query: AccessDenied
        "sagemaker:ListNotebookInstances",  # JSON: AccessDeniedException
        "route53:ListHostedZones",  # REST-XML: AccessDenied
        "sts:GetCallerIdentity",  # the preflight: nothing can be read
    ],
)
def test_cli_exits_3_and_names_the_missing_permission(
    seeded: Seeded, tmp_path: Path, operation: str
) -> None:
    seeded.arm(operation)
    only = callers(operation) or {"vpc"}
    code, stdout, _, reports = _cli_scan(seeded, tmp_path, only, "--no-store")
    assert seeded.proxy.faulted[bare(operation)] >= 1
    assert code == int(ExitCode.INCOMPLETE), stdout
    note = permission_note(operation)
    assert "INCOMPLETE" in stdout and note in stdout, stdout
    doc = json.loads((reports / "findings.json").read_text())
    errors = doc["run"]["collector_errors"]
    assert errors and all(note in e["error_message"] for e in errors), errors
    assert doc["run"]["exit_code"] == int(ExitCode.INCOMPLETE)


# -- credentials that die mid-scan -------------------------------------------------------


@pytest.mark.parametrize("fault", [EXPIRED_TOKEN, INVALID_TOKEN], ids=lambda f: f.name)
def test_credentials_dying_mid_scan(seeded: Seeded, tmp_path: Path, fault: ProtocolFault) -> None:
    """After the first ten requests every call is refused as expired (or invalid), in each
    protocol's words.  The scan ends with one clear line and what to do, exit 3, the run
    stored ``incomplete``, every rule on data it lost ERROR, and no call to AWS for
    collectors not yet started."""
    arm(seeded.proxy)
    seeded.proxy.die_after(10, fault)
    store = f"sqlite:///{tmp_path / 'history.db'}"
    code, stdout, stderr, reports = _cli_scan(seeded, tmp_path, set(COLLECTORS), "--store", store)
    assert code == int(ExitCode.INCOMPLETE), stdout
    for stream in (stdout, stderr):
        assert "credentials expired or invalid" in stream and CREDENTIALS_ADVICE in stream
    run_id = reports.name
    assert sql(store, "SELECT status FROM runs WHERE id = :r", r=run_id) == [("incomplete",)]
    doc = findings_json(reports.parent, run_id)
    outcomes = doc["run"]["collectors"]
    ok = [o for o in outcomes if o["status"] == "ok"]
    bad = [o for o in outcomes if o["status"] == "error"]
    assert ok and bad and len(ok) + len(bad) == len(outcomes)  # died in the middle
    assert {kind_for_code(o["error_code"]) for o in bad} == {ErrorKind.CREDENTIALS}
    assert {o["error_code"] for o in bad} <= {f.code for f in fault.by_protocol.values()}
    skipped = [o for o in bad if o["operation"] is None]
    assert skipped and all(o["error_message"].startswith("not called") for o in skipped)
    # One refused call per unit in flight (4 threads), not one per remaining collector.
    assert sum(seeded.proxy.faulted.values()) <= 2 * 4 < len(bad)
    types = {t for o in bad for t in o["resource_types"]}
    hit = dependents(seeded.rules, types)
    soft = fail_dependents(seeded.rules, types, seeded.config())
    findings = [Finding.from_dict(f) for f in doc["findings"]]
    assert {f.status for f in findings if f.rule_id in hit} == {Status.ERROR}
    assert changed(seeded.findings, findings, hit, frozenset(soft)) == []


def test_credentials_rejected_from_the_first_call(seeded: Seeded) -> None:
    """Dead before the identity is read: every collector says so on one line, no call
    after the first."""
    arm(seeded.proxy)
    seeded.proxy.die_after(0, EXPIRED_TOKEN)
    snapshot = collect(seeded.config())
    assert seeded.proxy.requests == 1 and seeded.proxy.faulted == {"GetCallerIdentity": 1}
    assert {(o.status, o.error_code) for o in snapshot.collectors} == {
        (OutcomeStatus.ERROR, "ExpiredToken")
    }
    lines = failure_lines(snapshot.failed_outcomes())
    assert len(lines) == 1 and CREDENTIALS_ADVICE in lines[0], lines
    findings = seeded.evaluate(snapshot)
    assert {f.status for f in findings} == {Status.ERROR}
    assert by_fingerprint(findings)


PROTOCOLS = {
    "ec2": "ec2",
    "query": "query",
    "json": "json",
    "rest-xml": "rest",
    "rest-json": "rest",
}
"""botocore's protocol names -> the proxy's."""


@pytest.mark.parametrize("fault", [EXPIRED_TOKEN, INVALID_TOKEN], ids=lambda f: f.name)
def test_every_protocols_spelling_of_rejected_credentials_is_recognised(
    seeded: Seeded, fault: ProtocolFault
) -> None:
    """One collector of each protocol, credentials dead after the identity call: each
    outcome carries its protocol's code, read as rejected credentials."""
    import botocore.session

    session = botocore.session.get_session()
    one_each: dict[str, str] = {}
    for name, spec in COLLECTORS.items():
        protocol = PROTOCOLS[session.get_service_model(spec.service).resolved_protocol]
        one_each.setdefault(protocol, name)
    assert set(one_each) == set(fault.by_protocol)
    for protocol, name in one_each.items():
        arm(seeded.proxy)
        seeded.proxy.die_after(1, fault)
        snapshot = collect(seeded.config(only=[name]))
        got = [o for o in snapshot.collectors if o.collector == name]
        assert [(o.status, o.error_code) for o in got] == [
            (OutcomeStatus.ERROR, fault.for_protocol(protocol).code)
        ], (protocol, name)
        assert kind_for_code(got[0].error_code or "") is ErrorKind.CREDENTIALS
