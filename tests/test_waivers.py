"""Waivers: the model and ``apply_waivers`` on their own, then end to end through the CLI.

End to end, the scenario account (``tests.scenariokit``) has exactly one FAIL,
``notebook-imdsv2-required`` (medium) on notebook ``nb`` (moto drops the IMDS setting), so
a waiver on it decides the exit status alone.
"""

from __future__ import annotations

import csv
import json
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from scanner.demo.server import MotoServer
from scanner.errors import ExitCode, InputError
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import Snapshot
from scanner.waivers import Waiver, apply_waivers, load_waivers_file
from tests.historykit import (
    cli,
    findings_json,
    make_snapshots,
    run_dir,
    run_id_of,
    scan,
    show,
    write_config,
)
from tests.reportkit import html_findings
from tests.scenariokit import NB, build_baseline

ACCOUNT = "123456789012"
REGION = "us-west-2"
TODAY = date(2026, 6, 15)
IMDS = "notebook-imdsv2-required"


def finding(
    status: Status = Status.FAIL,
    *,
    rule_id: str = IMDS,
    resource_id: str = "nb-1",
    account_id: str = ACCOUNT,
    region: str = REGION,
    severity: Severity = Severity.MEDIUM,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        status=status,
        severity=severity,
        account_id=account_id,
        region=region,
        resource_type="sagemaker:notebook-instance",
        resource_id=resource_id,
        title="t",
        message="m",
    )


def waiver(**overrides: Any) -> Waiver:
    fields: dict[str, Any] = {
        "rule_id": IMDS,
        "resource": "nb-1",
        "reason": "moto drops the IMDS setting",
        "owner": "ml-platform@example.com",
        "expires": TODAY,
    }
    fields.update(overrides)
    return Waiver(**fields)


# -- the model ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires": None}, "expires"),
        ({"rule_id": "Not A Rule"}, "rule_id"),
        ({"account": "12345"}, "account"),
        ({"reason": ""}, "reason"),
        ({"owner": ""}, "owner"),
        ({"resource": ""}, "resource"),
        ({"approver": "me"}, "approver"),
    ],
)
def test_invalid_waivers_are_refused(change: dict[str, Any], field: str) -> None:
    fields: dict[str, Any] = {
        "rule_id": IMDS,
        "resource": "nb-1",
        "reason": "r",
        "owner": "o",
        "expires": "2027-01-01",
        **change,
    }
    fields = {k: v for k, v in fields.items() if v is not None}
    with pytest.raises(ValidationError) as err:
        Waiver(**fields)
    assert [e["loc"] for e in err.value.errors()] == [(field,)]


def test_expires_is_a_real_date() -> None:
    assert waiver(expires="2027-03-31").expires == date(2027, 3, 31)
    with pytest.raises(ValidationError):
        waiver(expires="2026-13-45")


def test_waiver_applies_through_its_expiry_day() -> None:
    w = waiver(expires=TODAY)
    assert not w.expired(TODAY - timedelta(days=1))
    assert not w.expired(TODAY)
    assert w.expired(TODAY + timedelta(days=1))


@pytest.mark.parametrize(
    ("pattern", "resource_id", "covered"),
    [
        ("nb-1", "nb-1", True),
        ("nb-1", "nb-10", False),
        ("nb-*", "nb-10", True),
        ("nb-*", "xnb-1", False),
        ("nb-?", "nb-1", True),
        ("nb-?", "nb-10", False),
        ("NB-*", "nb-1", False),  # ids are case-sensitive
        ("*", "anything", True),
        ("arn:aws:iam::*:role/Legacy*", "arn:aws:iam::123456789012:role/LegacyNotebook", True),
    ],
)
def test_resource_is_an_id_or_a_glob(pattern: str, resource_id: str, covered: bool) -> None:
    assert waiver(resource=pattern).covers(finding(resource_id=resource_id)) is covered


def test_rule_account_and_region_must_match() -> None:
    f = finding()
    assert waiver().covers(f)
    assert not waiver(rule_id="notebook-kms-encryption").covers(f)
    assert waiver(account=ACCOUNT).covers(f)
    assert not waiver(account="210987654321").covers(f)
    assert waiver(region=REGION).covers(f)
    assert not waiver(region="eu-west-1").covers(f)
    assert not waiver(account=ACCOUNT, region="eu-west-1").covers(f)


