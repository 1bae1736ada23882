"""Which findings become tickets, and how they are grouped: filters and ``rule-account``.

``group_by: rule-account`` gives one ticket per rule per account listing its failing
resources: a resource that starts failing is a comment (not a ticket), the ticket closes
only when none fails and none is unknown.  Filters choose what may open a ticket; they
never keep a ticket from closing.
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
from scanner.tickets.problems import group_key, problem_label
from tests.ticketkit import GitHubRemote
from tests.ticketruns import NOTEBOOK, Check, config_dict, write_run

RULE = "notebook-direct-internet-access-disabled"
OTHER_ACCOUNT = "210987654321"
N1, N2, N3 = (Check(RULE, f"nb-{i}") for i in (1, 2, 3))
ELSEWHERE = Check(RULE, "nb-x", account_id=OTHER_ACCOUNT)
REPO = GitHubRemote.repo


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'history.db'}") as opened:
        yield opened


def run_sync(config: Config, store: Store) -> SyncReport:
    with store.writing():
        return sync(config, store)


def night(store: Store, day: int, *statuses: Status) -> None:
    """Night ``day``: N1, N2, N3 and ELSEWHERE with these statuses."""
    checks = (N1, N2, N3, ELSEWHERE)
    write_run(
        store, f"n{day}", day, [c.finding(st) for c, st in zip(checks, statuses, strict=True)]
    )


def config(remote: GitHubRemote, tmp_path: Path, **tickets: object) -> Config:
    return Config(**config_dict([remote.target("gh")], **tickets), base_dir=str(tmp_path))


def test_rule_account_groups_list_resources_and_close_when_all_pass(
    github: GitHubRemote, store: Store, tmp_path: Path
) -> None:
    cfg = config(github, tmp_path, group_by="rule-account")
    here, there = (
        problem_label(group_key(RULE, N1.account_id)),
        problem_label(group_key(RULE, OTHER_ACCOUNT)),
    )
    night(store, 1, Status.FAIL, Status.FAIL, Status.PASS, Status.FAIL)
    assert run_sync(cfg, store).ok
    assert (github.tickets(here), github.tickets(there)) == (["open"], ["open"])
    [issue] = github.fake.by_label(REPO, here)
    assert "2 resource(s) in account 123456789012" in issue["title"]
    assert "nb-1" in issue["body"] and "nb-2" in issue["body"] and "nb-3" not in issue["body"]

    # nb-3 starts failing, nb-1 is fixed: a comment on the same issue, no new issue.
    night(store, 2, Status.PASS, Status.FAIL, Status.FAIL, Status.FAIL)
    report = run_sync(cfg, store)
    assert report.ok and report.results[0].counts.get("updated") == 1
    assert len(github.fake.by_label(REPO, here)) == 1
    [comment] = github.fake.comments(REPO, issue["number"])
    assert "Now failing:" in comment and "nb-3" in comment
    assert "No longer failing:" in comment and "nb-1" in comment

    # nb-2 passes but nb-3's data could not be collected: unknown, the issue stays open.
    night(store, 3, Status.PASS, Status.PASS, Status.ERROR, Status.FAIL)
    assert run_sync(cfg, store).ok
    assert github.tickets(here) == ["open"]

    # Every resource passes: closed.  The other account's ticket is untouched.
    night(store, 4, Status.PASS, Status.PASS, Status.PASS, Status.FAIL)
    assert run_sync(cfg, store).ok
    assert (github.tickets(here), github.tickets(there)) == (["closed"], ["open"])


def test_a_group_member_absent_where_the_run_could_not_look_keeps_the_ticket_open(
    github: GitHubRemote, store: Store, tmp_path: Path
) -> None:
    cfg = config(github, tmp_path, group_by="rule-account")
    here = problem_label(group_key(RULE, N1.account_id))
    write_run(store, "n1", 1, [N1.finding(Status.FAIL), N2.finding(Status.FAIL)])
    assert run_sync(cfg, store).ok
    # nb-1 passes; nb-2 is absent because the notebook listing failed (not because it is
    # gone): nothing may be concluded about it.
    write_run(store, "n2", 2, [N1.finding(Status.PASS)], errors=[NOTEBOOK])
    assert run_sync(cfg, store).ok
    assert github.tickets(here) == ["open"]
    # A complete run without nb-2: it is gone, the group is resolved.
    write_run(store, "n3", 3, [N1.finding(Status.PASS)])
    assert run_sync(cfg, store).ok
    assert github.tickets(here) == ["closed"]


@pytest.mark.parametrize(
    ("filters", "opened"),
    [
        ({}, {"crit", "high"}),
        ({"min_severity": "critical"}, {"crit"}),
        ({"min_severity": "low"}, {"crit", "high", "low", "other"}),
        ({"accounts": [OTHER_ACCOUNT]}, {"other"}),
        ({"rules": ["notebook-root-access-disabled"]}, {"high"}),
        ({"frameworks": ["pci-dss-v4"]}, {"crit"}),
    ],
)
def test_filters_decide_what_opens_a_ticket(
    github: GitHubRemote,
    store: Store,
    tmp_path: Path,
    filters: dict[str, object],
    opened: set[str],
) -> None:
    checks = {
        "crit": Check(RULE, "nb-crit", severity=Severity.CRITICAL),
        "high": Check("notebook-root-access-disabled", "nb-high", frameworks={"hipaa": ["x"]}),
        "low": Check(RULE, "nb-low", severity=Severity.LOW),
        "other": Check(RULE, "nb-other", account_id=OTHER_ACCOUNT, severity=Severity.HIGH),
    }
    if "accounts" not in filters:
        checks["other"] = Check(RULE, "nb-other", account_id=OTHER_ACCOUNT, severity=Severity.LOW)
    write_run(store, "n1", 1, [c.finding(Status.FAIL) for c in checks.values()])
    assert run_sync(config(github, tmp_path, **filters), store).ok
    got = {
        name
        for name, c in checks.items()
        if github.tickets(problem_label(c.finding(Status.FAIL).fingerprint))
    }
    assert got == opened


def test_filters_never_keep_a_ticket_from_closing(
    github: GitHubRemote, store: Store, tmp_path: Path
) -> None:
    high = Check(RULE, "nb-high")
    write_run(store, "n1", 1, [high.finding(Status.FAIL)])
    assert run_sync(config(github, tmp_path), store).ok
    write_run(store, "n2", 2, [high.finding(Status.PASS)])
    assert run_sync(config(github, tmp_path, min_severity="critical"), store).ok
    assert github.tickets(problem_label(high.finding(Status.FAIL).fingerprint)) == ["closed"]
    assert [r.state for r in all_rows(store)] == ["closed"]
