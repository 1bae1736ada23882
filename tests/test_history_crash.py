"""Crash safety of the history store: a scan killed anywhere leaves history whole.

A store gets a good run; then ``scanner scan`` runs in a Python that patches ONE product
function to SIGKILL its own process at one point of the write path.  Afterwards every good
run is intact and ``complete``, the killed run reads ``interrupted`` (``complete`` only
when it was killed after it had finished), never ``running``; ``runs verify`` holds; the
next scan is not blocked by a leftover lock (``store.lock: refuse`` would fail at once) and
succeeds, and it is the good run before the next kill point of the chain; ``scanner drift``
compares the good runs.  On SQLite and on PostgreSQL.

SIGTERM during collection stops the scan as Ctrl-C does: exit 130, run ``interrupted``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from scanner.demo.server import MotoServer
from tests.historykit import (
    cli,
    make_snapshots,
    patched_cli_args,
    row_counts,
    run_id_of,
    run_patched,
    runs,
    show,
    sql,
    wait_for_dead_writer,
    write_config,
)
from tests.scenariokit import build_baseline

STORE = "store:\n  lock: refuse\n"


@pytest.fixture(scope="module")
def snapshots(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    return make_snapshots(
        moto_server.url, moto_server.reset, tmp_path_factory.mktemp("crash-snapshots")
    )


def _after(name: str, where: str) -> str:
    """Patch ``Store.name`` to SIGKILL right after the original returned."""
    return (
        f"orig = store_mod.Store.{name}\n"
        "def patched(self, *a, **k):\n"
        "    result = orig(self, *a, **k)\n"
        f"    die({where!r})\n"
        "    return result\n"
        f"store_mod.Store.{name} = patched\n"
    )


KILL_POINTS: dict[str, str] = {
    # The run row is committed as running; nothing else is written.
    "after_begin_run": _after("begin_run", "after begin_run"),
    # Resources and findings are inserted into save_results' transaction, not committed.
    "inside_store_findings": _after("_store_findings", "inside _store_findings"),
    # Snapshot and findings committed; no reports yet, the run is not sealed.
    "after_save_results": _after("save_results", "after save_results"),
    # findings.json written, the other reports not yet.
    "inside_write_reports": (
        "orig = run_mod.write_reports\n"
        "def patched(record, out_dir, formats, **kwargs):\n"
        "    orig(record, out_dir, ['json'], **kwargs)\n"
        "    die('inside write_reports')\n"
        "run_mod.write_reports = patched\n"
    ),
    # finish_run has updated the row (status, chain digest) in its transaction and is
    # about to record the chain head: nothing of it is committed.
    "inside_finish_run": (
        "orig = store_mod.Store._info\n"
        "def patched(conn, key, value):\n"
        "    if sys._getframe(1).f_code.co_name == 'finish_run':\n"
        "        die('inside finish_run')\n"
        "    return orig(conn, key, value)\n"
        "store_mod.Store._info = staticmethod(patched)\n"
    ),
    # The run is sealed and committed; only the closing summary is lost.
    "after_finish_run": _after("finish_run", "after finish_run"),
}
STORED = {"after_save_results", "inside_write_reports", "inside_finish_run", "after_finish_run"}


def run_row(store: str, run_id: str) -> dict[str, Any]:
    """The run's row as plain SQL reads it (digests, seq, status)."""
    rows = sql(
        store,
        "SELECT id, seq, status, snapshot_digest, findings_digest, chain_digest, prev_run_id "
        "FROM runs WHERE id = :id",
        id=run_id,
    )
    assert len(rows) == 1, (run_id, rows)
    keys = ("id", "seq", "status", "snapshot_digest", "findings_digest", "chain_digest", "prev")
    return dict(zip(keys, rows[0], strict=True))


def head(store: str) -> str | None:
    rows = sql(store, "SELECT value FROM store_info WHERE key = 'head_run_id'")
    return rows[0][0] if rows else None


