"""Crash safety of the history store: a scan killed anywhere leaves history whole.

A scan (``scanner scan``, or the nightly ``scanner schedule --once``) runs in a Python that
patches ONE product function to SIGKILL its own process at one of :data:`KILL_POINTS`
(22, from a migration on a fresh store to the metrics textfile; see each comment).  The
points form one chain on one store: after each kill every good run is intact (row and
digests unchanged) and ``complete``, the killed run reads ``interrupted`` (``complete``
only when it was killed after it had been sealed), never ``running``; an uncommitted run
left no rows; its files are whole or only a temp file; ``runs verify`` holds; and the next
scan is not blocked by a leftover lock (``store.lock: refuse`` would fail at once),
succeeds, and is the good run before the next kill point.  All points on SQLite,
:data:`PG_POINTS` (one of each kind of state) on PostgreSQL.  The checks after a kill run
in one Python (:func:`tests.historykit.cli_batch`): the points cost a process start each.

SIGTERM during collection stops the scan as Ctrl-C does: exit 130, run ``interrupted``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scanner.demo.server import MotoServer
from tests.historykit import (
    cli,
    cli_batch,
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

# Every report format and its file, in the order a scan writes them.
REPORT_FILES = {
    "json": "findings.json",
    "csv": "findings.csv",
    "html": "report.html",
    "compliance": "compliance-*.csv",
    "ocsf": "findings.ocsf.json",
    "asff": "findings.asff.json",
    "xlsx": "findings.xlsx",
}
FORMATS = list(REPORT_FILES)


def chain_config(directory: Path, out: Path) -> Path:
    """The test config, the store refusing a held lock, every report format into ``out``
    (``scanner schedule --once`` takes its output directory from the config)."""
    formats = ", ".join(FORMATS)
    return write_config(
        directory, f"store:\n  lock: refuse\noutput:\n  dir: {out}\n  formats: [{formats}]\n"
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


def _nth_blob_write(n: int, where: str) -> str:
    """SIGKILL after the ``n``-th ``_put_blobs`` of a run (1: the resources', 2: the
    findings'), its rows inserted into the open transaction."""
    return (
        "orig = store_mod.Store._put_blobs\n"
        "calls = []\n"
        "def patched(self, conn, packed):\n"
        "    orig(self, conn, packed)\n"
        "    calls.append(len(packed))\n"
        f"    if len(calls) == {n}:\n"
        f"        die({where!r} + ' (%d blobs)' % len(packed))\n"
        "store_mod.Store._put_blobs = patched\n"
    )


def _at_commit(method: str) -> str:
    """SIGKILL when ``Store.method``'s transaction is about to COMMIT (SQLAlchemy's
    ``commit`` event fires before the COMMIT is sent): every statement ran, none is kept."""
    return (
        "import sqlalchemy as sa\n"
        f"orig = store_mod.Store.{method}\n"
        "def patched(self, *a, **k):\n"
        f"    sa.event.listen(self.engine, 'commit', lambda conn: die('at the COMMIT of {method}'))\n"
        "    return orig(self, *a, **k)\n"
        f"store_mod.Store.{method} = patched\n"
    )


def _before_rename(module: str, prefix: str) -> str:
    """SIGKILL in ``module`` between writing a temp file and renaming it over the file
    whose name starts with ``prefix``: the temp is whole, the real name not yet there."""
    return (
        "import importlib, os as real_os\n"
        f"target = importlib.import_module({module!r})\n"
        "class Os:\n"
        "    def __getattr__(self, name):\n"
        "        return getattr(real_os, name)\n"
        "    def replace(self, src, dst):\n"
        f"        if real_os.path.basename(str(dst)).startswith({prefix!r}):\n"
        f"            die('before the rename of ' + real_os.path.basename(str(dst)))\n"
        "        real_os.replace(src, dst)\n"
        "target.os = Os()\n"
    )


MID_MIGRATION = """\
import scanner.history.database as db_mod
from alembic import command
from alembic.config import Config as AlembicConfig
def patched(conn):
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(db_mod.MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, "0003")
    die("mid-migration, 0003 of 0005 applied")
store_mod.upgrade = patched
"""

INSIDE_FINISH_RUN = """\
orig = store_mod.Store._info
def patched(conn, key, value):
    if sys._getframe(1).f_code.co_name == 'finish_run':
        die('inside finish_run')
    return orig(conn, key, value)
store_mod.Store._info = staticmethod(patched)
"""


@dataclass(frozen=True)
class Point:
    """One kill point: the patch, the command killed, and what the kill leaves."""

    patch: str
    command: str = "scan"  # or "cycle": ``scanner schedule --once`` (collects from moto)
    runless: bool = False  # killed before its run row existed (opening a fresh store)
    stored: bool = False  # the killed run's snapshot and findings were committed
    sealed: bool = False  # the killed run had been sealed (it reads complete)
    temp_of: str | None = None  # the report file left as a temp only


_REPORT = "scanner.private"  # every report, and the metrics textfile, renamed there
KILL_POINTS: dict[str, Point] = {
    # Fresh store: Alembic has run 0001-0003 in the open transaction; nothing is kept.
    "mid_migration": Point(MID_MIGRATION, runless=True),
    # The schema is committed; no run yet (on the store the previous kill left).
    "after_migration": Point(_after("_migrate", "after the migration"), runless=True),
    # The run row is committed as running; nothing else is written.
    "after_begin_run": Point(_after("begin_run", "after begin_run")),
    # save_results' transaction holds the new resource blobs only.
    "after_resource_blobs": Point(_nth_blob_write(1, "after the resource blobs")),
    # ... and the resource versions (old ones closed, new ones opened).
    "after_resource_versions": Point(_after("_store_resources", "after _store_resources")),
    # ... and the finding blobs.
    "after_finding_blobs": Point(_nth_blob_write(2, "after the finding blobs")),
    # ... and the finding versions; the run row is not updated yet.
    "after_finding_versions": Point(_after("_store_findings", "after _store_findings")),
    # Everything of save_results executed, the COMMIT not sent.
    "at_results_commit": Point(_at_commit("save_results")),
    # Snapshot and findings committed; no reports yet, the run is not sealed.
    "after_save_results": Point(_after("save_results", "after save_results"), stored=True),
    # Each report format killed between its temp file and the rename (formats in order).
    **{
        f"before_rename_{fmt}": Point(
            _before_rename(_REPORT, name.split("*")[0]), stored=True, temp_of=name
        )
        for fmt, name in REPORT_FILES.items()
    },
    # finish_run has updated the row (status, chain digest) in its transaction and is
    # about to record the chain head: nothing of it is committed.
    "inside_finish_run": Point(INSIDE_FINISH_RUN, stored=True),
    # The seal and the new head executed, the COMMIT not sent.
    "at_seal_commit": Point(_at_commit("finish_run"), stored=True),
    # The run is sealed and committed; only the closing summary is lost.
    "after_finish_run": Point(_after("finish_run", "after finish_run"), stored=True, sealed=True),
    # The nightly cycle (it collects): its snapshot file written to a temp, no report yet.
    "cycle_before_snapshot_rename": Point(
        _before_rename("scanner.model.snapshot", "snapshot.json.gz"),
        "cycle",
        stored=True,
        temp_of="snapshot.json.gz",
    ),
    # ... its run sealed: the new ``latest`` link made, not yet renamed ...
    "cycle_before_latest_rename": Point(
        _before_rename("scanner.schedule.cycle", "latest"), "cycle", stored=True, sealed=True
    ),
    # ... and the metrics textfile written to its temp, not yet renamed.
    "cycle_before_metrics_rename": Point(
        _before_rename(_REPORT, "scanner.prom"), "cycle", stored=True, sealed=True
    ),
}
ALL_POINTS = list(KILL_POINTS)
# PostgreSQL: one of each kind of state (the SQLite chain has them all).
PG_POINTS = [
    "mid_migration",
    "after_begin_run",
    "after_finding_versions",
    "at_results_commit",
    "before_rename_html",
    "at_seal_commit",
    "after_finish_run",
]


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


def run_ids(store: str) -> set[str]:
    """Every run id in the store (none when the schema is not there yet)."""
    try:
        return {i for (i,) in sql(store, "SELECT id FROM runs")}
    except sa.exc.DBAPIError:
        return set()


@dataclass
class Chain:
    """One store, a chain of kills; the good run after each kill is the next one's
    predecessor.  Every scan reads one of two snapshots in turn (consecutive runs
    differ); cycles collect the moto account."""

    store: str
    snapshots: list[Path]
    config: Path
    out: Path
    metrics: Path
    complete: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)

    def argv(self, command: str) -> list[str]:
        if command == "cycle":
            return ["schedule", "--once", "--metrics-file", str(self.metrics)]
        snapshot = self.snapshots[len(self.complete) % 2]
        return ["scan", "--snapshot", str(snapshot), "--fail-on", "high"]

    def last(self) -> str | None:
        """The last good run (None before the first)."""
        return self.complete[-1] if self.complete else None

    def common(self) -> list[str]:
        return ["--config", str(self.config), "--store", self.store]


