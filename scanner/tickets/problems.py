"""From a stored run to problems: what each ticket is about and whether it still fails.

A *problem* is what one ticket tracks: a finding (``group_by: finding``; its key is the
finding's fingerprint) or a rule in an account (``group_by: rule-account``; the key is a
fingerprint of rule and account, and the ticket lists the failing resources).  Each problem
is judged on the run alone, with nothing guessed:

- ``failing``: a FAIL (in a group: any member FAILs);
- ``resolved``: PASS or NOT_APPLICABLE, or absent where the run looked completely (its
  resource was deleted); a group is resolved when none of its members fails or is unknown;
- ``unknown``: ERROR, or absent where the run could not look.  **An unknown problem never
  closes a ticket**: missing data is not a fix.

Filters (``min_severity``, ``frameworks``, ``accounts``, ``rules``) decide which failing
problems may *open* (or reopen) a ticket; closing applies to every ticket in the ledger,
whatever the filters say now.  A problem whose failing findings are all waived opens none.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from scanner.history.drift import Coverage
from scanner.model.finding import (
    SEVERITY_RANK,
    Finding,
    Severity,
    Status,
    at_or_above,
    fingerprint,
)
from scanner.ticketconf import GroupBy, TicketsConfig

State = Literal["failing", "resolved", "unknown"]
GROUP_RESOURCE_TYPE = "rule-account"
MANAGED_LABEL = "privatelink-scanner"
"""The label (GitHub, Jira) on every ticket the scanner made, beside its ``plscan-`` one."""


@dataclass(frozen=True)
class Member:
    """One finding of a problem, as a ticket shows it and the ledger remembers it."""

    fingerprint: str
    region: str
    resource_type: str
    resource_id: str
    status: str
    message: str = ""
    resource_arn: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "region": self.region,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
        }


@dataclass(frozen=True)
class Problem:
    """What one ticket is about (module docstring)."""

    key: str
    grouping: GroupBy
    rule_id: str
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    severity: Severity
    title: str
    state: State
    members: list[Member] = field(default_factory=list)
    message: str = ""
    resource_arn: str | None = None
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    remediation: dict[str, Any] = field(default_factory=dict)
    waived: bool = False
    wanted: bool = True  # passes the filters: may open or reopen a ticket
    reason: str = ""

    @property
    def failing(self) -> list[Member]:
        return [m for m in self.members if m.status == str(Status.FAIL)]

    @property
    def opens(self) -> bool:
        """May open or reopen a ticket: failing, within the filters, not waived."""
        return self.state == "failing" and self.wanted and not self.waived

    def content_hash(self) -> str:
        """Digest of what a ticket says about the problem; a change is commented on."""
        doc = {
            "severity": str(self.severity),
            "message": self.message if self.grouping == "finding" else "",
            "failing": sorted(m.resource_id for m in self.failing),
        }
        return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]

    def label(self) -> str:
        return problem_label(self.key)

    def labels(self, extra: list[str]) -> list[str]:
        """A new ticket's labels: the scanner's, the problem's, then the configured ones."""
        return [MANAGED_LABEL, self.label(), *extra]


def problem_label(key: str) -> str:
    """The label (or correlation id) that finds a problem's ticket in its target."""
    return f"plscan-{key}"


def group_key(rule_id: str, account_id: str) -> str:
    """The key of a rule-account problem: a fingerprint no finding can have."""
    return fingerprint(rule_id, account_id, "", GROUP_RESOURCE_TYPE, "")


def _member(f: Finding) -> Member:
    return Member(
        f.fingerprint,
        f.region,
        f.resource_type,
        f.resource_id,
        str(f.status),
        f.message,
        f.resource_arn,
    )


def wanted(config: TicketsConfig, f: Finding) -> bool:
    """Whether a finding passes the ``tickets:`` filters."""
    if not at_or_above(f.severity, config.min_severity):
        return False
    if config.accounts and f.account_id not in config.accounts:
        return False
    if config.rules and f.rule_id not in config.rules:
        return False
    return not config.frameworks or any(f.frameworks.get(fw) for fw in config.frameworks)


