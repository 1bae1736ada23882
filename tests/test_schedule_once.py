"""``scanner schedule --once`` and ``scanner schedule status``: the cron way to run the job.

Every command is the real CLI in a subprocess against moto's server; the store is read
back with plain SQL or ``runs list``.  An empty moto account has two FAILs at high and
medium severity (no CloudTrail trail, the default security group's egress rule), which
is what separates exit status 0 (``fail_on: critical``) from 1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError

from scanner.config import Config
from scanner.demo.server import MotoServer, free_port
from scanner.schedule.cycle import run_cycle
from tests.clikit import run_cli
from tests.faultproxy import FaultProxy
from tests.historykit import runs, show, sql
from tests.schedulekit import schedule_config, wait_until

NEVER = "0 3 1 1 *"  # 03:00 on 1 January: the daemon-less tests never reach it


def once(config: Path, aws_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "schedule", "--once", "--config", str(config), *args,
        env={"AWS_ENDPOINT_URL": aws_url, **env},
    )  # fmt: skip


def status(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("schedule", "status", "--config", str(config), *args)


def status_json(config: Path) -> tuple[int, dict[str, Any]]:
    proc = status(config, "--format", "json")
    return proc.returncode, json.loads(proc.stdout)


def test_once_exits_with_the_scans_status_and_links_latest(
    moto: MotoServer, tmp_path: Path
) -> None:
    strict = schedule_config(tmp_path, cron=NEVER)
    lenient = schedule_config(tmp_path, cron=NEVER, extra="fail_on: critical\n", name="c2.yaml")
    failing = once(strict, moto.url)
    assert failing.returncode == 1, show(failing)
    clean = once(lenient, moto.url)
    assert clean.returncode == 0, show(clean)
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"
    listed = runs(store)
    assert [r["status"] for r in listed] == ["complete", "complete"]
    assert [r["exit_code"] for r in listed] == [0, 1]  # newest first
    latest = tmp_path / "reports" / "latest"
    assert latest.readlink() == Path(listed[0]["id"])  # moved to the newer run
    # --once claims no schedule slot: it is an explicit request, always run
    assert sql(store, "SELECT count(*) FROM schedule_slots") == [(0,)]


def test_once_exit_2_on_a_bad_config_with_file_and_line(tmp_path: Path) -> None:
    config = schedule_config(tmp_path, cron="0 25 * * *")
    proc = once(config, "http://127.0.0.1:9")
    assert proc.returncode == 2, show(proc)
    assert f"{config}:" in proc.stderr and "schedule.cron" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()  # nothing was started


def test_once_refuses_to_start_on_a_missing_notify_secret_naming_file_and_line(
    tmp_path: Path,
) -> None:
    hook = "notify:\n  targets:\n    - name: hook\n      kind: webhook\n      url_env: PLS_NO_SUCH_HOOK\n"
    config = schedule_config(tmp_path, cron=NEVER, extra=hook)
    line = config.read_text().splitlines().index("      url_env: PLS_NO_SUCH_HOOK") + 1
    proc = once(config, "http://127.0.0.1:9")
    assert proc.returncode == 2, show(proc)
    assert (
        f"{config}:{line}: notify.targets.0.url_env: environment variable PLS_NO_SUCH_HOOK "
        "is not set"
    ) in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "reports").exists()  # refused before any scan


def test_once_exit_3_when_aws_is_unreachable_and_status_then_says_no_complete_run(
    tmp_path: Path,
) -> None:
    config = schedule_config(tmp_path, cron=NEVER, extra="retries:\n  max_attempts: 1\n")
    text = config.read_text().replace("retries:\n  max_attempts: 4\n", "")
    config.write_text(text)
    proc = once(config, f"http://127.0.0.1:{free_port()}")
    assert proc.returncode == 3, show(proc)
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"
    assert [r["status"] for r in runs(store)] == ["incomplete"]
    code, doc = status_json(config)
    assert code == 1
    assert doc["healthy"] is False
    assert doc["last_run"]["status"] == "incomplete"
    assert doc["last_complete_run"] is None


def test_status_exit_1_before_any_store_exists_and_creates_none(tmp_path: Path) -> None:
    config = schedule_config(tmp_path, cron="0 2 * * *", extra="")
    proc = status(config)
    assert proc.returncode == 1, show(proc)
    assert proc.stdout.startswith("STALE: no run yet")
    code, doc = status_json(config)
    assert code == 1 and doc["last_run"] is None and doc["scheduled"] is False
    # the next fire time comes from config, ISO 8601 with its zone
    assert doc["next_fire_time"].endswith("T02:00:00+00:00")
    assert not (tmp_path / "reports").exists()


def test_status_healthy_then_stale_by_max_age(moto: MotoServer, tmp_path: Path) -> None:
    config = schedule_config(tmp_path, cron="30 4 * * *", extra="fail_on: critical\n")
    done = once(config, moto.url)
    assert done.returncode == 0, show(done)
    code, doc = status_json(config)
    assert code == 0, doc
    assert doc["healthy"] is True
    assert doc["last_run"]["id"] == doc["last_complete_run"]["id"]
    assert doc["last_run"]["status"] == "complete"
    assert 0 <= doc["age_hours"] < 0.1
    assert doc["next_fire_time"].endswith("T04:30:00+00:00")
    # Same store, a limit of 0.36 s: by the time status runs, the run is older.
    stale = config.with_name("stale.yaml")
    stale.write_text(config.read_text().replace("misfire_grace: 60", "max_age_hours: 0.0001"))
    time.sleep(0.5)
    proc = status(stale)
    assert proc.returncode == 1, show(proc)
    assert proc.stdout.startswith("STALE: last complete run") and "older than" in proc.stdout


def _slow_once(config: Path, proxy: FaultProxy) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "scanner", "schedule", "--once", "--config", str(config)],
        cwd=config.parent,
        env={**_env(), "AWS_ENDPOINT_URL": proxy.url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _env() -> dict[str, str]:
    return dict(os.environ)


def _running(store: str) -> list[str]:
    """Ids of the runs reading ``running`` (none while the store is still being created:
    the file exists before its tables do)."""
    try:
        rows = sql(store, "SELECT id FROM runs WHERE status = 'running'")
    except DBAPIError:
        return []
    return [str(r[0]) for r in rows]


def test_overlap_refuses_or_waits_and_status_answers_during_the_scan(
    moto: MotoServer, tmp_path: Path
) -> None:
    config = schedule_config(tmp_path, cron=NEVER, extra="fail_on: critical\n")
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"
    with FaultProxy(moto.url) as proxy:
        proxy.delay = 2.0  # slow until the refusal is seen, then full speed
        nightly = _slow_once(config, proxy)
        wait_until(lambda: len(_running(store)) == 1, "the nightly scan to be running")
        [nightly_id] = _running(store)
        # status answers while the scan holds the store
        code, doc = status_json(config)
        assert code == 1 and doc["last_run"]["id"] == nightly_id
        assert doc["last_run"]["status"] == "running"
        # store.lock: refuse -> exit 2 at once, naming the running run
        refuse = config.with_name("refuse.yaml")
        refuse.write_text(config.read_text() + "store:\n  lock: refuse\n")
        refused = run_cli("scan", "--config", str(refuse), env={"AWS_ENDPOINT_URL": moto.url})
        assert refused.returncode == 2, show(refused)
        assert f"run {nightly_id}" in refused.stderr and "refuse" in refused.stderr
        proxy.delay = 0.0
        # store.lock: wait (the default) -> runs once the nightly one has finished
        waited = run_cli("scan", "--config", str(config), env={"AWS_ENDPOINT_URL": moto.url})
        assert waited.returncode == 0, show(waited)
        assert nightly.wait(timeout=120) == 0, nightly.communicate()
    rows = {r["id"]: r for r in runs(store)}
    assert len(rows) == 2 and rows[nightly_id]["status"] == "complete"
    [other] = [r for i, r in rows.items() if i != nightly_id]
    assert other["started_at"] >= rows[nightly_id]["finished_at"]


def test_once_sigterm_mid_scan_records_interrupted_and_exits_130(
    moto: MotoServer, tmp_path: Path
) -> None:
    config = schedule_config(tmp_path, cron=NEVER)
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"
    with FaultProxy(moto.url) as proxy:
        proxy.delay = 1.5
        proc = _slow_once(config, proxy)
        wait_until(lambda: len(proxy.arrivals) >= 6, "the scan to be calling AWS")
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        late = [op for t, op in proxy.arrivals if t > signalled + 1.0]
    _out, err = proc.communicate()
    assert code == 130, err
    assert late == []
    assert [(r["status"], r["error"]) for r in runs(store)] == [
        ("interrupted", "stopped by Interrupted")
    ]
    assert "Traceback" not in err
    assert not (tmp_path / "reports" / "latest").exists()


def test_a_scheduled_cycle_whose_store_cannot_be_opened_returns_2_and_raises_nothing(
    tmp_path: Path,
) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/test"
    config = Config(store={"url": dead}, output={"dir": str(tmp_path / "reports")})
    result = run_cycle(config, slot=datetime.now(UTC))
    assert (result.status, result.exit_code, result.record) == ("refused", 2, None)
    assert result.error is not None and "cannot be opened" in result.error
    assert not (tmp_path / "reports").exists()
