"""Ticket lifecycle on every kind of target: appear, persist, fixed, back again.

Each test drives a sequence of seeded nightly runs (:mod:`tests.ticketruns`) through
``sync`` against a local server implementing the target's documented API (or a webhook
receiver, or CSV files), and asserts the exact number of tickets per problem and their
states after every night.  The problems:

- ``A`` fails, is fixed (PASS), comes back: one ticket, closed then reopened;
- ``B`` fails, then its data cannot be collected (ERROR: the ticket stays open), then its
  notebook is deleted in a complete run (closed), then it is back (reopened);
- ``low`` is below ``min_severity`` and ``waived`` is waived: neither ever gets a ticket;
- ``E`` appears on night 2, with the server failing its create once in between.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.config import Config
from scanner.history.store import Store
from scanner.model.finding import Severity, Status
from scanner.tickets import SyncReport, sync
from scanner.tickets.ledger import all_rows
from scanner.tickets.problems import problem_label
from tests.ticketkit import KINDS, JiraRemote, Remote
from tests.ticketruns import Check, config_dict, write_run

A = Check("notebook-direct-internet-access-disabled", "nb-a")
B = Check("notebook-root-access-disabled", "nb-b")
E = Check("notebook-in-vpc", "nb-e", severity=Severity.CRITICAL)
LOW = Check("notebook-kms-encryption", "nb-low", severity=Severity.LOW)
WAIVED = Check("notebook-in-vpc", "nb-waived")


def label(check: Check, status: Status = Status.FAIL) -> str:
    return problem_label(check.finding(status).fingerprint)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """The ledger on SQLite and on PostgreSQL (``store_url`` is parametrized)."""
    with Store.open(store_url) as opened:
        yield opened


def config_for(remote: Remote, tmp_path: Path, **tickets: object) -> Config:
    return Config(**config_dict([remote.target("t1")], **tickets), base_dir=str(tmp_path))


def run_sync(config: Config, store: Store, **kw: object) -> SyncReport:
    with store.writing():
        return sync(config, store, **kw)  # type: ignore[arg-type]


def states(remote: Remote) -> dict[str, list[str]]:
    return {
        name: remote.tickets(label(check))
        for name, check in (("A", A), ("B", B), ("E", E), ("low", LOW), ("waived", WAIVED))
    }


def fail_create_once(remote: Remote) -> None:
    """The server answers the next create with a 503 (the request has no effect)."""
    if isinstance(remote, JiraRemote):
        remote.fake.fail_next("POST", r"/rest/api/\d/issue")
    elif remote.kind == "servicenow":
        remote.fake.fail_next("POST", "/api/now/table/incident")  # type: ignore[attr-defined]
    elif remote.kind == "github":
        remote.fake.fail_next("POST", "/repos/acme/security/issues")  # type: ignore[attr-defined]


@pytest.mark.parametrize("remote", KINDS, indirect=True)
def test_one_ticket_per_problem_over_a_sequence_of_nights(
    remote: Remote, store: Store, tmp_path: Path
) -> None:
    config = config_for(remote, tmp_path)
    base = [LOW.finding(Status.FAIL), WAIVED.finding(Status.FAIL, waived=True)]
    # Night 1: A and B fail.
    write_run(store, "n1", 1, [A.finding(Status.FAIL), B.finding(Status.FAIL), *base])
    report = run_sync(config, store)
    assert report.ok, report.to_dict()
    assert report.results[0].counts["created"] == 2
    assert states(remote) == {"A": ["open"], "B": ["open"], "E": [], "low": [], "waived": []}

    # The same run again changes nothing (idempotent), not even a comment.
    sent = remote.changes()
    again = run_sync(config, store)
    assert again.ok and "created" not in again.results[0].counts
    assert again.results[0].counts["unchanged"] == 2
    assert remote.changes() == sent

    # Night 2: E appears; the server fails its create once (a 5xx to a create is never
    # retried blindly: the target is reported failed, the next sync finds nothing and
    # creates it, once).
    write_run(
        store,
        "n2",
        2,
        [A.finding(Status.FAIL), B.finding(Status.FAIL), E.finding(Status.FAIL), *base],
    )
    fail_create_once(remote)
    first = run_sync(config, store)
    if remote.kind in ("jira-v3", "jira-v2", "servicenow", "github"):
        assert not first.ok and "503" in first.results[0].errors[0]
        assert states(remote)["E"] == []
        retried = run_sync(config, store)
        assert retried.ok, retried.to_dict()
    assert states(remote) == {"A": ["open"], "B": ["open"], "E": ["open"], "low": [], "waived": []}

    # Night 3: A passes (closed); B cannot be evaluated (ERROR: missing data is no fix).
    write_run(
        store,
        "n3",
        3,
        [A.finding(Status.PASS), B.finding(Status.ERROR), E.finding(Status.FAIL), *base],
    )
    assert run_sync(config, store).ok
    expect_a = ["open"] if remote.kind == "jira-csv" else ["closed"]
    assert states(remote) == {"A": expect_a, "B": ["open"], "E": ["open"], "low": [], "waived": []}

    # Night 4: A is back (the same ticket reopens); B's notebook is gone in a complete
    # run (resolved).
    write_run(store, "n4", 4, [A.finding(Status.FAIL), E.finding(Status.FAIL), *base])
    assert run_sync(config, store).ok
    expect_b = ["open"] if remote.kind == "jira-csv" else ["closed"]
    assert states(remote) == {"A": ["open"], "B": expect_b, "E": ["open"], "low": [], "waived": []}

    # Night 5: B is back.
    write_run(
        store,
        "n5",
        5,
        [A.finding(Status.FAIL), B.finding(Status.FAIL), E.finding(Status.FAIL), *base],
    )
    assert run_sync(config, store).ok
    assert states(remote) == {"A": ["open"], "B": ["open"], "E": ["open"], "low": [], "waived": []}
    ledger = {r.remembered.resource_id: r.state for r in all_rows(store)}
    assert ledger == {"nb-a": "open", "nb-b": "open", "nb-e": "open"}
