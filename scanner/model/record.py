"""The run record: what one scan produced, as plain data.

``scanner.run.run()`` returns a :class:`RunRecord`; the store, the reporters and the CLI
(and later tickets and the nightly job) all read it, and none of them imports the
orchestrator.  Everything here is derived from the findings and the snapshot, so a record
rebuilt from the store reads exactly like the one the scan returned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.errors import ExitCode
from scanner.model.finding import Finding, Severity, Status, at_or_above
from scanner.model.snapshot import Snapshot

ACCOUNT_OPERATIONS = ("AssumeRole", "GetCallerIdentity", "DescribeRegions")
"""Calls a whole account depends on: when one fails, nothing in the account is read."""


class RunStatus(StrEnum):
    """A run's state in the history store.

    - ``running``: in progress (only ever seen while its process holds the store lock);
    - ``complete``: every collector ran and every rule could decide, findings and reports
      are written;
    - ``incomplete``: findings and reports are written, but some data could not be
      collected or some rule said ERROR (exit status 3);
    - ``failed``: the run stopped on an error before its findings were written;
    - ``interrupted``: the run was stopped (signal, kill, crash) before it finished.
    """

    RUNNING = "running"
    COMPLETE = "complete"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


FINISHED = (RunStatus.COMPLETE, RunStatus.INCOMPLETE)
"""Statuses of runs whose snapshot and findings are whole (drift may use them)."""


@dataclass
class RunRecord:
    """Everything one run produced: snapshot, findings, versions, reports and drift."""

    run_id: str
    snapshot: Snapshot
    findings: list[Finding]
    started_at: str
    finished_at: str
    fail_on: Severity = Severity.LOW
    tool_version: str = __version__
    rulepack_version: str = ""
    config_hash: str = ""
    output_dir: Path | None = None
    reports: dict[str, Path] = field(default_factory=dict)
    # Drift summaries against the previous run and the baseline (``scanner.history.drift``
    # documents the shape), set once the run is stored; reporters show them when present.
    drift: dict[str, Any] | None = None
    # Every configured waiver with its state this run (active, unused, expired).
    waivers: list[dict[str, Any]] = field(default_factory=list)

    @property
    def collector_errors(self) -> list[dict[str, Any]]:
        """Collectors that failed, as dicts for reports."""
        return [o.to_dict() for o in self.snapshot.failed_outcomes()]

    @property
    def unreachable_accounts(self) -> list[dict[str, Any]]:
        """Accounts nothing could be read in: every collector there failed on the same call
        the whole account depends on (a role that cannot be assumed, say), for the report to
        name once per account rather than once per collector."""
        by_account: dict[str, list[Any]] = {}
        for o in self.snapshot.collectors:
            by_account.setdefault(o.account_id, []).append(o)
        out: list[dict[str, Any]] = []
        for account, outcomes in sorted(by_account.items()):
            reasons = {(o.status, o.operation, o.error_code, o.error_message) for o in outcomes}
            if len(reasons) != 1:
                continue
            status, operation, code, message = reasons.pop()
            if str(status) == "error" and operation in ACCOUNT_OPERATIONS:
                out.append(
                    {
                        "account_id": account,
                        "operation": operation,
                        "error_code": code,
                        "error_message": message,
                        "collectors": len(outcomes),
                    }
                )
        return out

    @property
    def error_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.ERROR]

    @property
    def complete(self) -> bool:
        """False when anything could not be looked at: a collector failed or a rule errored."""
        return not self.collector_errors and not self.error_findings

    @property
    def status(self) -> RunStatus:
        """``complete`` or ``incomplete`` (a record exists only for a run that finished)."""
        return RunStatus.COMPLETE if self.complete else RunStatus.INCOMPLETE

    @property
    def failing(self) -> list[Finding]:
        """Unwaived FAIL findings at or above the ``fail_on`` threshold."""
        return [
            f
            for f in self.findings
            if f.status is Status.FAIL and not f.waived and at_or_above(f.severity, self.fail_on)
        ]

    @property
    def exit_code(self) -> ExitCode:
        """3 when incomplete (it wins: we cannot claim anything), else 1 with FAILs, else 0.

        A waiver never hides incompleteness: an ERROR finding gives 3 whether waived or not.
        """
        if not self.complete:
            return ExitCode.INCOMPLETE
        if self.failing:
            return ExitCode.FINDINGS
        return ExitCode.OK

    def summary(self) -> dict[str, Any]:
        """Counts used by every reporter, the store and the CLI's closing summary."""
        by_status = Counter(str(f.status) for f in self.findings)
        fails_by_sev = Counter(str(f.severity) for f in self.findings if f.status is Status.FAIL)
        return {
            "findings": len(self.findings),
            "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
            "fail_by_severity": {s.value: fails_by_sev.get(s.value, 0) for s in Severity},
            "waived": sum(1 for f in self.findings if f.waived),
            "complete": self.complete,
            "collector_errors": len(self.collector_errors),
            "exit_code": int(self.exit_code),
        }
