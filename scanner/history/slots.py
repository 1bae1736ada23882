"""Schedule slots: one run per scheduled fire time, decided by the store.

APScheduler 3 keeps its jobs in the store (``scheduler_jobs``), but its FAQ is explicit
that two schedulers must not share a job store: both may fire the same job.  So the
guarantee that two daemons on one store never both run a cycle is a row here, not a
scheduler feature: before a cycle runs it inserts ``(job_id, slot)``, the slot being the
fire time the cron expression names (before jitter, so two daemons with different jitter
agree on it).  The primary key lets exactly one insert succeed, on SQLite and PostgreSQL
alike; the loser logs who holds the slot and runs nothing.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scanner.history import schema as t
from scanner.history.store import Store, iso


@dataclass(frozen=True)
class Slot:
    """A claimed slot: which run took it, where and when."""

    job_id: str
    slot: str
    run_id: str
    claimed_at: str
    host: str
    pid: int


def _slot_of(m: sa.RowMapping) -> Slot:
    return Slot(
        job_id=m["job_id"],
        slot=iso(m["slot"]) or "",
        run_id=m["run_id"],
        claimed_at=iso(m["claimed_at"]) or "",
        host=m["host"],
        pid=m["pid"],
    )


def claim(store: Store, job_id: str, slot: datetime, run_id: str) -> Slot | None:
    """Claim ``slot`` for ``run_id``; None when it is taken (then :func:`holder` says by
    whom).  The insert commits at once, before the scan starts, so a second daemon that
    fires a second later already sees it."""
    made = Slot(
        job_id=job_id,
        slot=iso(slot) or "",
        run_id=run_id,
        claimed_at=iso(datetime.now(UTC)) or "",
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    try:
        with store.engine.begin() as conn:
            conn.execute(
                sa.insert(t.schedule_slots).values(
                    job_id=job_id,
                    slot=slot.astimezone(UTC),
                    run_id=run_id,
                    claimed_at=datetime.now(UTC),
                    host=made.host,
                    pid=made.pid,
                )
            )
    except IntegrityError:
        return None
    return made


def holder(store: Store, job_id: str, slot: datetime) -> Slot | None:
    """The claim on ``slot``, if any."""
    with store.engine.connect() as conn:
        m = (
            conn.execute(
                sa.select(t.schedule_slots).where(
                    t.schedule_slots.c.job_id == job_id,
                    t.schedule_slots.c.slot == slot.astimezone(UTC),
                )
            )
            .mappings()
            .first()
        )
    return _slot_of(m) if m is not None else None


def next_fire_time(store: Store, job_id: str) -> datetime | None:
    """When the daemon's job fires next, as its job store holds it (None: never scheduled,
    or paused).  Read from the table directly: no job is unpickled, no scheduler started."""
    with store.engine.connect() as conn:
        value = conn.execute(
            sa.select(t.scheduler_jobs.c.next_run_time).where(t.scheduler_jobs.c.id == job_id)
        ).scalar_one_or_none()
    return datetime.fromtimestamp(value, UTC) if value is not None else None