def test_id_is_stable_across_reason_owner_and_dates() -> None:
    base = waiver()
    assert waiver(reason="other", owner="x@example.com", expires="2030-01-01").id == base.id
    assert waiver(ticket="SEC-1").id == base.id
    for change in ({"resource": "nb-*"}, {"account": ACCOUNT}, {"region": REGION}):
        assert waiver(**change).id != base.id, change
    assert base.to_dict()["id"] == base.id
    assert base.to_dict()["expires"] == TODAY.isoformat()


# -- apply_waivers --------------------------------------------------------------------


def test_fail_is_waived_and_keeps_its_status() -> None:
    w = waiver()
    [out], [state] = apply_waivers([finding()], [w], TODAY)
    assert out.status is Status.FAIL and out.waived
    assert out.waiver == w.to_dict()
    assert out.to_dict()["waived"] is True
    assert (state.state, state.matched) == ("active", 1)
    assert state.to_dict() == {**w.to_dict(), "state": "active", "matched": 1}


@pytest.mark.parametrize("status", [Status.PASS, Status.ERROR, Status.NOT_APPLICABLE])
def test_only_fail_findings_are_waived(status: Status) -> None:
    [out], [state] = apply_waivers([finding(status)], [waiver(resource="*")], TODAY)
    assert not out.waived and out.status is status
    assert (state.state, state.matched) == ("unused", 0)


def test_expired_waiver_does_not_apply() -> None:
    [out], [state] = apply_waivers([finding()], [waiver()], TODAY + timedelta(days=1))
    assert not out.waived
    assert (state.state, state.matched) == ("expired", 0)
    # On its expiry day it still applies.
    [out], [state] = apply_waivers([finding()], [waiver()], TODAY)
    assert out.waived and state.state == "active"


def test_states_and_counts_over_several_findings() -> None:
    findings = [
        finding(resource_id="nb-1"),
        finding(resource_id="nb-2"),
        finding(Status.PASS, resource_id="nb-3"),
        finding(Status.ERROR, resource_id="nb-4"),
        finding(rule_id="notebook-kms-encryption", resource_id="nb-1"),
    ]
    glob = waiver(resource="nb-*")
    unused = waiver(resource="research-*")
    expired = waiver(resource="nb-2", expires=TODAY - timedelta(days=1))
    out, states = apply_waivers(findings, [expired, glob, unused], TODAY)
    assert [f.waiver["id"] if f.waiver else None for f in out] == [
        glob.id,
        glob.id,
        None,
        None,
        None,
    ]
    assert [(s.waiver.id, s.state, s.matched) for s in states] == [
        (expired.id, "expired", 0),
        (glob.id, "active", 2),
        (unused.id, "unused", 0),
    ]
    assert [f.status for f in out] == [f.status for f in findings]
    assert all(f.waiver is None for f in findings)  # inputs untouched


def test_first_matching_waiver_wins() -> None:
    exact, wide = waiver(), waiver(resource="*")
    [out], states = apply_waivers([finding()], [exact, wide], TODAY)
    assert out.waiver is not None and out.waiver["id"] == exact.id
    assert [(s.state, s.matched) for s in states] == [("active", 1), ("unused", 0)]


def test_waived_fails_do_not_count_toward_fail_on_but_errors_do() -> None:
    def record(findings: list[Finding]) -> RunRecord:
        return RunRecord("r", Snapshot(), findings, "2026-06-15T00:00:00Z", "2026-06-15T00:00:01Z")

    w = waiver(resource="*")
    plain = [finding(resource_id="nb-1"), finding(Status.PASS, resource_id="nb-2")]
    assert record(plain).exit_code is ExitCode.FINDINGS
    waived, _ = apply_waivers(plain, [w], TODAY)
    assert record(waived).exit_code is ExitCode.OK
    assert record(waived).summary()["waived"] == 1
    assert record(waived).summary()["by_status"]["FAIL"] == 1
    with_error, _ = apply_waivers([*plain, finding(Status.ERROR, resource_id="nb-3")], [w], TODAY)
    assert record(with_error).exit_code is ExitCode.INCOMPLETE


def test_waivers_file_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(
        "waivers:\n"
        "  - rule_id: notebook-imdsv2-required\n"
        "    resource: nb\n"
        "    reason: r\n"
        "    owner: o\n"
        "    expires: 2027-01-01\n"
        "    approver: me\n"
    )
    with pytest.raises(InputError) as err:
        load_waivers_file(path)
    assert (err.value.path, err.value.line) == (str(path), 7)
    assert "approver" in err.value.problem and "unknown key" in err.value.problem
    path.write_text("waivers: []\n")
    assert load_waivers_file(path) == []


