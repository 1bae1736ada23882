"""One cycle of the nightly job: claim the slot, scan, link, notify, measure.

The scan is the same :func:`scanner.run.run` that ``scanner scan`` calls: it collects,
evaluates, stores the run, computes drift against the previous run and the baseline and
writes ``<output.dir>/<run-id>/``.  The cycle adds what only a job needs:

1. the slot claim (scheduled cycles only), so two daemons on one store run it once;
2. ``<output.dir>/latest``, a relative symlink swapped atomically to the newest run whose
   reports are whole (complete or incomplete, never interrupted or failed);
3. ticket sync, when ``tickets:`` has targets (:func:`scanner.tickets.sync` on this run;
   a failed target is logged by name and makes the cycle's exit status 3);
4. notifications (a failed delivery is logged and never fails the cycle);
5. the Prometheus textfile, written last, so its "last success" is true when read.

A cycle never raises: the daemon must survive a bad night.  It returns the scan's exit
status (0/1/2/3), or 130 when it was stopped by a signal.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scanner import cancel
from scanner.config import Config, load_config
from scanner.errors import ExitCode, ScannerError
from scanner.history import slots
from scanner.history.database import store_url
from scanner.history.store import Store
from scanner.logs import current_run
from scanner.metrics import write_metrics
from scanner.model.record import RunRecord, RunStatus
from scanner.notify import Delivery, send_all
from scanner.progress import LogProgress, NullProgress, Progress
from scanner.run import RunFailed, RunOptions, new_run_id, run
from scanner.schedule import JOB_ID
from scanner.schedule.firetimes import slot_for
from scanner.schedule.status import last_complete
from scanner.tickets import SyncReport
from scanner.tickets import sync as sync_tickets

log = logging.getLogger("scanner.schedule")

INTERRUPTED_EXIT = 130
LATEST = "latest"
STORE_ENV = "SCANNER_STORE"


@dataclass
class CycleResult:
    """What a cycle did: its run (or the slot's holder when it ran nothing)."""

    run_id: str
    exit_code: int
    status: str  # a RunStatus value, or "skipped" (slot taken) or "refused" (store busy...)
    record: RunRecord | None = None
    slot: str | None = None
    held_by: slots.Slot | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    tickets: SyncReport | None = None
    error: str | None = None


def scheduled_cycle(config_path: str | None, metrics_file: str | None) -> int:
    """The daemon's job (``scanner.schedule.cycle:scheduled_cycle``).

    Arguments are primitives, kept in the job store.  The config file is read anew each
    cycle, so an edit applies from the next night on; the store URL comes from
    ``SCANNER_STORE`` (the daemon sets it from ``--store``), never from the job store,
    where a password in it would be kept.
    """
    try:
        config = load_config(config_path)
    except ScannerError as exc:
        log.error("cycle not run: %s", exc)
        return int(exc.exit_code)
    now = datetime.now(UTC)
    result = run_cycle(
        config,
        slot=slot_for(config.schedule, now),
        metrics_file=Path(metrics_file) if metrics_file else None,
        progress=LogProgress() if config.log_format == "json" else NullProgress(),
    )
    return result.exit_code


def run_cycle(
    config: Config,
    *,
    slot: datetime | None = None,
    store: str | None = None,
    metrics_file: Path | None = None,
    progress: Progress | None = None,
) -> CycleResult:
    """One cycle now.  ``slot``: the scheduled fire time to claim (None for ``--once``,
    which always runs: it is the operator's or cron's explicit request)."""
    run_id = new_run_id()
    url = store_url(config, store or os.environ.get(STORE_ENV))
    metrics = metrics_file or (
        Path(config.schedule.metrics_file) if config.schedule.metrics_file else None
    )
    with current_run(run_id):
        if slot is not None:
            try:
                held = _claim(url, slot, run_id)
            except ScannerError as exc:  # the store cannot be opened: nothing was claimed
                log.error("cycle not run: %s", exc)
                return CycleResult(run_id, int(exc.exit_code), "refused", error=str(exc))
            if held is not None:
                log.info(
                    "slot %s already run by %s (pid %s on %s): nothing to do",
                    held.slot,
                    held.run_id,
                    held.pid,
                    held.host,
                    extra={"slot": held.slot, "held_by": held.run_id},
                )
                return CycleResult(
                    run_id, int(ExitCode.OK), "skipped", slot=held.slot, held_by=held
                )
        log.info("cycle started", extra={"slot": slot.isoformat() if slot else None})
        started = time.monotonic()
        result = _scan(config, run_id, url, progress or NullProgress())
        result.slot = slot.isoformat() if slot else None
        if result.record is not None:  # reports whole (an interrupted scan has no record)
            link_latest(result.record)
            if config.tickets.targets:
                _tickets(config, url, result)
            result.deliveries = send_all(result.record, config)
        if metrics is not None:
            _metrics(metrics, url, result, time.monotonic() - started)
        log.info(
            "cycle finished",
            extra={
                "status": result.status,
                "exit_code": result.exit_code,
                "summary": result.record.summary() if result.record else None,
                "notified": {d.name: d.ok for d in result.deliveries},
                "tickets": {r.name: r.ok for r in result.tickets.results}
                if result.tickets
                else None,
            },
        )
        return result


def _claim(url: str, slot: datetime, run_id: str) -> slots.Slot | None:
    """None when this cycle took ``slot``; else the claim that holds it."""
    with Store.open(url) as store:
        if slots.claim(store, JOB_ID, slot, run_id) is not None:
            return None
        return slots.holder(store, JOB_ID, slot)


def _scan(config: Config, run_id: str, url: str, progress: Progress) -> CycleResult:
    try:
        record = run(RunOptions(config=config, run_id=run_id, store=url, progress=progress))
    except cancel.Interrupted as exc:
        log.warning("cycle interrupted: %s; the run is recorded interrupted", exc)
        return CycleResult(run_id, INTERRUPTED_EXIT, str(RunStatus.INTERRUPTED), error=str(exc))
    except RunFailed as exc:  # a write failed (a full disk): run() recorded it failed
        log.error("cycle failed: %s", exc)
        return CycleResult(run_id, int(exc.exit_code), str(RunStatus.FAILED), error=str(exc))
    except ScannerError as exc:  # store busy (lock: refuse), bad rule pack, bad profile ...
        log.error("cycle failed: %s", exc)
        return CycleResult(run_id, int(exc.exit_code), "refused", error=str(exc))
    except Exception as exc:  # the daemon outlives a bad night; run() recorded it failed
        log.exception("cycle failed: %s", exc)
        return CycleResult(run_id, int(ExitCode.INCOMPLETE), str(RunStatus.FAILED), error=f"{exc}")
    return CycleResult(run_id, int(record.exit_code), str(record.status), record=record)


def _tickets(config: Config, url: str, result: CycleResult) -> None:
    """Sync the ticket targets to this cycle's run; a failure is logged (by the sync,
    per target) and turns the exit status into 3, never an exception out of the cycle."""
    try:
        with Store.open(url) as store, store.writing(config.store.lock, config.store.lock_timeout):
            result.tickets = sync_tickets(config, store, run_ref=result.run_id)
    except (ScannerError, OSError) as exc:
        log.error("ticket sync not run: %s", exc)
        result.exit_code = max(result.exit_code, int(ExitCode.INCOMPLETE))
        return
    if not result.tickets.ok:
        result.exit_code = max(result.exit_code, int(ExitCode.INCOMPLETE))


def link_latest(record: RunRecord) -> Path | None:
    """Point ``<output.dir>/latest`` at this run's report directory, atomically (a new
    link renamed over the old one: a reader never finds it missing or half-made)."""
    if record.output_dir is None:
        return None
    link = record.output_dir.parent / LATEST
    temp = link.with_name(f".{LATEST}.{os.getpid()}")
    temp.unlink(missing_ok=True)
    os.symlink(record.output_dir.name, temp, target_is_directory=True)
    os.replace(temp, link)
    return link


def _metrics(path: Path, url: str, result: CycleResult, duration: float) -> None:
    """Write the textfile; a failure to write is logged, never raised (monitoring sees the
    stale file, and ``schedule status`` still answers)."""
    try:
        with Store.open(url, create_missing=False) as store:
            success = last_complete(store)
        write_metrics(
            path,
            result.record,
            duration_seconds=duration,
            last_success=success,
            exit_code=result.exit_code,
            tickets={r.name: r.ok for r in result.tickets.results} if result.tickets else None,
        )
    except (OSError, ScannerError) as exc:
        log.error("metrics file %s not written: %s", path, exc)