def _state(statuses: Iterable[str]) -> State:
    seen = set(statuses)
    if str(Status.FAIL) in seen:
        return "failing"
    if str(Status.ERROR) in seen:
        return "unknown"
    return "resolved"


def finding_problems(config: TicketsConfig, findings: list[Finding]) -> dict[str, Problem]:
    """One problem per finding (``group_by: finding``)."""
    out: dict[str, Problem] = {}
    for f in findings:
        out[f.fingerprint] = Problem(
            key=f.fingerprint,
            grouping="finding",
            rule_id=f.rule_id,
            account_id=f.account_id,
            region=f.region,
            resource_type=f.resource_type,
            resource_id=f.resource_id,
            severity=f.severity,
            title=f.title,
            state=_state((str(f.status),)),
            members=[_member(f)],
            message=f.message,
            resource_arn=f.resource_arn,
            frameworks=f.frameworks,
            remediation=f.remediation,
            waived=f.waived,
            wanted=wanted(config, f),
            reason=f"{f.status}",
        )
    return out


def group_problems(config: TicketsConfig, findings: list[Finding]) -> dict[str, Problem]:
    """One problem per rule per account (``group_by: rule-account``)."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.rule_id, f.account_id), []).append(f)
    out: dict[str, Problem] = {}
    for (rule_id, account_id), members in groups.items():
        failing = [f for f in members if f.status is Status.FAIL]
        first = max(members, key=lambda f: SEVERITY_RANK[f.severity])
        key = group_key(rule_id, account_id)
        out[key] = Problem(
            key=key,
            grouping="rule-account",
            rule_id=rule_id,
            account_id=account_id,
            region="",
            resource_type=GROUP_RESOURCE_TYPE,
            resource_id="",
            severity=first.severity,
            title=first.title,
            state=_state(str(f.status) for f in members),
            members=sorted((_member(f) for f in members), key=lambda m: (m.region, m.resource_id)),
            message=first.message,
            frameworks=first.frameworks,
            remediation=first.remediation,
            waived=bool(failing) and all(f.waived for f in failing),
            wanted=any(wanted(config, f) for f in failing) if failing else wanted(config, first),
            reason=f"{len(failing)} of {len(members)} resources FAIL",
        )
    return out


def problems(config: TicketsConfig, findings: list[Finding]) -> dict[str, Problem]:
    """The run's problems under the configured grouping."""
    if config.group_by == "rule-account":
        return group_problems(config, findings)
    return finding_problems(config, findings)


@dataclass(frozen=True)
class Remembered:
    """What the ledger remembers of a problem that the run may no longer list."""

    key: str
    grouping: str
    rule_id: str
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    members: list[dict[str, Any]]


def _unseen(row: Remembered, coverage: Coverage, skip: set[str]) -> dict[str, Any] | None:
    """The first remembered member (not in ``skip``) that the run could not look at."""
    for m in row.members:
        if m["fingerprint"] not in skip and not coverage.looked_at(
            row.rule_id, row.account_id, m["region"], m["resource_type"], m["resource_id"]
        ):
            return m
    return None


def judge_absent(row: Remembered, coverage: Coverage) -> tuple[State, str]:
    """A ticketed problem with no finding in the run: resolved where the run looked,
    unknown where it could not (module docstring)."""
    if row.grouping == "finding":
        if not coverage.looked_at(
            row.rule_id, row.account_id, row.region, row.resource_type, row.resource_id
        ):
            return "unknown", "not looked at"
        key = (row.account_id, row.region, row.resource_type, row.resource_id)
        return "resolved", "resource gone" if key not in coverage.resources else "no longer found"
    if row.account_id not in coverage.accounts or _unseen(row, coverage, set()) is not None:
        return "unknown", "not looked at"
    return "resolved", "resources gone"


def judge_group_members(problem: Problem, row: Remembered, coverage: Coverage) -> Problem:
    """A rule-account problem that is not failing stays ``unknown`` while a member that
    failed before is absent where the run could not look."""
    if problem.state != "resolved":
        return problem
    missing = _unseen(row, coverage, {m.fingerprint for m in problem.members})
    if missing is None:
        return problem
    # A copy: the run's problems are shared by every target, whose ledgers differ.
    return replace(problem, state="unknown", reason=f"{missing['resource_id']} not looked at")
