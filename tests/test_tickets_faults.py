"""Ticket sync under faults: a kill between create and ledger write, timeouts, 429 and
5xx, a target that stays down, a ticket the service refuses, a person closing a ticket.

Every test ends by counting tickets per problem on the server: whatever happened in
between, each problem has exactly one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from scanner.config import Config
from scanner.history.store import Store
from scanner.model.finding import Status
from scanner.tickets import SyncReport, sync
from scanner.tickets.ledger import all_rows
from scanner.tickets.problems import problem_label
from tests.ticketfakes import FakeGitHub, FakeJira, FakeServiceNow
from tests.ticketkit import GitHubRemote, JiraRemote, Remote, ServiceNowRemote
from tests.ticketruns import Check, config_dict, write_run

A = Check("notebook-direct-internet-access-disabled", "nb-a")
B = Check("notebook-root-access-disabled", "nb-b")
C = Check("notebook-in-vpc", "nb-c")


SETTLE = 3.0
"""Long against the index lag (1 s), so a slow machine still sees the sync wait first."""


def label(check: Check) -> str:
    return problem_label(check.finding(Status.FAIL).fingerprint)


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "history.db"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{store_path}") as opened:
        yield opened


def configure(
    remote: Remote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **kw: object
) -> Config:
    for key, value in remote.env.items():
        monkeypatch.setenv(key, value)
    target = {**remote.target("t1"), **kw}
    return Config(**config_dict([target]), base_dir=str(tmp_path))


def run_sync(config: Config, store: Store) -> SyncReport:
    with store.writing():
        return sync(config, store)


def jira_counts(fake: FakeJira, *checks: Check) -> list[int]:
    return [len(fake.by_label(label(c))) for c in checks]


# -- the kill ---------------------------------------------------------------------------


def test_kill_between_create_and_ledger_write_is_adopted_not_duplicated(
    jira_server: Callable[..., FakeJira],
    store: Store,
    store_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SIGKILL while Jira holds the create's response: the issue exists, the ledger row is
    still ``creating``.  Jira Cloud's search lags its writes (index_lag), so the next sync
    within ``settle_seconds`` waits instead of creating; once settled it finds the issue by
    its label and adopts it.  One issue, never two."""
    fake = jira_server(api_version=3, index_lag=1.0)
    remote = JiraRemote(fake, 3)
    config = configure(remote, tmp_path, monkeypatch, settle_seconds=SETTLE)
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude={"base_dir"})))

    arrived = fake.hold_next("POST", "/rest/api/3/issue")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scanner",
            "tickets",
            "sync",
            "--config",
            str(config_file),
            "--store",
            f"sqlite:///{store_path}",
        ],
        env={**os.environ, **remote.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert arrived.wait(60), "the sync never sent its create"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        fake.release()
    assert jira_counts(fake, A) == [1]
    [row] = all_rows(store)
    assert (row.state, row.ticket) == ("creating", None)

    waited = run_sync(config, store)
    assert waited.ok and waited.results[0].counts.get("waiting") == 1
    assert [a["action"] for a in waited.results[0].actions] == ["wait"]
    assert jira_counts(fake, A) == [1]

    # Past settle_seconds (counted from the reservation), and so past the index lag.
    age = (datetime.now(UTC) - row.reserved_at).total_seconds()
    time.sleep(max(0.0, SETTLE - age) + 0.1)
    adopted = run_sync(config, store)
    assert adopted.ok, adopted.to_dict()
    assert adopted.results[0].counts.get("adopted") == 1
    assert "created" not in adopted.results[0].counts
    [row] = all_rows(store)
    assert row.state == "open" and row.ticket is not None
    assert row.ticket.key == fake.by_label(label(A))[0].key
    assert jira_counts(fake, A) == [1]


# -- timeouts, 429, 5xx ------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["servicenow", "github"])
def test_create_timed_out_after_the_server_made_it_is_adopted(
    kind: str,
    servicenow_server: Callable[..., FakeServiceNow],
    github_server: Callable[..., FakeGitHub],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server creates the ticket but answers after the client's timeout: the create is
    uncertain (never retried blindly), the target is reported failed, and the next sync
    finds the ticket and adopts it."""
    remote: Remote
    if kind == "servicenow":
        sn = servicenow_server()
        remote, path = ServiceNowRemote(sn), "/api/now/table/incident"
        sn.delay_next("POST", path, 1.5)
    else:
        gh = github_server()
        remote, path = GitHubRemote(gh), "/repos/acme/security/issues"
        gh.delay_next("POST", path, 1.5)
    config = configure(remote, tmp_path, monkeypatch, timeout=0.5)
    write_run(store, "n1", 1, [A.finding(Status.FAIL), B.finding(Status.FAIL)])
    first = run_sync(config, store)
    assert not first.ok
    assert "no response within 0.5s" in first.results[0].errors[0]
    assert first.results[0].counts.get("uncertain") == 1
    # The timed-out create failed; the service is down for this sync, so the rest waits.
    assert [a["outcome"] for a in first.results[0].actions] == ["failed", "not reached"]
    time.sleep(1.2)  # the held response is sent; the ticket exists
    second = run_sync(config, store)
    assert second.ok, second.to_dict()
    counts = second.results[0].counts
    assert (counts.get("adopted"), counts.get("created")) == (1, 1)
    assert remote.tickets(label(A)) == ["open"] and remote.tickets(label(B)) == ["open"]
    assert {r.state for r in all_rows(store)} == {"open"}


def test_429_with_retry_after_and_5xx_are_retried_within_one_sync(
    jira_server: Callable[..., FakeJira],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 429 on the create (refused, so safe to repeat) honours Retry-After; a 503 twice on
    the transition (repeatable) is retried; the sync succeeds with one issue."""
    fake = jira_server(api_version=2)
    config = configure(JiraRemote(fake, 2), tmp_path, monkeypatch)
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    fake.fail_next("POST", "/rest/api/2/issue", status=429, retry_after="1")
    started = time.monotonic()
    assert run_sync(config, store).ok
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured, not ignored
    assert fake.count("POST", "/rest/api/2/issue") == 2
    assert jira_counts(fake, A) == [1]

    write_run(store, "n2", 2, [A.finding(Status.PASS)])
    fake.fail_next("POST", r"/rest/api/2/issue/SEC-\d+/transitions", status=503, times=2)
    assert run_sync(config, store).ok
    assert fake.count("POST", r"/rest/api/2/issue/SEC-\d+/transitions") == 3
    assert [fake.status_of(i.key) for i in fake.by_label(label(A))] == ["Done"]


def test_a_target_that_stays_down_leaves_the_ledger_consistent_and_catches_up(
    github_server: Callable[..., FakeGitHub],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = github_server()
    remote = GitHubRemote(fake)
    config = configure(remote, tmp_path, monkeypatch)
    write_run(store, "n1", 1, [A.finding(Status.FAIL), B.finding(Status.FAIL)])
    fake.fail_next("*", ".*", status=503, times=1000)
    down = run_sync(config, store)
    assert not down.ok and "503" in down.results[0].errors[0]
    assert fake.issues == {}
    # Four tries of the listing (the first and 3 retries), then the target's sync stops.
    assert fake.count("GET", ".*") == 4
    assert fake.count("POST", ".*") == 0
    assert all_rows(store) == []

    fake.recover()
    up = run_sync(config, store)
    assert up.ok, up.to_dict()
    assert remote.tickets(label(A)) == ["open"] and remote.tickets(label(B)) == ["open"]


def test_a_create_the_service_refuses_is_not_left_reserved(
    jira_server: Callable[..., FakeJira],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 400 (here an unknown component) certainly created nothing: the reservation goes,
    the error names the field, the other problems are still tried, the target fails."""
    fake = jira_server(api_version=3)
    config = configure(JiraRemote(fake, 3), tmp_path, monkeypatch, components=["Nope"])
    write_run(store, "n1", 1, [A.finding(Status.FAIL), B.finding(Status.FAIL)])
    report = run_sync(config, store)
    assert not report.ok
    assert len(report.results[0].errors) == 2
    assert "HTTP 400" in report.results[0].errors[0] and "components" in report.results[0].errors[0]
    assert all_rows(store) == [] and fake.issues == {}
    assert [a["outcome"] for a in report.results[0].actions] == ["failed", "failed"]


# -- people and workflows --------------------------------------------------------------


def test_a_ticket_closed_by_a_person_while_still_failing_is_reopened(
    jira_server: Callable[..., FakeJira],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closing the ticket is not a fix (a waiver accepts a risk): the next sync, reading
    the issue's status through the reconciled search, reopens the same issue."""
    fake = jira_server(api_version=3, index_lag=5.0)
    config = configure(JiraRemote(fake, 3), tmp_path, monkeypatch)
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    assert run_sync(config, store).ok
    [issue] = fake.by_label(label(A))
    fake.set_status(issue.key, "Done")  # within the index lag: only reconcile shows it
    write_run(store, "n2", 2, [A.finding(Status.FAIL)])
    report = run_sync(config, store)
    assert report.ok and report.results[0].counts.get("reopened") == 1
    assert [(i.key, fake.status_of(i.key)) for i in fake.by_label(label(A))] == [
        (issue.key, "To Do")
    ]
    search = [r for r in fake.requests if r.path.endswith("/search/jql")][-1]
    assert search.json()["reconcileIssues"] == [int(issue.id)]


def test_a_missing_transition_is_reported_and_the_others_go_on(
    jira_server: Callable[..., FakeJira],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = jira_server(api_version=3)
    config = configure(JiraRemote(fake, 3), tmp_path, monkeypatch, done_transition="Resolve")
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    assert run_sync(config, store).ok
    write_run(store, "n2", 2, [A.finding(Status.PASS), B.finding(Status.FAIL)])
    report = run_sync(config, store)
    assert not report.ok
    [error] = report.results[0].errors
    assert "no transition named 'Resolve' from status 'To Do'" in error
    assert "'Done'" in error  # the available ones are listed
    assert jira_counts(fake, A, B) == [1, 1]
    rows = {r.remembered.resource_id: r for r in all_rows(store)}
    assert rows["nb-a"].state == "open" and "Resolve" in (rows["nb-a"].last_error or "")
    assert rows["nb-b"].state == "open"


def test_a_2xx_that_is_not_json_leaves_the_create_uncertain_then_it_is_made_once(
    github_server: Callable[..., FakeGitHub],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proxy answering 200 with an HTML page: the sync neither crashes nor assumes the
    create failed; the next sync searches first, finds nothing, creates it once."""
    fake = github_server()
    remote = GitHubRemote(fake)
    config = configure(remote, tmp_path, monkeypatch)
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    fake.fail_next("POST", "/repos/acme/security/issues", status=200, body=b"<html>login</html>")
    first = run_sync(config, store)
    assert not first.ok and "not JSON" in first.results[0].errors[0]
    assert [r.state for r in all_rows(store)] == ["creating"]
    second = run_sync(config, store)
    assert second.ok and second.results[0].counts.get("created") == 1
    assert remote.tickets(label(A)) == ["open"]


def test_a_csv_directory_that_cannot_be_written_fails_that_target_only(
    github: GitHubRemote, store: Store, tmp_path: Path
) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the directory should be")
    targets = [
        {"name": "csv", "kind": "jira-csv", "project": "SEC", "dir": str(blocked)},
        github.target("gh"),
    ]
    config = Config(**config_dict(targets), base_dir=str(tmp_path))
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    report = run_sync(config, store)
    by_name = {r.name: r for r in report.results}
    assert not by_name["csv"].ok and "not-a-dir" in by_name["csv"].errors[0]
    assert by_name["gh"].ok and github.tickets(label(A)) == ["open"]