def check_good_run(chain: Chain, proc: subprocess.CompletedProcess[str], command: str) -> str:
    """A good scan or cycle: exit 0/1 (never blocked: lock refuse fails at once), its run
    sealed after the last good run and the head of the chain."""
    assert proc.returncode in (0, 1), show(proc)
    assert "Traceback" not in proc.stderr, show(proc)
    run_id = run_id_of(proc)
    row = run_row(chain.store, run_id)
    assert row["status"] == "complete", row
    assert row["prev"] == (chain.complete[-1] if chain.complete else None), row
    assert head(chain.store) == run_id
    if command == "scan" and chain.complete:
        # Its drift summary skipped the killed runs (unless one had finished).
        assert f"Drift since previous run {chain.complete[-1]}: " in proc.stdout, show(proc)
    elif command == "scan":
        assert "Drift: first run in this store" in proc.stdout, show(proc)
    if command == "cycle":
        assert os.readlink(chain.out / "latest") == run_id
        assert f"privatelink_scanner_exit_code {float(proc.returncode)}" in (
            chain.metrics.read_text()
        )
    chain.complete.append(run_id)
    return run_id


def check_killed(
    chain: Chain, name: str, killed_id: str | None, listed: list[dict[str, Any]]
) -> None:
    """What the kill at ``name`` left: the killed run's status, data and files."""
    point = KILL_POINTS[name]
    by_id = {r["id"]: r for r in listed}
    if killed_id is None:
        assert point.runless, name
        return
    k = run_row(chain.store, killed_id)
    assert listed[0]["id"] == killed_id, (name, listed)  # newest first
    if point.sealed:
        # It had finished: sealed, chained to the last good run, head of the chain.
        assert by_id[killed_id]["status"] == "complete", (name, by_id[killed_id])
        assert k["chain_digest"] and k["prev"] == chain.last(), (name, k)
    else:
        assert by_id[killed_id]["status"] == "interrupted", (name, by_id[killed_id])
        assert by_id[killed_id]["error"], (name, by_id[killed_id])
        assert k["chain_digest"] is None, (name, k)
    assert (k["seq"] is not None) == point.stored, (name, k)


