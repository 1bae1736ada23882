"""``scanner schedule``: the long-running APScheduler 3 daemon.

The job lives in the history database (``SQLAlchemyJobStore``, table ``scheduler_jobs``)
under one fixed id, referenced by the text ``"scanner.schedule.cycle:scheduled_cycle"``
with primitive arguments; ``coalesce`` (a backlog of missed fires runs once),
``max_instances=1`` and ``misfire_grace_time`` from config (APScheduler's default of one
second would drop any run a restart delayed).

A restart neither loses nor repeats a run:

- *not lost*: ``add_job(replace_existing=True)`` would compute the next fire time afresh
  from now, silently skipping a fire the daemon was down for.  When the stored job has
  the same trigger and arguments, its stored ``next_run_time`` is kept, so a fire missed
  while down runs once on start (within the misfire grace), as APScheduler intends;
- *not repeated*: the fire time is advanced in the store before the job runs, and the
  slot claim (:mod:`scanner.history.slots`) refuses a second run of the same slot, from
  this daemon or another one on the same store.

Signals: SIGTERM or SIGINT asks the running scan to stop (:mod:`scanner.cancel`: no new
AWS call, run recorded ``interrupted``), waits for it, and exits: 0 when idle, 130 when a
scan was interrupted.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from scanner import cancel
from scanner.config import Config, cron_trigger
from scanner.history.database import mask, store_url
from scanner.history.schema import SCHEDULER_JOBS
from scanner.history.store import Store
from scanner.schedule import JOB_FUNC, JOB_ID
from scanner.schedule.cycle import INTERRUPTED_EXIT, STORE_ENV

log = logging.getLogger("scanner.schedule")


def job_kwargs(config_path: Path | None, metrics_file: str | None) -> dict[str, Any]:
    """The job's arguments, as kept in the job store: primitives, and no secret."""
    return {
        "config_path": str(config_path.resolve()) if config_path else None,
        "metrics_file": str(Path(metrics_file).resolve()) if metrics_file else None,
    }


class Daemon:
    """One scheduler process; :meth:`serve` blocks until a signal stops it."""

    def __init__(
        self,
        config: Config,
        *,
        config_path: Path | None,
        store: str | None,
        metrics_file: str | None,
    ) -> None:
        self.config = config
        if store:
            # Cycles resolve the store like the daemon did, without it in the job store.
            os.environ[STORE_ENV] = store
        self.url = store_url(config, store)
        self.kwargs = job_kwargs(config_path, metrics_file or config.schedule.metrics_file)
        self.interrupted = False

    # -- signals ---------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        cancel.request(f"{signal.Signals(signum).name} received")

    def _on_done(self, event: JobExecutionEvent) -> None:
        """A cycle ended; it says 130 only when the stop request interrupted its scan (a
        cycle whose scan had finished when the signal came completes, and counts as such)."""
        if event.retval == INTERRUPTED_EXIT:
            self.interrupted = True

    # -- the scheduler ---------------------------------------------------------------
    def _scheduler(self, store: Store) -> BackgroundScheduler:
        sched = self.config.schedule
        scheduler = BackgroundScheduler(
            jobstores={
                "default": SQLAlchemyJobStore(engine=store.engine, tablename=SCHEDULER_JOBS)
            },
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": sched.misfire_grace,
            },
            timezone=sched.timezone,
        )
        scheduler.add_listener(self._on_done, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        return scheduler

    def _register(self, scheduler: BackgroundScheduler) -> Any:
        """Put the job in the store (once, by its fixed id), keeping a stored fire time
        that is still this schedule's (see the module docstring)."""
        sched = self.config.schedule
        trigger = cron_trigger(sched.cron, sched.timezone, sched.jitter)
        existing = scheduler.get_job(JOB_ID)
        extra: dict[str, Any] = {}
        if (
            existing is not None
            and existing.next_run_time is not None
            and repr(existing.trigger) == repr(trigger)
            and existing.kwargs == self.kwargs
        ):
            extra["next_run_time"] = existing.next_run_time
        return scheduler.add_job(
            JOB_FUNC,
            trigger=trigger,
            id=JOB_ID,
            name="privatelink-scanner nightly scan",
            kwargs=self.kwargs,
            replace_existing=True,
            **extra,
        )

    def serve(self) -> int:
        """Run until SIGTERM/SIGINT; 0 when stopped idle, 130 when a scan was stopped."""
        cancel.reset()
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        store = Store.open(self.url)  # creates or migrates the store, job table included
        scheduler = self._scheduler(store)
        try:
            scheduler.start(paused=True)
            job = self._register(scheduler)
            scheduler.resume()
            log.info(
                "scheduler started",
                extra={
                    "cron": self.config.schedule.cron,
                    "timezone": self.config.schedule.timezone,
                    "jitter": self.config.schedule.jitter,
                    "next_fire_time": _iso(job.next_run_time),
                    "store": mask(self.url),
                    "pid": os.getpid(),
                },
            )
            cancel.wait()  # the signal handler's stop request ends the wait
            log.info("stopping: waiting for a running scan to record itself")
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=True)
            store.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("scheduler stopped", extra={"interrupted_scan": self.interrupted})
        return INTERRUPTED_EXIT if self.interrupted else 0


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
