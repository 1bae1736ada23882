"""``scanner tickets sync|list`` as users run it: the real CLI in a subprocess.

The runs are seeded in-process (:mod:`tests.ticketruns`) into a SQLite store file; an
earlier sync that a test needs as its starting point runs in-process too (it is not the
subject).  Everything under test is the CLI against local fakes of Jira and GitHub
(:mod:`tests.ticketfakes`): exit statuses, what it prints, what the fakes received and what
the ledger holds afterwards (read with ``scanner tickets list`` or plain SQL).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.config import load_config
from scanner.history.store import Store
from scanner.model.finding import Finding, Severity, Status
from scanner.tickets import SyncReport, sync
from scanner.tickets.ledger import all_rows
from scanner.tickets.problems import problem_label
from tests.historykit import cli, show, sql
from tests.ticketfakes import FakeJira
from tests.ticketkit import GitHubRemote, JiraRemote
from tests.ticketruns import Check, config_dict, write_run

A = Check("notebook-direct-internet-access-disabled", "nb-a")
B = Check("notebook-root-access-disabled", "nb-b")
C = Check("notebook-in-vpc", "nb-c", severity=Severity.CRITICAL)


def label(check: Check) -> str:
    return problem_label(check.finding(Status.FAIL).fingerprint)


# -- helpers ------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    """The URL of a SQLite store file (created, with its schema, on first open)."""
    return f"sqlite:///{tmp_path / 'history.db'}"


def seed(store: str, *nights: tuple[str, list[Finding]]) -> None:
    """Store one run per (run id, findings), night 1, 2, ... in order."""
    with Store.open(store) as st:
        for day, (run_id, findings) in enumerate(nights, start=1):
            write_run(st, run_id, day, findings)


def write_config(
    tmp_path: Path, targets: list[dict[str, Any]], name: str = "tickets.yaml", **tickets: Any
) -> Path:
    """A config file with this ``tickets:`` section (min_severity high)."""
    doc = {"output": {"dir": str(tmp_path / "reports")}, **config_dict(targets, **tickets)}
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def sync_in_process(config: Path, store: str, **kw: Any) -> SyncReport:
    """A real sync, in this process (the starting point of a test, not its subject)."""
    with Store.open(store) as st, st.writing():
        report = sync(load_config(config), st, **kw)
    assert report.ok, report.to_dict()
    return report


def a_fixed_on_night_2(config: Path, store: str) -> None:
    """Night 1: A and B fail (synced); night 2: A passes (synced: A's ticket closes)."""
    seed(store, ("n1", [A.finding(Status.FAIL), B.finding(Status.FAIL)]))
    sync_in_process(config, store)
    with Store.open(store) as st:
        write_run(st, "n2", 2, [A.finding(Status.PASS), B.finding(Status.FAIL)])
    sync_in_process(config, store)


def line_of(path: Path, text: str) -> int:
    """The 1-based line of ``path`` that is ``text`` once stripped."""
    lines = [raw.strip() for raw in path.read_text().splitlines()]
    assert lines.count(text) == 1, f"{text!r} is not on exactly one line of {path}"
    return lines.index(text) + 1


def ledger_tables(store: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the ledger and of the sync log, as plain SQL reads them."""
    return {
        table: sql(store, f"SELECT * FROM {table} ORDER BY 1, 2")
        for table in ("ticket_ledger", "ticket_syncs")
    }


def ledger_rows(store: str) -> list[dict[str, Any]]:
    """The ledger as ``scanner tickets list --format json`` shows it, read in-process (where
    the listing itself is not what a test is about: a subprocess costs a second or two)."""
    with Store.open(store) as st:
        return [row.to_dict() for row in all_rows(st)]


def listed(store: str, config: Path, *args: str) -> list[dict[str, Any]]:
    """``scanner tickets list --format json ARGS`` (asserting it worked)."""
    proc = cli("tickets", "list", "--format", "json", *args, store=store, config=config)
    assert proc.returncode == 0, show(proc)
    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    return rows


VERBS = ("create", "create-or-adopt", "adopt", "wait", "forget", "update", "close", "reopen")


def planned(proc: subprocess.CompletedProcess[str]) -> list[list[str]]:
    """The action lines of a text sync report: [verb, ticket, rule id, resource id]."""
    lines = [line.split() for line in proc.stdout.splitlines() if line.startswith("  ")]
    return sorted(words[:4] for words in lines if words and words[0] in VERBS)


def jira_keys(fake: FakeJira, check: Check) -> list[str]:
    return [issue.key for issue in fake.by_label(label(check))]


def no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in proc.stderr, show(proc)


# -- 1. --dry-run -------------------------------------------------------------------------


def test_dry_run_lists_the_close_and_the_create_and_changes_nothing(
    jira: JiraRemote, store: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [jira.target("sec-jira")])
    seed(store, ("n1", [A.finding(Status.FAIL), B.finding(Status.FAIL)]))
    sync_in_process(config, store)
    [a_key] = jira_keys(jira.fake, A)
    [b_key] = jira_keys(jira.fake, B)
    # Night 2: A is fixed, B still fails unchanged, C is new.
    night2 = [A.finding(Status.PASS), B.finding(Status.FAIL), C.finding(Status.FAIL)]
    with Store.open(store) as st:
        write_run(st, "n2", 2, night2)

    before = ledger_rows(store)
    assert [(r["resource_id"], r["state"]) for r in before] == [("nb-a", "open"), ("nb-b", "open")]
    tables = ledger_tables(store)
    requests = len(jira.fake.requests)
    proc = cli("tickets", "sync", "--dry-run", store=store, config=config)
    assert proc.returncode == 0, show(proc)

    assert len(jira.fake.requests) == requests, [r.path for r in jira.fake.requests[requests:]]
    assert listed(store, config) == before
    assert ledger_tables(store) == tables  # no row, no last-seen run, no sync record
    assert jira_keys(jira.fake, C) == []
    assert jira.fake.status_of(a_key) != "Done"

    assert proc.stdout.startswith("run n2: would sync 1 target(s)"), show(proc)
    assert planned(proc) == [
        ["close", a_key, A.rule_id, A.resource_id],
        ["create", "-", C.rule_id, C.resource_id],
    ], show(proc)
    assert b_key not in proc.stdout  # unchanged: no action

    # What it listed is what a real sync then does.
    report = sync_in_process(config, store)
    assert report.results[0].counts == {"closed": 1, "created": 1, "unchanged": 1}
    assert jira.fake.status_of(a_key) == "Done"
    assert len(jira_keys(jira.fake, C)) == 1


# -- 2. one of two targets fails ----------------------------------------------------------


def test_exit_3_names_the_failed_target_while_the_other_syncs_then_0(
    jira: JiraRemote,
    github: GitHubRemote,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = write_config(tmp_path, [jira.target("sec-jira"), github.target("sec-gh")])
    seed(store, ("n1", [A.finding(Status.FAIL), C.finding(Status.FAIL)]))
    monkeypatch.setenv("GH_TOKEN", "not-the-gh-token")  # GitHub answers 401 Bad credentials

    failed = cli("tickets", "sync", store=store, config=config)
    assert failed.returncode == 3, show(failed)
    assert "ticket sync failed for: sec-gh\n" in failed.stderr, show(failed)
    assert "401" in failed.stderr
    no_traceback(failed)
    assert (len(jira_keys(jira.fake, A)), len(jira_keys(jira.fake, C))) == (1, 1)
    assert github.fake.issues == {}
    assert github.fake.requests  # it was tried, and refused
    rows = {(r["target"], r["resource_id"]): r["state"] for r in ledger_rows(store)}
    assert rows == {("sec-jira", "nb-a"): "open", ("sec-jira", "nb-c"): "open"}

    monkeypatch.setenv("GH_TOKEN", github.fake.bearer or "")
    fixed = cli("tickets", "sync", store=store, config=config)
    assert fixed.returncode == 0, show(fixed)
    assert "failed" not in fixed.stderr
    assert len(github.fake.by_label(github.repo, label(A))) == 1
    assert len(github.fake.by_label(github.repo, label(C))) == 1
    assert (len(jira_keys(jira.fake, A)), len(jira_keys(jira.fake, C))) == (1, 1)  # no dupes


# -- 3. --target --------------------------------------------------------------------------


def test_target_option_syncs_only_that_target_and_an_unknown_one_is_exit_2(
    jira: JiraRemote, github: GitHubRemote, store: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [jira.target("sec-jira"), github.target("sec-gh")])
    seed(store, ("n1", [A.finding(Status.FAIL)]))

    only = cli("tickets", "sync", "--target", "sec-gh", store=store, config=config)
    assert only.returncode == 0, show(only)
    assert len(github.fake.by_label(github.repo, label(A))) == 1
    assert jira.fake.requests == []
    assert {r["target"] for r in ledger_rows(store)} == {"sec-gh"}

    gh_requests = len(github.fake.requests)
    unknown = cli("tickets", "sync", "--target", "sec-jiraa", store=store, config=config)
    assert unknown.returncode == 2, show(unknown)
    assert "'sec-jiraa'" in unknown.stderr and "targets: sec-gh, sec-jira" in unknown.stderr
    assert "<input>" not in unknown.stderr  # no file to point at, so none is pretended
    no_traceback(unknown)
    assert jira.fake.requests == [] and len(github.fake.requests) == gh_requests


# -- 4. configuration errors --------------------------------------------------------------


def test_no_targets_is_exit_2_with_a_clear_message(store: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, [])
    seed(store, ("n1", [A.finding(Status.FAIL)]))
    proc = cli("tickets", "sync", store=store, config=config)
    assert proc.returncode == 2, show(proc)
    assert "no ticket targets configured" in proc.stderr and "tickets:" in proc.stderr
    no_traceback(proc)


def test_an_unset_token_variable_is_exit_2_before_anything_is_sent(
    jira: JiraRemote,
    github: GitHubRemote,
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The second target's token is missing: the first one (whose credentials are fine)
    gets nothing either, and nothing is reserved in the ledger."""
    monkeypatch.delenv("PLS_NO_SUCH_GH_TOKEN", raising=False)
    gh = {**github.target("sec-gh"), "token_env": "PLS_NO_SUCH_GH_TOKEN"}
    config = write_config(tmp_path, [jira.target("sec-jira"), gh])
    line = line_of(config, "token_env: PLS_NO_SUCH_GH_TOKEN")
    seed(store, ("n1", [A.finding(Status.FAIL)]))
    proc = cli("tickets", "sync", store=store, config=config)
    assert proc.returncode == 2, show(proc)
    assert (
        f"{config}:{line}: tickets.targets.1.token_env: environment variable "
        "PLS_NO_SUCH_GH_TOKEN is not set"
    ) in proc.stderr, show(proc)
    no_traceback(proc)
    assert jira.fake.requests == [] and github.fake.requests == []
    assert ledger_tables(store) == {"ticket_ledger": [], "ticket_syncs": []}


def test_an_inline_token_is_exit_2_naming_file_and_line(
    jira: JiraRemote, store: str, tmp_path: Path
) -> None:
    target = {**jira.target("sec-jira"), "token": "abc-inline-token"}
    del target["token_env"]
    config = write_config(tmp_path, [target])
    line = line_of(config, "token: abc-inline-token")
    first = line_of(config, "- name: sec-jira")
    seed(store, ("n1", [A.finding(Status.FAIL)]))
    proc = cli("tickets", "sync", store=store, config=config)
    assert proc.returncode == 2, show(proc)
    where = re.search(rf"{re.escape(str(config))}:(\d+)", proc.stderr)
    assert where is not None, show(proc)
    assert first <= int(where[1]) <= line, show(proc)  # the target, or its token line
    assert "token_env" in proc.stderr  # says what to use instead
    assert "abc-inline-token" not in proc.stderr + proc.stdout
    no_traceback(proc)
    assert jira.fake.requests == []


# -- 5. config check ----------------------------------------------------------------------


def test_config_check_lists_ticket_secrets_set_and_not_set(
    jira: JiraRemote,
    github: GitHubRemote,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PLS_NO_SUCH_GH_TOKEN", raising=False)
    gh = {**github.target("sec-gh"), "token_env": "PLS_NO_SUCH_GH_TOKEN"}
    config = write_config(tmp_path, [jira.target("sec-jira"), gh])
    proc = cli("config", "check", str(config), "--format", "json", store=None)
    assert proc.returncode == 2, show(proc)
    doc = json.loads(proc.stdout)
    secrets = {s["key"]: (s["target"], s["reference"], s["status"]) for s in doc["secrets"]}
    assert secrets == {
        "tickets.targets.0.user_env": ("sec-jira", "JIRA_USER", "set"),
        "tickets.targets.0.token_env": ("sec-jira", "JIRA_TOKEN", "set"),
        "tickets.targets.1.token_env": ("sec-gh", "PLS_NO_SUCH_GH_TOKEN", "NOT SET"),
    }
    assert doc["valid"] is False
    assert any("PLS_NO_SUCH_GH_TOKEN" in p for p in doc["problems"]), doc["problems"]
    # the values themselves are never printed
    assert jira.env["JIRA_TOKEN"] not in proc.stdout + proc.stderr


# -- 6. --run of an older run -------------------------------------------------------------


def test_sync_of_an_older_run_than_last_synced_is_refused_but_dry_run_is_allowed(
    jira: JiraRemote, store: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [jira.target("sec-jira")])
    a_fixed_on_night_2(config, store)
    [a_key] = jira_keys(jira.fake, A)
    assert jira.fake.status_of(a_key) == "Done"
    requests, tables = len(jira.fake.requests), ledger_tables(store)

    refused = cli("tickets", "sync", "--run", "n1", store=store, config=config)
    assert refused.returncode == 2, show(refused)
    assert "run n1 is older than run n2" in refused.stderr, show(refused)
    assert "<input>" not in refused.stderr
    assert "'sec-jira'" in refused.stderr and "--dry-run" in refused.stderr
    no_traceback(refused)

    dry = cli("tickets", "sync", "--run", "n1", "--dry-run", store=store, config=config)
    assert dry.returncode == 0, show(dry)
    assert dry.stdout.startswith("run n1: would sync 1 target(s)"), show(dry)
    assert planned(dry) == [["reopen", a_key, A.rule_id, A.resource_id]], show(dry)

    assert len(jira.fake.requests) == requests
    assert ledger_tables(store) == tables
    assert jira.fake.status_of(a_key) == "Done"


# -- 7. no secret in any output -----------------------------------------------------------

USER, TOKEN = "scanner-user-XYZ", "tok-SECRET-1234567"


def test_credentials_appear_in_no_output_even_when_the_server_echoes_them(
    jira_server: Callable[..., FakeJira],
    store: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = jira_server(api_version=3, basic=(USER, TOKEN))
    pair = base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    # The first create is refused by a front end that quotes the request's credentials.
    echo = {"errorMessages": [f"rejected Authorization: Basic {pair} (token {TOKEN})"]}
    fake.fail_next("POST", r"/rest/api/3/issue", status=401, body=json.dumps(echo).encode())
    remote = JiraRemote(fake, 3)
    monkeypatch.setenv("JIRA_USER", USER)
    monkeypatch.setenv("JIRA_TOKEN", TOKEN)
    config = write_config(tmp_path, [remote.target("sec-jira")])
    seed(store, ("n1", [A.finding(Status.FAIL), B.finding(Status.FAIL)]))

    proc = cli("tickets", "sync", "--log-format", "json", "-v", store=store, config=config)
    assert proc.returncode == 3, show(proc)
    # The credentials were in play: sent on every request, quoted back once ...
    assert fake.requests and all(
        r.headers.get("authorization") == f"Basic {pair}" for r in fake.requests
    )
    assert len(fake.issues) == 1
    # ... and the failure was reported, with the server's words, but without them.
    assert "HTTP 401" in proc.stderr and "rejected Authorization" in proc.stderr, show(proc)
    assert any('"level": "debug"' in line or '"DEBUG"' in line for line in proc.stderr.splitlines())
    for output in (proc.stdout, proc.stderr):
        assert TOKEN not in output, show(proc)
        assert pair not in output, show(proc)
        assert f"{USER}:{TOKEN}" not in output


# -- 8. tickets list ----------------------------------------------------------------------


def test_list_state_open_shows_the_open_rows_with_their_ticket_keys(
    jira: JiraRemote, store: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path, [jira.target("sec-jira")])
    a_fixed_on_night_2(config, store)
    states = {r["resource_id"]: r["state"] for r in ledger_rows(store)}
    assert states == {"nb-a": "closed", "nb-b": "open"}  # so the filter has one to drop

    rows = listed(store, config, "--state", "open")
    [b_key] = jira_keys(jira.fake, B)
    assert [
        (r["target"], r["state"], r["ticket_key"], r["rule_id"], r["resource_id"]) for r in rows
    ] == [("sec-jira", "open", b_key, B.rule_id, B.resource_id)]
    assert rows[0]["ticket_url"] == f"{jira.fake.url}/browse/{b_key}"
    assert rows[0]["last_seen_run"] == "n2"