def check_files(chain: Chain, name: str, killed_id: str | None, metrics: bytes | None) -> None:
    """The files the kill at ``name`` left, read before any later command writes more."""
    point = KILL_POINTS[name]
    if killed_id is None:
        return
    if point.temp_of is not None:
        # The reports before it are whole; it exists only as a temp file beside them.
        files = sorted(p.name for p in (chain.out / killed_id).iterdir())
        stem = point.temp_of.split("*")[0]
        assert not [f for f in files if f.startswith(stem)], (name, files)
        assert [f for f in files if f.startswith(f".{stem}") and f.endswith(".tmp")], (name, files)
        names = ["snapshot.json.gz", *REPORT_FILES.values()]
        for earlier in names[1 : names.index(point.temp_of)]:
            assert list((chain.out / killed_id).glob(earlier)), (name, earlier, files)
    if name == "cycle_before_latest_rename":
        # ``latest`` still names the last good cycle's run; the new link is a temp only.
        assert os.readlink(chain.out / "latest") == chain.complete[-1], name
        [temp] = chain.out.glob(".latest.*")
        assert os.readlink(temp) == killed_id, name
        temp.unlink()  # a leftover of the dead process (its pid names it)
    if name == "cycle_before_metrics_rename":
        # The textfile is still the last good cycle's, whole; the new one a temp only.
        assert os.readlink(chain.out / "latest") == killed_id, name
        assert metrics is not None and chain.metrics.read_bytes() == metrics, name
        [temp] = chain.metrics.parent.glob(".scanner.prom.*.tmp")
        assert b"privatelink_scanner_exit_code" in temp.read_bytes(), name