# Two chains of kill points (one per half of the write path), each on its own store: the
# scan that recovers from one crash is the good run before the next.
CHAINS = {
    "store_write": ["after_begin_run", "inside_store_findings", "after_save_results"],
    "reports_and_seal": ["inside_write_reports", "inside_finish_run", "after_finish_run"],
}


def good_scan(store: str, snapshot: Path, out: Path, config: Path) -> tuple[str, str]:
    """A scan that must succeed: not blocked (lock: refuse fails at once), exit 0.
    Returns the run id and the scan's stdout."""
    proc = cli(
        "scan",
        "--snapshot",
        str(snapshot),
        "--output",
        str(out),
        "--fail-on",
        "high",
        store=store,
        config=config,
    )
    assert proc.returncode == 0, show(proc)
    run_id = run_id_of(proc)
    assert run_row(store, run_id)["status"] == "complete"
    return run_id, proc.stdout


def crash(point: str, store: str, snapshot: Path, out: Path, config: Path, known: set[str]) -> str:
    """``scanner scan`` killed at ``point``; returns the killed run's id."""
    killed = run_patched(
        KILL_POINTS[point],
        "scan",
        "--snapshot",
        str(snapshot),
        "--output",
        str(out),
        "--config",
        str(config),
        "--store",
        store,
        cwd=out.parent,
    )
    assert killed.returncode == -signal.SIGKILL, (point, show(killed))
    assert "KILLPOINT" in killed.stdout, (point, show(killed))
    wait_for_dead_writer(store)
    new = [i for (i,) in sql(store, "SELECT id FROM runs") if i not in known]
    assert len(new) == 1, (point, new)
    return new[0]