# -- end to end -----------------------------------------------------------------------


def waiver_yaml(resource: str, expires: date | str, rule_id: str = IMDS, key: str = "") -> str:
    return (
        f"  - rule_id: {rule_id}\n"
        f"    resource: {resource!r}\n"
        "    reason: moto drops the IMDS setting\n"
        "    owner: ml-platform@example.com\n"
        "    ticket: SEC-1234\n"
        f"    expires: {expires}\n" + key
    )


def waived_config(directory: Path, *items: str) -> Path:
    return write_config(directory, "waivers:\n" + "".join(items))


def test_waived_fail_exits_0_and_is_shown_in_every_report(
    aws: Any, moto: MotoServer, store_url: str, tmp_path: Path
) -> None:
    build_baseline(aws)
    plain = write_config(tmp_path / "plain")
    future = date.today() + timedelta(days=30)
    waived = waived_config(tmp_path / "waived", waiver_yaml(NB, future))
    out = tmp_path / "reports"

    without = scan(store_url, plain, out, moto.url, "--fail-on", "medium")
    assert without.returncode == 1, show(without)
    with_waiver = scan(store_url, waived, out, moto.url, "--fail-on", "medium")
    assert with_waiver.returncode == 0, show(with_waiver)
    assert "1 FAIL finding(s) waived" in with_waiver.stdout
    run1, run2 = run_id_of(without), run_id_of(with_waiver)

    doc = findings_json(out, run2)
    [hit] = [f for f in doc["findings"] if (f["rule_id"], f["resource_id"]) == (IMDS, NB)]
    assert hit["status"] == "FAIL" and hit["waived"] is True
    assert hit["waiver"]["owner"] == "ml-platform@example.com"
    assert hit["waiver"]["expires"] == future.isoformat()
    assert hit["waiver"]["ticket"] == "SEC-1234"
    waiver_id = hit["waiver"]["id"]
    assert [f for f in doc["findings"] if f["waived"]] == [hit]
    assert doc["run"]["summary"]["waived"] == 1 and doc["run"]["exit_code"] == 0
    [state] = doc["run"]["waivers"]
    assert (state["id"], state["state"], state["matched"]) == (waiver_id, "active", 1)
    before = findings_json(out, run1)
    assert [f for f in before["findings"] if f["waived"]] == []

    with (run_dir(out, run2) / "findings.csv").open(newline="") as fh:
        rows = {(r["rule_id"], r["resource_id"]): r for r in csv.DictReader(fh)}
    row = rows[IMDS, NB]
    assert row["status"] == "FAIL" and row["waived"] == "true"
    assert json.loads(row["waiver"])["id"] == waiver_id
    assert {r["waived"] for k, r in rows.items() if k != (IMDS, NB)} == {"false"}

    shown = html_findings(run_dir(out, run2) / "report.html")
    [item] = [f for f in shown if (f["rule_id"], f["resource_id"]) == (IMDS, NB)]
    assert item["status"] == "FAIL" and item["waived"] is True
    assert item["waiver"]["id"] == waiver_id
    assert [f["resource_id"] for f in shown if f["waived"]] == [NB]

    # Drift from the run without the waiver to the run with it lists the waiver added.
    drift = cli("drift", "--output", str(tmp_path / "drift"), store=store_url)
    assert drift.returncode == 0, show(drift)
    ddoc = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert (ddoc["from"]["run"], ddoc["to"]["run"]) == (run1, run2)
    assert [(w["id"], w["state"]) for w in ddoc["waivers"]["added"]] == [(waiver_id, "active")]
    assert ddoc["waivers"]["removed"] == ddoc["waivers"]["expired"] == []
    # Waiving changes no finding's status: no transition.
    assert all(ddoc["findings"][k] == [] for k in ("new", "resolved", "regressed"))


