"""``scanner schedule status``: did the nightly scan run, and when does it run next?

Healthy means one thing: the newest ``complete`` run is younger than
``schedule.max_age_hours``.  An ``incomplete`` run does not count (it could not look at
everything), nor does a run still going, nor one that failed or was interrupted.  No store
at all is unhealthy too: a monitor must alert on a job that never ran, not stay quiet.

It only reads: it never takes the writer lock for long, so it answers while the daemon
scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scanner.config import Config
from scanner.history import slots
from scanner.history.database import StoreError
from scanner.history.store import RunRow, Store, parse_ts
from scanner.model.record import RunStatus
from scanner.schedule import JOB_ID
from scanner.schedule.firetimes import next_fire


def newest_complete(rows: list[RunRow]) -> RunRow | None:
    """The ``complete`` run that finished last (None: there is none)."""
    done = [r for r in rows if r.status is RunStatus.COMPLETE and r.finished_at]
    return max(done, key=lambda r: parse_ts(r.finished_at or ""), default=None)


def last_complete(store: Store) -> datetime | None:
    """When the newest ``complete`` run finished (None: there is none)."""
    newest = newest_complete(store.runs())
    return parse_ts(newest.finished_at or "") if newest is not None else None


@dataclass
class ScheduleStatus:
    """What ``schedule status`` prints (text or JSON)."""

    store: str
    healthy: bool
    reason: str
    max_age_hours: float
    last_run: RunRow | None = None
    last_complete: RunRow | None = None
    age_hours: float | None = None
    next_fire_time: datetime | None = None
    registered: bool = False  # a daemon has put the job in the store

    def to_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "reason": self.reason,
            "store": self.store,
            "max_age_hours": self.max_age_hours,
            "last_run": _run(self.last_run),
            "last_complete_run": _run(self.last_complete),
            "age_hours": None if self.age_hours is None else round(self.age_hours, 4),
            "next_fire_time": self.next_fire_time.isoformat() if self.next_fire_time else None,
            "scheduled": self.registered,
        }


def _run(row: RunRow | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": row.id,
        "status": str(row.status),
        "started_at": row.started_at,
        "finished_at": row.finished_at,
        "exit_code": row.exit_code,
        "error": row.error,
    }


def schedule_status(config: Config, url: str, shown_url: str, now: datetime) -> ScheduleStatus:
    """The status of the store at ``url`` (``shown_url``: the same, password masked)."""
    sched = config.schedule
    zone = ZoneInfo(sched.timezone)
    planned = next_fire(sched, now)
    status = ScheduleStatus(
        store=shown_url,
        healthy=False,
        reason="",
        max_age_hours=sched.max_age_hours,
        next_fire_time=planned.astimezone(zone) if planned else None,
    )
    try:
        store = Store.open(url, create_missing=False)
    except StoreError as exc:
        status.reason = f"no run yet: {exc}"
        return status
    with store:
        rows = store.runs()
        stored_next = slots.next_fire_time(store, JOB_ID)
    if stored_next is not None:
        status.registered = True
        status.next_fire_time = stored_next.astimezone(zone)
    status.last_run = rows[0] if rows else None  # newest first
    newest = newest_complete(rows)
    if newest is None:
        status.reason = "no complete run in the store" if rows else "no run in the store yet"
        return status
    status.last_complete = newest
    age = (now - parse_ts(newest.finished_at or "")).total_seconds() / 3600
    status.age_hours = age
    status.healthy = age < sched.max_age_hours
    older = "" if status.healthy else "older than the "
    status.reason = (
        f"last complete run {newest.id} is {age:.2f} h old, "
        f"{older}limit {sched.max_age_hours:g} h (schedule.max_age_hours)"
    )
    return status