def kill_chain(chain: Chain, points: list[str]) -> None:
    """Each point in turn: kill, check, verify, then the good run the next point follows."""
    for i, name in enumerate(points):
        point = KILL_POINTS[name]
        sealed = {r: run_row(chain.store, r) for r in chain.complete}
        known = {*chain.complete, *chain.interrupted}
        counts_before = row_counts(chain.store) if known else None
        metrics = chain.metrics.read_bytes() if chain.metrics.exists() else None
        killed = run_patched(
            point.patch, *chain.argv(point.command), *chain.common(), cwd=chain.out.parent
        )
        assert killed.returncode == -signal.SIGKILL, (name, show(killed))
        assert "KILLPOINT" in killed.stdout, (name, show(killed))
        wait_for_dead_writer(chain.store)
        new = run_ids(chain.store) - known
        assert len(new) == (0 if point.runless else 1), (name, new)
        killed_id = next(iter(new), None)
        # Read with plain SQL before any command touches the store: the head moved only
        # if the killed run had been sealed, and an uncommitted run left no rows behind.
        if not point.runless:
            assert head(chain.store) == (killed_id if point.sealed else chain.last()), name
        if counts_before is not None and not point.stored:
            after = row_counts(chain.store)
            for table in ("blobs", "resource_versions", "finding_versions"):
                assert after[table] == counts_before[table], (name, table, counts_before, after)

        nxt = KILL_POINTS[points[i + 1]] if i + 1 < len(points) else point
        if point.runless and nxt.runless:
            # Killed mid-migration: nothing of it was kept, not even one table (Alembic
            # ran in one transaction); the next kill's scan must migrate it again.
            assert sa.inspect(sa.create_engine(chain.store)).get_table_names() == [], name
            continue
        check_files(chain, name, killed_id, metrics)
        # One Python for the rest: the first command after the crash lists the runs (and
        # turns the dead run interrupted), verify, then the next good run.
        commands = [["runs", "list", "--format", "json", *chain.common()]]
        commands.append(["runs", "verify", "--format", "json", *chain.common()])
        commands.append([*chain.argv(nxt.command), *chain.common()])
        done = cli_batch(*commands, cwd=chain.out.parent)
        assert len(done) == len(commands), (name, [show(p) for p in done])
        listing, verified = done[0], done[1]
        assert listing.returncode == 0, (name, show(listing))
        listed = json.loads(listing.stdout)
        by_id = {r["id"]: r for r in listed}
        assert set(by_id) == known | new, (name, listed)
        for run_id in chain.interrupted:  # earlier crashes stay as they were
            assert by_id[run_id]["status"] == "interrupted", (name, by_id[run_id])
        for run_id, row in sealed.items():  # every earlier good run untouched
            assert by_id[run_id]["status"] == "complete", (name, by_id[run_id])
            assert run_row(chain.store, run_id) == row, (name, run_id)
        check_killed(chain, name, killed_id, listed)
        assert verified.returncode == 0, (name, show(verified))
        assert json.loads(verified.stdout)["ok"] is True, (name, verified.stdout)

        if killed_id is not None:
            (chain.complete if point.sealed else chain.interrupted).append(killed_id)
        check_good_run(chain, done[2], nxt.command)