@pytest.fixture(scope="module")
def snapshot(moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    a, _ = make_snapshots(moto_server.url, moto_server.reset, tmp_path_factory.mktemp("snaps"))
    return a


def offline(config: Path, snap: Path, out: Path, store: str) -> subprocess.CompletedProcess[str]:
    return cli("scan", "--snapshot", str(snap), "--output", str(out), store=store, config=config)


def test_expired_and_unused_waivers_are_reported(snapshot: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.db'}"
    out = tmp_path / "reports"
    yesterday = date.today() - timedelta(days=1)
    future = date.today() + timedelta(days=30)
    # The expired waiver comes first: were expiry ignored, it would be the one applied.
    config = waived_config(
        tmp_path / "cfg",
        waiver_yaml("n?", yesterday),
        waiver_yaml(NB, future),
        waiver_yaml("research-*", future, rule_id="notebook-kms-encryption"),
    )
    proc = offline(config, snapshot, out, store)
    assert proc.returncode == 0, show(proc)
    doc = findings_json(out, run_id_of(proc))
    states = {w["resource"]: (w["state"], w["matched"]) for w in doc["run"]["waivers"]}
    assert states == {"n?": ("expired", 0), NB: ("active", 1), "research-*": ("unused", 0)}
    ids = {w["resource"]: w["id"] for w in doc["run"]["waivers"]}
    [hit] = [f for f in doc["findings"] if f["waived"]]
    assert hit["waiver"]["id"] == ids[NB]
    assert f"waiver expired {ids['n?']}" in proc.stdout
    assert f"expired {yesterday.isoformat()}): no longer applied" in proc.stdout
    assert f"waiver unused {ids['research-*']}" in proc.stdout
    assert f"waiver active {ids[NB]}" not in proc.stdout
    assert "is expired" in proc.stderr and "is unused" in proc.stderr  # the log lines too

    listed = cli("waivers", "list", store=store, config=config)
    assert listed.returncode == 0, show(listed)
    by_id = {line.split()[1]: line.split()[0] for line in listed.stdout.splitlines()}
    assert by_id == {ids["n?"]: "expired", ids[NB]: "active", ids["research-*"]: "unused"}

    # Alone, the expired waiver waives nothing: the FAIL counts again.
    only_expired = waived_config(tmp_path / "cfg2", waiver_yaml(NB, yesterday))
    again = offline(only_expired, snapshot, out, store)
    assert again.returncode == 1, show(again)
    assert "waiver expired" in again.stdout
    assert [f for f in findings_json(out, run_id_of(again))["findings"] if f["waived"]] == []


BAD_WAIVERS = {
    # name: (waiver text, line of the problem relative to the waiver's first line, needle)
    "missing_expires": (
        "  - rule_id: notebook-imdsv2-required\n    resource: nb\n    reason: r\n    owner: o\n",
        0,
        "expires: Field required",
    ),
    "impossible_date": (
        "  - rule_id: notebook-imdsv2-required\n    resource: nb\n    reason: r\n    owner: o\n"
        "    expires: 2026-13-45\n",
        4,
        "month must be in 1..12",
    ),
    "unknown_key": (
        "  - rule_id: notebook-imdsv2-required\n    resource: nb\n    reason: r\n    owner: o\n"
        "    expires: 2027-01-01\n    approver: me\n",
        5,
        "approver: unknown key",
    ),
}


def test_malformed_waivers_exit_2_naming_file_and_line(snapshot: Path, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'history.db'}"
    out = tmp_path / "reports"
    for name, (text, offset, needle) in BAD_WAIVERS.items():
        # In config.yaml, after the test config's lines and "waivers:".
        inline = waived_config(tmp_path / f"inline-{name}", text)
        first = len(inline.read_text().splitlines()) - len(text.splitlines()) + 1
        # In a waivers_file, after "waivers:".
        wfile = tmp_path / f"file-{name}" / "waivers.yaml"
        wfile.parent.mkdir()
        wfile.write_text("waivers:\n" + text)
        by_file = write_config(wfile.parent, "waivers_file: waivers.yaml\n")
        for config, path, line in (
            (inline, inline, first + offset),
            (by_file, wfile, 2 + offset),
        ):
            proc = offline(config, snapshot, out, store)
            assert proc.returncode == 2, (name, show(proc))
            assert "Traceback" not in proc.stderr
            [message] = proc.stderr.strip().splitlines()
            assert message.startswith("error: "), (name, message)
            where = message.removeprefix("error: ").split(": ", 1)[0]
            assert Path(where.split(":")[0]).resolve() == path.resolve(), (name, message)
            assert where.split(":")[1] == str(line), (name, message, line)
            assert needle in message, (name, message)
    # `waivers list` refuses the same file the same way.
    listed = cli("waivers", "list", config=by_file, store=store)
    assert listed.returncode == 2 and f"{wfile}:" in listed.stderr, show(listed)
    assert "Traceback" not in listed.stderr
    # Refused before the store was opened or anything was collected or reported.
    assert not (tmp_path / "history.db").exists()
    assert not out.exists()