@pytest.mark.parametrize("chain", list(CHAINS))
def test_scans_killed_leave_history_whole(
    chain: str, store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    config = write_config(tmp_path / "cfg", STORE)
    out = tmp_path / "reports"
    # Good runs alternate between the two snapshots, so consecutive ones differ.
    snaps = list(snapshots)
    first, stdout = good_scan(store_url, snaps[0], out, config)
    assert "Drift: first run in this store" in stdout
    complete = [first]
    interrupted: list[str] = []

    for i, point in enumerate(CHAINS[chain]):
        sealed = {r: run_row(store_url, r) for r in complete}
        counts_before = row_counts(store_url)
        known = {*complete, *interrupted}
        killed_id = crash(point, store_url, snaps[(i + 1) % 2], out, config, known)

        listed = runs(store_url)  # the first command after the crash
        by_id = {r["id"]: r for r in listed}
        assert set(by_id) == {*known, killed_id}, (point, listed)
        for run_id in interrupted:  # earlier crashes stay as they were
            assert by_id[run_id]["status"] == "interrupted", (point, by_id[run_id])
        assert listed[0]["id"] == killed_id, (point, listed)  # newest first
        for run_id, row in sealed.items():
            assert by_id[run_id]["status"] == "complete", (point, by_id[run_id])
            for key in ("snapshot_digest", "findings_digest", "chain_digest"):
                assert by_id[run_id][key] == row[key], (point, run_id, key)
            assert run_row(store_url, run_id) == row, (point, run_id)

        k = run_row(store_url, killed_id)
        if point == "after_finish_run":
            # It had finished: sealed, chained to the last good run, head of the chain.
            assert by_id[killed_id]["status"] == "complete", (point, by_id[killed_id])
            assert k["chain_digest"] and k["prev"] == complete[-1], (point, k)
            assert head(store_url) == killed_id, point
        else:
            assert by_id[killed_id]["status"] == "interrupted", (point, by_id[killed_id])
            assert by_id[killed_id]["error"], (point, by_id[killed_id])
            assert k["chain_digest"] is None, (point, k)
            assert head(store_url) == complete[-1], point
        assert (k["seq"] is not None) == (point in STORED), (point, k)
        if point not in STORED:
            # Nothing of the killed run's data survived: its transaction never committed.
            after = row_counts(store_url)
            for table in ("blobs", "resource_versions", "finding_versions"):
                assert after[table] == counts_before[table], (point, table, counts_before, after)

        if point == "after_begin_run":
            # A run that stored nothing cannot be pinned: one line naming it, exit 2.
            pin = cli("baseline", "set", killed_id, "--name", "nope", store=store_url)
            assert pin.returncode == 2 and "Traceback" not in pin.stderr, show(pin)
            assert pin.stderr.strip() == (
                f"error: run {killed_id} is interrupted; only a complete or incomplete run "
                "can be a baseline"
            ), show(pin)

        verified = cli("runs", "verify", "--format", "json", store=store_url)
        assert verified.returncode == 0, (point, show(verified))
        assert json.loads(verified.stdout)["ok"] is True, point

        (complete if point == "after_finish_run" else interrupted).append(killed_id)
        previous = complete[-1]
        recovery, stdout = good_scan(store_url, snaps[len(complete) % 2], out, config)
        complete.append(recovery)
        # Its own drift summary skipped the killed run (unless that one had finished).
        assert f"Drift since previous run {previous}: " in stdout, (point, stdout)

    # `scanner drift` between the last two good runs, which saw different snapshots.
    drift = cli("drift", "--output", str(tmp_path / "drift"), store=store_url)
    assert drift.returncode == 0, show(drift)
    doc = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert (doc["from"]["run"], doc["to"]["run"]) == (previous, complete[-1])
    assert [r["resource_id"] for r in doc["resources"]] == ["nb2"]


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    """Lines of ``proc``'s stdout up to the one containing ``marker`` (bounded wait)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} from the scan: {seen}")


# The first collector task waits (as a slow AWS call would) until SIGTERM has arrived, then
# returns.  "COLLECTING" is printed once every task is queued and the scan waits for them
# (as_completed), so the signal always finds the rest queued.  Every task that starts
# after the signal says so.
SLOW_COLLECTION = """\
import time
state = {"calls": 0, "term": False}
orig_term = app_mod._terminate
def term(signum, frame):
    state["term"] = True
    orig_term(signum, frame)
app_mod._terminate = term
orig_as_completed = fanout_mod.as_completed
def as_completed(futures):
    print("COLLECTING %d tasks" % len(futures), flush=True)
    return orig_as_completed(futures)
fanout_mod.as_completed = as_completed
orig_collector = fanout_mod.run_collector
def patched(spec, factory, scope):
    state["calls"] += 1
    if state["term"]:
        print("STARTED AFTER SIGTERM " + spec.name, flush=True)
    if state["calls"] == 1:
        for _ in range(1200):
            if state["term"]:
                break
            time.sleep(0.1)
    return orig_collector(spec, factory, scope)
fanout_mod.run_collector = patched
"""


def test_sigterm_during_collection_records_the_run_interrupted(
    aws: Any, moto: MotoServer, store_url: str, tmp_path: Path
) -> None:
    build_baseline(aws)
    # One collector at a time, so the other collectors are still queued at the signal.
    config = write_config(tmp_path / "cfg")
    config.write_text(
        config.read_text().replace("collectors:\n", "collectors:\n  concurrency: 1\n")
    )
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        patched_cli_args(
            SLOW_COLLECTION,
            "scan",
            "--config",
            str(config),
            "--store",
            store_url,
            "--output",
            str(out),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "AWS_ENDPOINT_URL": moto.url},
    )
    try:
        _read_until(proc, "COLLECTING", timeout=120)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    result = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    assert proc.returncode == 130, show(result)
    assert "Traceback" not in stderr, show(result)
    assert not out.exists() or not any(out.rglob("findings.json"))

    [row] = runs(store_url)
    assert row["status"] == "interrupted", row
    assert "KeyboardInterrupt" in (row["error"] or ""), row
    assert row["finished_at"] and row["chain_digest"] is None
    verified = cli("runs", "verify", store=store_url)
    assert verified.returncode == 0, show(verified)

    # Last, because the product does not do it (see the report): once told to stop, the
    # scan starts no further collector (each would call AWS) before it exits.
    started_late = [line for line in stdout.splitlines() if "STARTED AFTER SIGTERM" in line]
    assert started_late == [], f"{len(started_late)} collector task(s) started after SIGTERM"
