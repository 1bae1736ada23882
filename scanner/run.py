"""One ``run()`` for everyone: the CLI, the demo and (later) the nightly scheduler call it.

A run is: load config → collect a snapshot (or load a stored one) → enrich → evaluate rules
and IAM analysis → findings → write reports.  The snapshot is written beside the reports so
any run can be re-evaluated offline (``scanner scan --snapshot``) and compared later.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.collectors import collect
from scanner.collectors.completeness import record_unrecorded
from scanner.config import Config
from scanner.engine import RuleSet, evaluate, load_config_ruleset
from scanner.enrich import enrich
from scanner.errors import ExitCode
from scanner.models import Finding, Severity, Status, at_or_above
from scanner.progress import NullProgress, Progress
from scanner.reporting import write_reports
from scanner.snapshot import Snapshot, utc_now

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "snapshot.json.gz"


def new_run_id() -> str:
    """Sortable, unique run id: UTC timestamp plus a random suffix."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass
class RunOptions:
    """What to scan and where to put the results; ``None`` means "use the config"."""

    config: Config = field(default_factory=Config)
    regions: list[str] | None = None
    snapshot_path: Path | None = None
    output_dir: Path | None = None
    formats: list[str] | None = None
    fail_on: Severity | None = None
    run_id: str | None = None
    progress: Progress = field(default_factory=NullProgress)


@dataclass
class RunResult:
    """Everything a caller needs after a run: findings, files written and the exit code."""

    run_id: str
    snapshot: Snapshot
    findings: list[Finding]
    output_dir: Path
    reports: dict[str, Path]
    started_at: str
    finished_at: str
    fail_on: Severity

    @property
    def collector_errors(self) -> list[dict[str, Any]]:
        """Collectors that failed, as dicts for reports."""
        return [o.to_dict() for o in self.snapshot.failed_outcomes()]

    @property
    def error_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.status is Status.ERROR]

    @property
    def complete(self) -> bool:
        """False when anything could not be looked at: a collector failed or a rule errored."""
        return not self.collector_errors and not self.error_findings

    @property
    def failing(self) -> list[Finding]:
        """FAIL findings at or above the ``fail_on`` threshold."""
        return [
            f
            for f in self.findings
            if f.status is Status.FAIL and at_or_above(f.severity, self.fail_on)
        ]

    @property
    def exit_code(self) -> ExitCode:
        """3 when incomplete (it wins: we cannot claim anything), else 1 with FAILs, else 0."""
        if not self.complete:
            return ExitCode.INCOMPLETE
        if self.failing:
            return ExitCode.FINDINGS
        return ExitCode.OK

    def summary(self) -> dict[str, Any]:
        """Counts used by every reporter and the CLI's closing summary."""
        by_status = Counter(str(f.status) for f in self.findings)
        fails_by_sev = Counter(str(f.severity) for f in self.findings if f.status is Status.FAIL)
        return {
            "findings": len(self.findings),
            "by_status": {s.value: by_status.get(s.value, 0) for s in Status},
            "fail_by_severity": {s.value: fails_by_sev.get(s.value, 0) for s in Severity},
            "complete": self.complete,
            "collector_errors": len(self.collector_errors),
            "exit_code": int(self.exit_code),
        }

    def run_document(self) -> dict[str, Any]:
        """The ``run`` object of ``findings.json``."""
        snap = self.snapshot
        return {
            "id": self.run_id,
            "tool_version": __version__,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "snapshot_schema_version": snap.schema_version,
            "snapshot_started_at": snap.started_at,
            "accounts": snap.accounts,
            "regions": snap.regions,
            "fail_on": str(self.fail_on),
            "complete": self.complete,
            "exit_code": int(self.exit_code),
            "summary": self.summary(),
            "collectors": [o.to_dict() for o in snap.collectors],
            "collector_errors": self.collector_errors,
        }


def evaluate_snapshot(
    snapshot: Snapshot, config: Config, ruleset: RuleSet | None = None
) -> list[Finding]:
    """Everything after collection: rules (and IAM analysis) over a snapshot, no AWS calls."""
    rules = ruleset if ruleset is not None else load_config_ruleset(config)
    estate = enrich(snapshot, config)
    return evaluate(rules, estate, snapshot, config)


def run(options: RunOptions) -> RunResult:
    """Collect (or load), evaluate and report.  Raises InputError for bad input."""
    config = options.config
    started = utc_now()
    run_id = options.run_id or new_run_id()
    # Load (and so validate) the rule packs before spending minutes on collection.
    ruleset = load_config_ruleset(config)

    if options.snapshot_path is not None:
        snapshot = Snapshot.load(options.snapshot_path)
        log.info("loaded snapshot %s", options.snapshot_path)
        for missing in record_unrecorded(snapshot):
            log.warning(
                "snapshot has no outcome for collector %s in %s/%s: its rules will say ERROR",
                missing.collector,
                missing.account_id,
                missing.region,
            )
    else:
        snapshot = collect(config, regions=options.regions, progress=options.progress)
    findings = evaluate_snapshot(snapshot, config, ruleset)

    out_dir = (options.output_dir or Path(config.output.dir)) / run_id
    out_dir.mkdir(parents=True, exist_ok=True)
    if options.snapshot_path is None:
        snapshot.save(out_dir / SNAPSHOT_FILE)
    result = RunResult(
        run_id=run_id,
        snapshot=snapshot,
        findings=findings,
        output_dir=out_dir,
        reports={},
        started_at=started,
        finished_at=utc_now(),
        fail_on=options.fail_on or config.fail_on,
    )
    formats = options.formats or list(config.output.formats)
    result.reports = write_reports(result, out_dir, formats)
    return result
