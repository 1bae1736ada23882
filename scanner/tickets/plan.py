"""What a sync does to one target: the run's problems against the ledger (and, when the
target was searched, against what it holds), as a list of actions.  Pure: no I/O, so
``--dry-run`` prints exactly this and the tests check it offline.

For each problem key (one row per target in the ledger, at most):

==============  =================================================================
ledger row      action
==============  =================================================================
none            failing, within the filters, not waived: **create**
creating        found by the search: **adopt** it (then as *open* / *closed*);
                not found: **wait** while younger than the target's settle time,
                else **create** again if still wanted, else **forget** the row
open            resolved: **close**; failing and changed: **update**; failing and
                closed by a person: **reopen**; unknown (ERROR, not looked at): nothing
closed          failing again (within the filters, not waived): **reopen**
==============  =================================================================

Without a search (dry-run, offline) an uncertain row shows as **create-or-adopt**.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from scanner.model.finding import Severity
from scanner.tickets.ledger import CLOSED, CREATING, OPEN, Row, Ticket
from scanner.tickets.problems import Problem, State

Verb = Literal["create", "create-or-adopt", "adopt", "wait", "forget", "update", "close", "reopen"]


@dataclass(frozen=True)
class Action:
    """One step of a sync."""

    verb: Verb
    key: str
    problem: Problem
    row: Row | None = None
    ticket: Ticket | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        p = self.problem
        return {
            "action": self.verb,
            "ticket": self.ticket.key if self.ticket else None,
            "rule_id": p.rule_id,
            "account_id": p.account_id,
            "region": p.region or None,
            "resource_id": p.resource_id or None,
            "severity": str(p.severity),
            "key": self.key,
            "reason": self.reason,
        }


def from_row(row: Row, state: State, reason: str) -> Problem:
    """A problem the run does not list, rebuilt from what the ledger remembers."""
    r = row.remembered
    return Problem(
        key=r.key,
        grouping="rule-account" if r.grouping == "rule-account" else "finding",
        rule_id=r.rule_id,
        account_id=r.account_id,
        region=r.region,
        resource_type=r.resource_type,
        resource_id=r.resource_id,
        severity=Severity(row.severity),
        title=r.rule_id,
        state=state,
        reason=reason,
    )


@dataclass
class Plan:
    """The actions, plus the keys that are still failing and unchanged (their last-seen
    run is recorded in the ledger, nothing is sent)."""

    actions: list[Action]
    unchanged: list[str]
    other_grouping: int = 0


def _for_ticket(
    key: str, problem: Problem, row: Row, ticket: Ticket | None, state: str, plan: Plan
) -> None:
    """The action on a problem that has a ticket in ``state`` (open or closed)."""
    if state == OPEN:
        if problem.state == "resolved":
            plan.actions.append(Action("close", key, problem, row, ticket, problem.reason))
        elif problem.state == "failing":
            if ticket is not None and ticket.closed and problem.opens:
                reason = "closed in the target while the problem still fails"
                plan.actions.append(Action("reopen", key, problem, row, ticket, reason))
            elif row.content_hash != problem.content_hash():
                plan.actions.append(Action("update", key, problem, row, ticket, "changed"))
            else:
                plan.unchanged.append(key)
    elif state == CLOSED and problem.state == "failing" and problem.opens:
        plan.actions.append(Action("reopen", key, problem, row, ticket, "failing again"))


def plan(
    problems: dict[str, Problem],
    rows: dict[str, Row],
    *,
    grouping: str,
    remote: dict[str, Ticket] | None,
    now: datetime,
    settle_seconds: float,
    can_search: bool = True,
) -> Plan:
    """The actions for one target (module docstring); ``problems`` has every ledger key."""
    out = Plan([], [])
    for key in sorted(problems):
        problem = problems[key]
        row = rows.get(key)
        if row is None:
            if problem.opens:
                out.actions.append(Action("create", key, problem, reason="new"))
            continue
        if row.grouping != grouping:
            out.other_grouping += 1
            continue
        if row.state == CREATING:
            if remote is None:
                if problem.opens:
                    reason = "an earlier create may have happened: search, then adopt or create"
                    out.actions.append(Action("create-or-adopt", key, problem, row, None, reason))
                continue
            found = remote.get(key)
            if found is not None:
                out.actions.append(Action("adopt", key, problem, row, found, "found by search"))
                # The adopted ticket says what the problem said when it was made: only a
                # close or a reopen can be due, not an update.
                if found.closed:
                    _for_ticket(key, problem, row, found, CLOSED, out)
                elif problem.state == "resolved":
                    out.actions.append(Action("close", key, problem, row, found, problem.reason))
            elif can_search and (now - row.reserved_at).total_seconds() < settle_seconds:
                reason = "an earlier create may not be searchable yet"
                out.actions.append(Action("wait", key, problem, row, None, reason))
            elif problem.opens:
                reason = "an earlier create did not happen" if can_search else "resend"
                out.actions.append(Action("create", key, problem, row, None, reason))
            else:
                out.actions.append(Action("forget", key, problem, row, None, "no longer wanted"))
            continue
        ticket = (remote or {}).get(key) or row.ticket
        _for_ticket(key, problem, row, ticket, row.state, out)
    return out
