"""One ``run()`` for everyone: the CLI, the demo and (later) the nightly scheduler call it.

A run is: load config → collect a snapshot (or load a stored one) → enrich → evaluate rules
and IAM analysis → waivers → findings → store → drift → reports → seal.  The snapshot is
written beside the reports and into the history store, so any run can be re-evaluated
offline (``scanner scan --snapshot``) and compared with any other (``scanner drift``).

The store is written under its one-writer lock for the whole run.  The run's row reads
``running`` until its reports are written; an exception records it ``failed`` and a signal
or Ctrl-C records it ``interrupted`` (a SIGKILL leaves ``running``, which the next command
turns into ``interrupted``), so a run never reads ``complete`` unless it is.

A write that fails (a full disk under the store or the reports) ends the run with
:class:`RunFailed`: one line naming the problem and the path, exit status 3, the run
recorded ``failed``.  When the store itself cannot take even that update (its disk is
full), the row stays ``running`` and the next command that opens the store records it
``interrupted``; the message says so.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from scanner import cancel
from scanner.collectors import collect
from scanner.collectors.collect import ExecutorFactory
from scanner.collectors.completeness import record_unrecorded
from scanner.config import Config
from scanner.engine import RuleSet, evaluate, load_config_ruleset
from scanner.enrichment import enrich
from scanner.errors import ExitCode, InputError, ScannerError
from scanner.history.database import describe_write_failure, store_url
from scanner.history.drift import drift_for_run
from scanner.history.store import Store
from scanner.history.trend import trend_for
from scanner.logs import current_run
from scanner.model.finding import Finding, Severity
from scanner.model.record import RunRecord, RunStatus
from scanner.model.snapshot import Snapshot, utc_now
from scanner.progress import NullProgress, Progress
from scanner.reporting import write_reports
from scanner.reporting.atomic import make_private_dir
from scanner.waivers import Waiver, apply_waivers

log = logging.getLogger(__name__)

SNAPSHOT_FILE = "snapshot.json.gz"


class RunFailed(ScannerError):
    """A run that could not write its results (store or files): exit status 3, like any
    run that did not finish, and no traceback."""

    exit_code = ExitCode.INCOMPLETE


def write_failure(store: Store | None, exc: BaseException) -> str | None:
    """One line for a failed write (a full disk, a store gone away), else None."""
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{(exc.strerror or str(exc)).lower()}{where}"
    if isinstance(exc, DBAPIError) and store is not None:
        return describe_write_failure(store.url, exc)
    return None


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
    store: str | None = None  # store URL overriding config (``--store``)
    use_store: bool = True  # False: ``--no-store``, nothing kept
    today: date | None = None  # waiver expiry is judged on this day (default: today, UTC)


def evaluate_snapshot(
    snapshot: Snapshot, config: Config, ruleset: RuleSet | None = None
) -> list[Finding]:
    """Everything after collection: rules (and IAM analysis) over a snapshot, no AWS calls."""
    rules = ruleset if ruleset is not None else load_config_ruleset(config)
    estate = enrich(snapshot, config)
    return evaluate(rules, estate, snapshot, config)


def run(options: RunOptions) -> RunRecord:
    """Collect (or load), evaluate, store and report.  Raises InputError for bad input.

    Every log line of the run carries its id.  A stop request (:mod:`scanner.cancel`,
    SIGTERM) is honoured between phases and before every AWS call: the run is then
    recorded ``interrupted`` and :class:`scanner.cancel.Interrupted` propagates.
    """
    run_id = options.run_id or new_run_id()
    with current_run(run_id):
        return _run(options, run_id)


def _run(options: RunOptions, run_id: str) -> RunRecord:
    config = options.config
    # Validate everything the user wrote (rule packs, waivers) before spending minutes on
    # collection, and before the store is touched.
    ruleset = load_config_ruleset(config)
    waivers = config.all_waivers()
    if not options.use_store:
        try:
            return _scan(options, ruleset, waivers, run_id, utc_now(), None)
        except OSError as exc:  # reports only, nothing to record: say what failed
            raise RunFailed(f"run {run_id} failed: {write_failure(None, exc)}") from None
    with (
        Store.open(store_url(config, options.store)) as store,
        store.writing(config.store.lock, config.store.lock_timeout),
    ):
        started = utc_now()
        store.begin_run(
            run_id,
            started_at=started,
            source=f"snapshot:{options.snapshot_path}" if options.snapshot_path else "collect",
            fail_on=options.fail_on or config.fail_on,
            config_hash=config.digest(),
            rulepack_version=ruleset.version,
        )
        try:
            return _scan(options, ruleset, waivers, run_id, started, store)
        except (KeyboardInterrupt, SystemExit) as exc:
            store.end_run(run_id, RunStatus.INTERRUPTED, f"stopped by {type(exc).__name__}")
            raise
        except BaseException as exc:
            problem = write_failure(store, exc)
            error = problem or f"{type(exc).__name__}: {exc}"
            try:
                store.end_run(run_id, RunStatus.FAILED, error)
            except (DBAPIError, OSError) as again:
                if problem is None:
                    log.error(
                        "run %s could not be recorded failed: %s",
                        run_id,
                        write_failure(store, again),
                    )
                    raise exc from None
                raise RunFailed(
                    f"run {run_id} failed: {problem}; the store could not record it either "
                    "(the next command that opens it records the run interrupted)"
                ) from None
            if problem is not None:
                raise RunFailed(f"run {run_id} failed: {problem}") from None
            raise


def _executor(config: Config, store_url: str | None, run_id: str) -> ExecutorFactory | None:
    """The Dask executor when configured (its workers hand shards back through the store)."""
    if config.executor.kind != "dask":
        return None
    if store_url is None:
        raise InputError(
            "executor.kind dask needs the history store (the workers write their shards "
            "there); drop --no-store",
            path="config: executor",
        )
    from scanner.fanout.dask import DaskExecutor

    dask = DaskExecutor(config, store_url, run_id)
    return lambda _factories: dask


def _load_or_collect(options: RunOptions, store_url: str | None, run_id: str) -> Snapshot:
    if options.snapshot_path is None:
        return collect(
            options.config,
            regions=options.regions,
            progress=options.progress,
            executor=_executor(options.config, store_url, run_id),
        )
    snapshot = Snapshot.load(options.snapshot_path)
    log.info("loaded snapshot %s", options.snapshot_path)
    for missing in record_unrecorded(snapshot):
        log.warning(
            "snapshot has no outcome for collector %s in %s/%s: its rules will say ERROR",
            missing.collector,
            missing.account_id,
            missing.region,
        )
    return snapshot


def _scan(
    options: RunOptions,
    ruleset: RuleSet,
    waivers: list[Waiver],
    run_id: str,
    started: str,
    store: Store | None,
) -> RunRecord:
    config = options.config
    url = store_url(config, options.store) if store is not None else None
    snapshot = _load_or_collect(options, url, run_id)
    cancel.check()
    findings, states = apply_waivers(
        evaluate_snapshot(snapshot, config, ruleset),
        waivers,
        options.today or datetime.now(UTC).date(),
    )
    for state in states:
        if state.state != "active":
            log.warning(
                "waiver %s (%s on %s, owner %s, expires %s) is %s",
                state.waiver.id,
                state.waiver.rule_id,
                state.waiver.resource,
                state.waiver.owner,
                state.waiver.expires,
                state.state,
            )
    out_dir = (options.output_dir or Path(config.output.dir)) / run_id
    record = RunRecord(
        run_id=run_id,
        snapshot=snapshot,
        findings=findings,
        started_at=started,
        finished_at=utc_now(),
        fail_on=options.fail_on or config.fail_on,
        rulepack_version=ruleset.version,
        config_hash=config.digest(),
        output_dir=out_dir,
        waivers=[s.to_dict() for s in states],
    )
    cancel.check()
    if store is not None:
        store.save_results(record)
        record.drift = drift_for_run(store, run_id, record.status, config.store.baseline)
    make_private_dir(out_dir)
    if options.snapshot_path is None:
        snapshot.save(out_dir / SNAPSHOT_FILE)
    # The HTML report charts the FAIL / ERROR counts of the last stored runs (this one too).
    context = {"trend": trend_for(store, current=run_id)} if store is not None else None
    formats = options.formats or list(config.output.formats)
    record.reports = write_reports(record, out_dir, formats, context=context)
    if store is not None:
        store.finish_run(record)
        if config.store.retention_days is not None:
            store.prune(config.store.retention_days)
    return record
