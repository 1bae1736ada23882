"""Which scheduled slot a firing belongs to.

APScheduler 3 does not tell a job the time it was scheduled for, and with ``jitter`` the
actual start differs per daemon.  The slot is therefore computed, not passed: the latest
fire time of the cron expression *without* jitter at or before now, looked for over the
window a late start can fall in (jitter plus misfire grace).  Two daemons firing the same
night with different jitter compute the same slot, and the store lets one of them run it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scanner.config import ScheduleConfig, cron_trigger


def slot_for(schedule: ScheduleConfig, now: datetime) -> datetime:
    """The fire time (no jitter) this firing at ``now`` belongs to.

    Fire times are walked forward from the start of the window; a daemon that starts a
    run later than the window (it cannot: APScheduler drops such misfires) would get
    ``now`` to the second, a slot of its own.
    """
    trigger = cron_trigger(schedule.cron, schedule.timezone)
    window = timedelta(seconds=schedule.jitter + schedule.misfire_grace + 1)
    fire = trigger.get_next_fire_time(None, now - window)
    last: datetime | None = None
    while fire is not None and fire <= now:
        last = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return last if last is not None else now.replace(microsecond=0)


def next_fire(schedule: ScheduleConfig, now: datetime) -> datetime | None:
    """When the schedule fires next after ``now`` (no jitter): what ``status`` reports
    before any daemon has registered the job."""
    fire = cron_trigger(schedule.cron, schedule.timezone).get_next_fire_time(None, now)
    return fire if isinstance(fire, datetime) else None
