"""The nightly cycle's ticket sync: ``scanner schedule --once`` with a ``tickets:`` section.

The cycle scans moto's empty account (see :mod:`tests.test_schedule_once`: a FAIL at high
severity and one at medium) and then syncs a fake Jira Cloud to that run.  What reaches
Jira is compared with the run's own ``findings.json``; a plain ``scanner scan`` with the
same config must not touch a ticket, and a target that is down makes the cycle exit 3.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from scanner.demo.server import MotoServer
from scanner.model.finding import Severity, at_or_above
from scanner.tickets.problems import problem_label
from tests.clikit import run_cli
from tests.historykit import show, sql
from tests.schedulekit import schedule_config
from tests.test_schedule_once import NEVER, once
from tests.ticketfakes import FakeJira
from tests.ticketkit import JiraRemote

ISSUES = r"/rest/api/3/issue"


def nightly_config(tmp_path: Path, jira: JiraRemote) -> Path:
    """The schedule test config (exit 0 unless something critical fails) syncing to Jira
    the FAILs at high severity or above."""
    tickets = {"tickets": {"min_severity": "high", "targets": [jira.target("sec-jira")]}}
    extra = "fail_on: critical\n" + yaml.safe_dump(tickets, sort_keys=False)
    return schedule_config(tmp_path, cron=NEVER, extra=extra)


def latest_findings(tmp_path: Path) -> list[dict[str, Any]]:
    """The findings of the run ``reports/latest`` points at."""
    doc = json.loads((tmp_path / "reports" / "latest" / "findings.json").read_text())
    findings: list[dict[str, Any]] = doc["findings"]
    return findings


def issue_labels(fake: FakeJira) -> list[str]:
    """The problem label of every issue in Jira (one each)."""
    with fake.lock:
        return sorted(
            label for i in fake.issues.values() for label in i.labels if label.startswith("plscan-")
        )


def log_lines(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_a_cycle_opens_one_issue_per_fail_at_min_severity_and_the_next_one_none(
    moto: MotoServer, jira: JiraRemote, tmp_path: Path
) -> None:
    config = nightly_config(tmp_path, jira)
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"

    first = once(config, moto.url)
    assert first.returncode == 0, show(first)
    findings = latest_findings(tmp_path)
    fails = [f for f in findings if f["status"] == "FAIL" and not f["waived"]]
    wanted = sorted(
        problem_label(f["fingerprint"])
        for f in fails
        if at_or_above(Severity(f["severity"]), Severity.HIGH)
    )
    assert wanted, "the account has no FAIL at high or above: nothing to ticket"
    assert len(wanted) < len(fails), "every FAIL is at high or above: min_severity untested"
    assert issue_labels(jira.fake) == wanted  # exactly one issue per wanted FAIL
    assert jira.fake.count("POST", ISSUES) == len(wanted)
    [finished] = [x for x in log_lines(first.stderr) if x["msg"] == "cycle finished"]
    assert finished["tickets"] == {"sec-jira": True}

    second = once(config, moto.url)
    assert second.returncode == 0, show(second)
    assert latest_findings(tmp_path) != [] and issue_labels(jira.fake) == wanted
    assert jira.fake.count("POST", ISSUES) == len(wanted)  # no create was even tried
    assert sql(store, "SELECT count(DISTINCT run_id), count(*) FROM ticket_syncs") == [(2, 2)]

    # A plain scan with the same config scans and stores, and leaves tickets alone.
    requests = len(jira.fake.requests)
    ledger = sql(store, "SELECT * FROM ticket_ledger ORDER BY fingerprint")
    scan = run_cli("scan", "--config", str(config), env={"AWS_ENDPOINT_URL": moto.url})
    assert scan.returncode == 0, show(scan)
    assert sql(store, "SELECT count(*) FROM runs") == [(3,)]
    assert len(jira.fake.requests) == requests
    assert sql(store, "SELECT * FROM ticket_ledger ORDER BY fingerprint") == ledger
    assert sql(store, "SELECT count(*) FROM ticket_syncs") == [(2,)]


def test_a_cycle_whose_ticket_target_is_down_exits_3_naming_it(
    moto: MotoServer, jira: JiraRemote, tmp_path: Path
) -> None:
    config = nightly_config(tmp_path, jira)
    jira.fake.fail_next("*", r".*", status=503, times=1_000)
    proc = once(config, moto.url)
    assert proc.returncode == 3, show(proc)
    assert jira.fake.requests, "the cycle never tried Jira"
    assert jira.fake.issues == {}
    lines = log_lines(proc.stderr)
    failed = [x for x in lines if x.get("target") == "sec-jira" and x["level"] == "error"]
    assert failed and "sec-jira" in failed[0]["msg"] and "503" in failed[0]["msg"], show(proc)
    [finished] = [x for x in lines if x["msg"] == "cycle finished"]
    assert finished["tickets"] == {"sec-jira": False}
    assert finished["exit_code"] == 3
    # the scan itself was whole: only the ticket sync failed
    assert finished["status"] == "complete"
    assert (tmp_path / "reports" / "latest" / "findings.json").is_file()
    # and the operator reading --once's own output is told, not only the log
    assert "ticket target sec-jira failed:" in proc.stderr