@pytest.mark.parametrize("store_kind", ["sqlite", "postgresql"])
def test_scans_killed_leave_history_whole(
    store_kind: str,
    request: pytest.FixtureRequest,
    snapshots: tuple[Path, Path],
    aws: Any,
    tmp_path: Path,
) -> None:
    if store_kind == "sqlite":
        store, points = f"sqlite:///{tmp_path / 'history.db'}", ALL_POINTS
    else:
        store, points = str(request.getfixturevalue("pg_store_url")), PG_POINTS
    if any(KILL_POINTS[p].command == "cycle" for p in points):
        build_baseline(aws)  # the account the cycles collect
    out = tmp_path / "reports"
    chain = Chain(
        store,
        list(snapshots),
        chain_config(tmp_path / "cfg", out),
        out,
        tmp_path / "m" / "scanner.prom",
    )
    kill_chain(chain, points)
    assert len(chain.interrupted) == sum(
        not (KILL_POINTS[p].sealed or KILL_POINTS[p].runless) for p in points
    )

    # A run killed after it stored nothing cannot be pinned: one line naming it, exit 2.
    nothing = next(r for r in chain.interrupted if run_row(store, r)["seq"] is None)
    pin = cli("baseline", "set", nothing, "--name", "nope", store=store)
    assert pin.returncode == 2 and "Traceback" not in pin.stderr, show(pin)
    assert pin.stderr.strip() == (
        f"error: run {nothing} is interrupted; only a complete or incomplete run can be a baseline"
    ), show(pin)

    # `scanner drift` between two consecutive good scans, which saw different snapshots.
    scans = [r for r in chain.complete if run_row(store, r)["seq"] is not None]
    first, second = scans[0], scans[1]
    drift = cli(
        "drift", "--from", first, "--to", second, "--output", str(tmp_path / "drift"), store=store
    )
    assert drift.returncode == 0, show(drift)
    doc = json.loads((tmp_path / "drift" / "drift.json").read_text())
    assert (doc["from"]["run"], doc["to"]["run"]) == (first, second)
    assert [r["resource_id"] for r in doc["resources"]] == ["nb2"]


def test_twenty_distinct_kill_points() -> None:
    """The issue asks for at least 20 kill points across the whole write path."""
    assert len(ALL_POINTS) >= 20, ALL_POINTS
    assert len({p.patch for p in KILL_POINTS.values()}) == len(KILL_POINTS)
    assert set(PG_POINTS) < set(ALL_POINTS)


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
# returns.  "COLLECTING" is printed once every ready task is queued and the scan first waits
# for them (``wait``), so the signal always finds the rest queued.  Every task that starts
# after the signal says so.
SLOW_COLLECTION = """\
import time
state = {"calls": 0, "term": False}
orig_term = app_mod._terminate
def term(signum, frame):
    state["term"] = True
    orig_term(signum, frame)
app_mod._terminate = term
orig_wait = fanout_mod.wait
def wait(futures, *args, **kwargs):
    if not state.get("collecting"):
        state["collecting"] = True
        print("COLLECTING %d tasks" % len(futures), flush=True)
    return orig_wait(futures, *args, **kwargs)
fanout_mod.wait = wait
orig_collector = fanout_mod.run_collector
def patched(spec, factory, scope, *args):
    state["calls"] += 1
    if state["term"]:
        print("STARTED AFTER SIGTERM " + spec.name, flush=True)
    if state["calls"] == 1:
        for _ in range(1200):
            if state["term"]:
                break
            time.sleep(0.1)
    return orig_collector(spec, factory, scope, *args)
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
