"""The ``scanner schedule`` daemon, as a real process on a fast cron line.

Each test starts the real daemon against moto's server with a six-field cron line that
names one second of the minute, a few seconds ahead: it fires once, then stays idle for
most of a minute, so "idle" and "one cycle" are both observable.  The store is read back
with plain SQL, never through the scanner's classes.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from scanner.demo.server import MotoServer
from tests.faultproxy import FaultProxy
from tests.historykit import runs, sql
from tests.schedulekit import fire_second, schedule_config, start_daemon, wait_until


def slots(store: str) -> list[tuple[str, str]]:
    return [(str(s), str(r)) for s, r in sql(store, "SELECT slot, run_id FROM schedule_slots")]


def sqlite_store(directory: Path) -> str:
    return f"sqlite:///{directory / 'reports' / 'history.db'}"


def test_daemon_fires_on_its_cron_line_and_an_idle_stop_exits_0(
    moto: MotoServer, tmp_path: Path
) -> None:
    second, fire = fire_second()
    config = schedule_config(tmp_path, cron=f"{second} * * * * *")
    daemon = start_daemon(config, moto.url)
    daemon.wait_for("cycle finished")
    store = sqlite_store(tmp_path)
    [run] = runs(store)
    assert run["status"] == "complete"
    assert run["started_at"] >= fire.strftime("%Y-%m-%dT%H:%M:%S")
    # the slot is the cron fire time, claimed by that run
    [(slot, slot_run)] = slots(store)
    assert slot_run == run["id"]
    assert slot.startswith(fire.strftime("%Y-%m-%d %H:%M:%S"))
    # reports/<run-id>/ and reports/latest -> <run-id>
    latest = tmp_path / "reports" / "latest"
    assert latest.is_symlink() and latest.readlink() == Path(run["id"])
    assert (latest / "findings.json").is_file()
    # idle now (the next fire is a minute away): SIGTERM exits 0 at once
    assert daemon.stop() == 0, daemon.dump()
    lines = daemon.lines()
    assert lines[-1]["msg"] == "scheduler stopped"
    assert lines[-1]["interrupted_scan"] is False
    # every line carries run_id: the run's own during the cycle, null outside it
    assert all("run_id" in line for line in lines)
    cycle = [line for line in lines if line["run_id"] is not None]
    assert {line["run_id"] for line in cycle} == {run["id"]}
    assert {"cycle started", "cycle finished"} <= {line["msg"] for line in cycle}
    assert next(line for line in lines if line["msg"] == "scheduler started")["run_id"] is None


def test_a_fire_missed_while_down_runs_once_on_restart_and_never_again(
    moto: MotoServer, tmp_path: Path
) -> None:
    second, fire = fire_second(ahead=5.0)
    config = schedule_config(tmp_path, cron=f"{second} * * * * *")
    store = sqlite_store(tmp_path)
    first = start_daemon(config, moto.url, tag="1")
    first.wait_for("scheduler started")
    assert first.stop() == 0, first.dump()  # down before the fire time ...
    wait_until(lambda: time.time() > fire.timestamp() + 1.5, "the fire time to pass")
    assert runs(store) == []  # ... so nothing ran at it
    second_life = start_daemon(config, moto.url, tag="2")
    second_life.wait_for("cycle finished")  # the missed fire runs at once (misfire grace)
    assert second_life.stop() == 0, second_life.dump()
    [run] = runs(store)
    [(slot, slot_run)] = slots(store)
    assert slot.startswith(fire.strftime("%Y-%m-%d %H:%M:%S")) and slot_run == run["id"]
    # A third life within the same minute: the job store says the next fire is a minute
    # on, so the slot already run is not run again.
    third = start_daemon(config, moto.url, tag="3")
    third.wait_for("scheduler started")
    time.sleep(1.0)
    assert third.stop() == 0, third.dump()
    assert len(runs(store)) == 1
    assert "cycle started" not in third.messages()


@pytest.mark.postgres
def test_two_daemons_on_one_store_run_one_cycle(
    moto: MotoServer, tmp_path: Path, pg_store_url: str
) -> None:
    second, _fire = fire_second(ahead=6.0)
    one = schedule_config(tmp_path / "a", cron=f"{second} * * * * *", store=pg_store_url)
    two = schedule_config(tmp_path / "b", cron=f"{second} * * * * *", store=pg_store_url)
    a = start_daemon(one, moto.url, tag="a")
    b = start_daemon(two, moto.url, tag="b")
    try:
        wait_until(
            lambda: "cycle finished" in a.messages() + b.messages(),
            "one daemon to finish the cycle",
        )
        # the other one fired too, and stood down on the slot's claim
        wait_until(
            lambda: any(m.startswith("slot ") for m in a.messages() + b.messages()),
            "the other daemon to find the slot taken",
        )
    finally:
        codes = (a.stop(), b.stop())
    assert codes == (0, 0), a.dump() + b.dump()
    [run] = runs(pg_store_url)
    assert slots(pg_store_url)[0][1] == run["id"]
    assert len(slots(pg_store_url)) == 1
    ran = [d for d in (a, b) if "cycle finished" in d.messages()]
    stood_down = [d for d in (a, b) if any(m.startswith("slot ") for m in d.messages())]
    assert len(ran) == 1 and len(stood_down) == 1 and ran[0] is not stood_down[0]
    line = next(x for x in stood_down[0].lines() if str(x["msg"]).startswith("slot "))
    assert line["held_by"] == run["id"]


def test_sigterm_mid_scan_records_interrupted_and_sends_no_further_aws_call(
    moto: MotoServer, tmp_path: Path
) -> None:
    with FaultProxy(moto.url) as proxy:
        proxy.delay = 1.5  # a slow AWS: the scan takes many seconds
        second, _fire = fire_second()
        config = schedule_config(tmp_path, cron=f"{second} * * * * *")
        daemon = start_daemon(config, proxy.url)
        wait_until(lambda: len(proxy.arrivals) >= 6, "the scan to be calling AWS", daemon)
        store = sqlite_store(tmp_path)
        [(running_id, running_status)] = sql(store, "SELECT id, status FROM runs")
        assert running_status == "running"
        signalled = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        code = daemon.proc.wait(timeout=60)
        # In-flight requests were sent before the signal; none may start after it (a
        # second of slack for the signal to be handled and a request already leaving).
        late = [op for t, op in proxy.arrivals if t > signalled + 1.0]
    assert code == 130, daemon.dump()
    assert late == [], f"AWS calls after SIGTERM: {late}"
    [run] = runs(store)
    assert run["id"] == running_id
    assert run["status"] == "interrupted"
    assert run["error"] == "stopped by Interrupted"
    # nothing half-written: no reports for it, no latest link
    assert not (tmp_path / "reports" / "latest").exists()
    assert not (tmp_path / "reports" / run["id"] / "findings.json").exists()
    assert daemon.lines()[-1]["interrupted_scan"] is True
