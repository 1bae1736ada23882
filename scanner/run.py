"""One ``run()`` for everyone: the CLI, the demo and (later) the nightly scheduler call it.

A run is: load config → collect a snapshot (or load a stored one) → enrich → evaluate rules
and IAM analysis → findings → write reports.  The snapshot is written beside the reports so
any run can be re-evaluated offline (``scanner scan --snapshot``) and compared later.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scanner.collectors import collect
from scanner.collectors.completeness import record_unrecorded
from scanner.config import Config
from scanner.engine import RuleSet, evaluate, load_config_ruleset
from scanner.enrichment import enrich
from scanner.model.finding import Finding, Severity
from scanner.model.record import RunRecord
from scanner.model.snapshot import Snapshot, utc_now
from scanner.progress import NullProgress, Progress
from scanner.reporting import write_reports

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


def evaluate_snapshot(
    snapshot: Snapshot, config: Config, ruleset: RuleSet | None = None
) -> list[Finding]:
    """Everything after collection: rules (and IAM analysis) over a snapshot, no AWS calls."""
    rules = ruleset if ruleset is not None else load_config_ruleset(config)
    estate = enrich(snapshot, config)
    return evaluate(rules, estate, snapshot, config)


def run(options: RunOptions) -> RunRecord:
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
    result = RunRecord(
        run_id=run_id,
        snapshot=snapshot,
        findings=findings,
        output_dir=out_dir,
        started_at=started,
        finished_at=utc_now(),
        fail_on=options.fail_on or config.fail_on,
    )
    formats = options.formats or list(config.output.formats)
    result.reports = write_reports(result, out_dir, formats)
    return result
