"""Helpers for the nightly-job tests: real daemons in subprocesses, their JSON logs.

The daemon under test is the real ``scanner schedule`` process, started with a cron line
that fires a few seconds from now (six fields, seconds first), reaching moto's server over
HTTP.  Waiting is by polling what the daemon writes (its log lines, the store), never by
sleeping for a guessed time; every wait has a generous deadline, and a miss fails with
the daemon's log.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.historykit import CONFIG

DEADLINE_S = 90.0


def fire_second(ahead: float = 4.0) -> tuple[int, datetime]:
    """A second-of-minute ``ahead`` seconds from now, and the fire time it names."""
    now = time.time()
    at = int(now + ahead) + 1
    return at % 60, datetime.fromtimestamp(at, UTC)


def schedule_config(
    directory: Path,
    *,
    cron: str,
    store: str | None = None,
    extra: str = "",
    name: str = "config.yaml",
) -> Path:
    """The test scan config with a ``schedule:`` section (jitter 0: the tests know when it
    fires) and JSON logs."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (
        CONFIG
        + f"""\
log_format: json
output:
  dir: {directory / "reports"}
schedule:
  cron: "{cron}"
  jitter: 0
  misfire_grace: 60
"""
    )
    if store:
        text += f"store:\n  url: {store}\n"
    path = directory / name
    path.write_text(text + extra)
    return path


@dataclass
class Daemon:
    """A running ``scanner schedule`` subprocess and the file its stderr goes to."""

    proc: subprocess.Popen[str]
    log_path: Path

    def lines(self) -> list[dict[str, Any]]:
        """Every JSON log line so far (a line that is not JSON fails the test: the daemon
        logs JSON only)."""
        out = []
        for raw in self.log_path.read_text().splitlines():
            if raw.strip():
                try:
                    out.append(json.loads(raw))
                except json.JSONDecodeError:
                    raise AssertionError(f"not a JSON log line: {raw!r}") from None
        return out

    def messages(self) -> list[str]:
        return [str(line.get("msg")) for line in self.lines()]

    def wait_for(self, msg: str, count: int = 1, timeout: float = DEADLINE_S) -> None:
        """Until ``count`` log lines say ``msg`` (the daemon must still be running)."""
        wait_until(
            lambda: self.messages().count(msg) >= count,
            f"{count} x {msg!r}",
            self,
            timeout,
        )

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def dump(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else "(no log)"


_STARTED: list[Daemon] = []


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    """Kill every daemon a test started, whether or not the test got to stop it."""
    yield
    while _STARTED:
        daemon = _STARTED.pop()
        if daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait(timeout=30)


def start_daemon(
    config: Path, aws_url: str, *args: str, env: dict[str, str] | None = None, tag: str = "d"
) -> Daemon:
    """``scanner schedule --config CONFIG ARGS`` in the config's directory (killed at the
    end of the test if still running)."""
    log_path = config.parent / f"daemon-{tag}.log"
    handle = log_path.open("w")
    full_env = {**os.environ, "AWS_ENDPOINT_URL": aws_url, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scanner", "schedule", "--config", str(config), *args],
        cwd=config.parent,
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=handle,
        text=True,
    )
    handle.close()
    daemon = Daemon(proc, log_path)
    _STARTED.append(daemon)
    return daemon


def wait_until(
    predicate: Callable[[], bool],
    what: str,
    daemon: Daemon | None = None,
    timeout: float = DEADLINE_S,
) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` (with the daemon's log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if daemon is not None and daemon.proc.poll() is not None:
            raise AssertionError(
                f"daemon exited {daemon.proc.returncode} before {what}:\n{daemon.dump()}"
            )
        time.sleep(0.1)
    raise AssertionError(
        f"timed out waiting for {what}" + (f":\n{daemon.dump()}" if daemon else "")
    )
