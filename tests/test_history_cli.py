"""The history commands end to end: the zero-config store, ``runs``, errors, ``runs verify``,
the writer lock, evidence packs and retention.  Real CLI in subprocesses; SQLite and
PostgreSQL wherever a store is involved.

Most scans here evaluate stored snapshots of the scenario account (``scanner scan
--snapshot``): the store sees exactly what a live scan would store, without the collection.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from scanner.demo.server import MotoServer, free_port
from scanner.history.schema import HEAD_REVISION
from tests.clikit import run_cli
from tests.historykit import (
    CONFIG,
    cli,
    findings_json,
    row_counts,
    run_id_of,
    run_patched,
    runs,
    show,
    sql,
    write_config,
)
from tests.scenariokit import build_baseline


def offline_scan(
    store: str, snapshot: Path, out: Path, config: Path | None = None, *extra: str
) -> subprocess.CompletedProcess[str]:
    """``scanner scan --snapshot`` (exit 1: the scenario account's imdsv2 FAILs)."""
    return cli(
        "scan",
        "--snapshot",
        str(snapshot),
        "--output",
        str(out),
        *extra,
        store=store,
        config=config,
    )


def stored_run(store: str, snapshot: Path, out: Path, config: Path | None = None) -> str:
    proc = offline_scan(store, snapshot, out, config)
    assert proc.returncode == 1, show(proc)
    return run_id_of(proc)


def is_alembic_chatter(line: str) -> bool:
    return line.startswith("INFO alembic.")


def one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, no traceback, stderr exactly one ``error: ...`` line containing ``needles``."""
    assert proc.returncode == 2, show(proc)
    assert "Traceback" not in proc.stderr, show(proc)
    # alembic's INFO lines that every `scanner scan` prints are checked on their own
    # (test_store_of_a_newer_schema_is_refused_untouched), not here.
    lines = [line for line in proc.stderr.strip().splitlines() if not is_alembic_chatter(line)]
    assert len(lines) == 1 and lines[0].startswith("error: "), show(proc)
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# -- (a) no config, no --store: every command finds <cwd>/reports/history.db --------------


def test_zero_config_store_lives_in_the_working_directory(
    aws: Any, moto: MotoServer, tmp_path: Path
) -> None:
    build_baseline(aws)
    # Direct Connect must be off (moto does not implement it): the config that says so
    # lives OUTSIDE the working directory and names no store and no output directory.
    outside = tmp_path / "etc"
    outside.mkdir()
    config = outside / "scanner.yaml"
    config.write_text(CONFIG.replace("regions: [us-west-2]\n", ""))
    work = tmp_path / "work"
    work.mkdir()
    env = {"AWS_ENDPOINT_URL": moto.url, "SCANNER_STORE": ""}
    ids = []
    for _ in range(2):
        proc = run_cli("scan", "--config", str(config), "--region", "us-west-2", cwd=work, env=env)
        assert proc.returncode == 1, show(proc)
        ids.append(run_id_of(proc))
    assert (work / "reports" / "history.db").is_file()
    assert sorted(p.name for p in outside.iterdir()) == ["scanner.yaml"]

    drift = run_cli("drift", cwd=work, env={"SCANNER_STORE": ""})
    assert drift.returncode == 0, show(drift)
    doc = json.loads((work / "reports" / "drift" / "drift.json").read_text())
    assert (doc["from"]["run"], doc["to"]["run"]) == (ids[0], ids[1])
    assert doc["resources"] == []  # nothing changed between the two scans
    listed = run_cli("runs", "list", "--format", "json", cwd=work, env={"SCANNER_STORE": ""})
    assert listed.returncode == 0, show(listed)
    assert [r["id"] for r in json.loads(listed.stdout)] == ids[::-1]


# -- (b) runs list, (c) runs show -------------------------------------------------------


def test_runs_list_show_and_unknown_ids(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    r1 = stored_run(store_url, snapshots[0], out)
    r2 = stored_run(store_url, snapshots[1], out)

    listed = runs(store_url)
    assert isinstance(listed, list) and [r["id"] for r in listed] == [r2, r1]  # newest first
    for row, run_id in zip(listed, (r2, r1), strict=True):
        assert {"id", "status", "started_at", "finished_at", "accounts", "regions", "counts"} <= (
            set(row)
        )
        report = findings_json(out, run_id)["run"]
        assert row["status"] == "complete"
        assert row["accounts"] == report["accounts"] == ["123456789012"]
        assert row["regions"] == report["regions"] == ["us-west-2"]
        assert row["counts"] == report["summary"]
        assert row["started_at"] < row["finished_at"]
    assert listed[0]["started_at"] > listed[1]["started_at"]
    # b has one more notebook, hence one more imdsv2 FAIL.
    assert listed[0]["counts"]["by_status"]["FAIL"] == listed[1]["counts"]["by_status"]["FAIL"] + 1

    shown = cli("runs", "show", r1, "--format", "json", store=store_url)
    assert shown.returncode == 0, show(shown)
    doc = json.loads(shown.stdout)
    assert {k: doc[k] for k in listed[1]} == listed[1]
    assert doc["baselines"] == []
    assert {c["collector"] for c in doc["collectors"]} >= {"vpc-endpoint", "notebook-instance"}

    # The shortest prefix of r2 that r1 does not share is enough.
    common = os.path.commonprefix([r1, r2])  # noqa: RUF071 - ids, not paths
    prefix = r2[: len(common) + 1]
    by_prefix = cli("runs", "show", prefix, store=store_url)
    assert by_prefix.returncode == 0, show(by_prefix)
    assert by_prefix.stdout.splitlines()[0].split() == ["id", r2]
    assert ["status", "complete"] in [line.split() for line in by_prefix.stdout.splitlines()]
    # 'latest' is the newest finished run, for every command that takes a RUN.
    newest = cli("runs", "show", "latest", store=store_url)
    assert newest.returncode == 0, show(newest)
    assert newest.stdout.splitlines()[0].split() == ["id", r2]

    # (d) Unknown run ids and baseline names: exit 2, one line naming them, nothing written.
    before = row_counts(store_url)
    zip_path = tmp_path / "pack.zip"
    cases = [
        (("runs", "show", "20990101T000000Z-abcdef"), "20990101T000000Z-abcdef"),
        (("baseline", "set", "20990101T000000Z-abcdef", "--name", "x"), "20990101T000000Z-abcdef"),
        (("evidence", "export", "nosuchrun", "--output", str(zip_path)), "nosuchrun"),
        (("drift", "--from", "no-such-baseline"), "no-such-baseline"),
    ]
    for args, needle in cases:
        extra = ("--output", str(tmp_path / "d")) if args[0] == "drift" else ()
        one_line_error(cli(*args, *extra, store=store_url), needle)
    assert row_counts(store_url) == before
    assert not zip_path.exists()
    assert not (tmp_path / "d").exists()

    # Last, because the product gets it wrong (see the report): the prefix both runs share
    # names no one run, and the message must say it is ambiguous, not that nothing matches.
    one_line_error(cli("runs", "show", common, store=store_url), repr(common), "ambiguous")


# -- (d) bad input: exit 2, one line, nothing written -----------------------------------


def test_bad_store_urls_exit_2_and_create_nothing(
    snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "history.db"
    one_line_error(
        cli("runs", "list", store=f"sqlite:///{missing}"), "no history store at", str(missing)
    )
    assert not missing.parent.exists()  # a reading command never creates a store
    one_line_error(cli("runs", "list", store="mysql://u@db/x"), "mysql://u@db/x", "only sqlite")
    one_line_error(cli("drift", store="::not a url::"), "'::not a url::'", "not a database URL")
    # A server that does not answer: the scan stops before it collects anything (AWS is a
    # closed port too) and the password never shows.
    dead = f"postgresql+psycopg://postgres:s3cret@127.0.0.1:{free_port()}/test"
    proc = cli(
        "scan",
        "--snapshot",
        str(snapshots[0]),
        "--output",
        str(tmp_path / "r"),
        store=dead,
        env={"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"},
    )
    line = one_line_error(proc, "cannot be opened", "postgres:***@127.0.0.1")
    assert "s3cret" not in proc.stderr + proc.stdout, line
    assert not (tmp_path / "r").exists()


def test_store_of_a_newer_schema_is_refused_untouched(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    stored_run(store_url, snapshots[0], out)
    sql(store_url, "UPDATE alembic_version SET version_num = '9999'")
    before = row_counts(store_url)
    procs = {}
    for args in (
        ("runs", "list"),
        ("drift", "--output", str(tmp_path / "d")),
        ("scan", "--snapshot", str(snapshots[1]), "--output", str(out)),
    ):
        procs[args[0]] = cli(*args, store=store_url)
        one_line_error(procs[args[0]], "schema revision 9999", HEAD_REVISION)
    assert row_counts(store_url) == before
    assert sql(store_url, "SELECT version_num FROM alembic_version") == [("9999",)]
    assert len(list(out.iterdir())) == 1  # the refused scan wrote no reports either
    # Last, because the product does not do it (see the report): the refused scan's stderr
    # is that one line too, without alembic's INFO lines (every scan logs them: alembic is
    # not among the loggers scanner.logs.setup_logging quiets).
    chatter = [line for line in procs["scan"].stderr.splitlines() if is_alembic_chatter(line)]
    assert chatter == [], show(procs["scan"])


# -- (e) runs verify ----------------------------------------------------------------------


def verify(store: str) -> tuple[int, str]:
    proc = cli("runs", "verify", store=store)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, show(proc)
    return proc.returncode, proc.stdout


def test_verify_names_the_run_altered_or_deleted(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    r1 = stored_run(store_url, snapshots[0], out)
    r2 = stored_run(store_url, snapshots[1], out)
    seq = dict(sql(store_url, "SELECT seq, id FROM runs"))
    # A FAIL first stored by run 2 (nb2's), turned into a PASS behind the scanner's back.
    [(vid, first_seq)] = sql(
        store_url,
        "SELECT id, first_seq FROM finding_versions WHERE status = 'FAIL' AND first_seq = 2 "
        "AND resource_id = 'nb2' AND rule_id = 'notebook-imdsv2-required'",
    )
    assert seq[first_seq] == r2
    sql(store_url, "UPDATE finding_versions SET status = 'PASS' WHERE id = :v", v=vid)
    code, text = verify(store_url)
    assert code == 1 and text.splitlines()[0] == f"FAILED: first run altered or missing: {r2}"
    sql(store_url, "UPDATE finding_versions SET status = 'FAIL' WHERE id = :v", v=vid)
    code, text = verify(store_url)
    assert code == 0 and text.startswith("ok: 2 stored run(s) match their digests"), text

    # The run's record of its waivers (which drift and `waivers list` report) edited: kept
    # to check after the deletion case, so one failure does not hide the other.
    original = sql(store_url, "SELECT waivers FROM runs WHERE id = :r", r=r2)[0][0]
    forged = json.dumps(
        [
            {
                "id": "forged",
                "rule_id": "notebook-imdsv2-required",
                "resource": "*",
                "state": "active",
                "matched": 2,
            }
        ]
    )
    sql(store_url, "UPDATE runs SET waivers = :w WHERE id = :r", w=forged, r=r2)
    waivers_code, waivers_text = verify(store_url)
    sql(
        store_url,
        "UPDATE runs SET waivers = :w WHERE id = :r",
        w=json.dumps(original) if not isinstance(original, str) else original,
        r=r2,
    )

    sql(store_url, "DELETE FROM runs WHERE id = :r", r=r1)
    code, text = verify(store_url)
    assert code == 1, text
    assert text.splitlines()[0] == f"FAILED: first run altered or missing: {r1}", text
    assert f"run {r1} is missing" in text

    assert waivers_code == 1 and r2 in waivers_text.splitlines()[0], (
        f"an edited runs.waivers record passes `runs verify`: {waivers_text}"
    )


# -- (f) the writer lock ------------------------------------------------------------------

HOLD_LOCK = """\
import sys
from scanner.history.store import Store
store = Store.open(sys.argv[1])
with store.writing("refuse", 1.0):
    print("HELD", flush=True)
    sys.stdin.readline()
print("RELEASED", flush=True)
"""


def test_writer_lock_refuse_and_wait(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    refuse = write_config(tmp_path / "refuse", "store:\n  lock: refuse\n")
    wait = write_config(tmp_path / "wait", "store:\n  lock: wait\n  lock_timeout: 1\n")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, store_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "HELD", holder.stderr
        before = row_counts(store_url)
        one_line_error(
            offline_scan(store_url, snapshots[0], out, refuse),
            "is being written by",
            "store.lock is 'refuse'",
        )
        one_line_error(
            offline_scan(store_url, snapshots[0], out, wait),
            "is being written by",
            "waited 1 s (store.lock_timeout)",
        )
        assert row_counts(store_url) == before
        assert before["runs"] == 0 and not out.exists()
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "RELEASED"
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    done = offline_scan(store_url, snapshots[0], out, refuse)
    assert done.returncode == 1, show(done)
    assert [r["status"] for r in runs(store_url)] == ["complete"]


# -- (g) evidence export ------------------------------------------------------------------


def test_evidence_pack_is_complete_and_checkable(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    r1 = stored_run(store_url, snapshots[0], out)
    r2 = stored_run(store_url, snapshots[1], out)
    pinned = cli("baseline", "set", r1, "--name", "certified", store=store_url)
    assert pinned.returncode == 0, show(pinned)
    pack = tmp_path / "evidence" / "pack.zip"
    exported = cli("evidence", "export", r2, "--output", str(pack), store=store_url)
    assert exported.returncode == 0, show(exported)
    shown = json.loads(cli("runs", "show", r2, "--format", "json", store=store_url).stdout)

    with zipfile.ZipFile(pack) as zf:
        names = set(zf.namelist())
        body = {n: zf.read(n) for n in names}
    assert names == {
        "manifest.json",
        "snapshot.json.gz",
        "findings.json",
        "findings.csv",
        "report.html",
        "rulepacks.json",
        "verification.json",
        "drift-baseline.json",
    }
    manifest = json.loads(body["manifest.json"])
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == names - {"manifest.json"}
    for name, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(body[name]).hexdigest(), name
        assert entry["bytes"] == len(body[name]), name
    for key in ("id", "snapshot_digest", "findings_digest", "chain_digest", "status", "counts"):
        assert manifest["run"][key] == shown[key], key
    assert manifest["run"]["id"] == r2 and shown["chain_digest"]

    assert json.loads(body["verification.json"])["ok"] is True
    drift = json.loads(body["drift-baseline.json"])
    assert drift["from"] == {**drift["from"], "run": r1, "baseline": "certified"}
    assert drift["to"]["run"] == r2
    assert [(r["resource_id"], r["change"]) for r in drift["resources"]] == [("nb2", "added")]
    findings = json.loads(body["findings.json"])
    assert findings["run"]["id"] == r2
    assert len(findings["findings"]) == shown["counts"]["findings"]
    # Rebuilt from the store: the same findings as the run's own report (sorted by rule and
    # resource rather than in evaluation order).
    assert {f["fingerprint"]: f for f in findings["findings"]} == {
        f["fingerprint"]: f for f in findings_json(out, r2)["findings"]
    }
    # The run's snapshot, rebuilt from the store: every resource of snapshot b, by key.
    packed = json.loads(gzip.decompress(body["snapshot.json.gz"]))
    original = json.loads(gzip.decompress(snapshots[1].read_bytes()))
    assert resource_keys(packed) == resource_keys(original)
    assert packed["collectors"] == original["collectors"]
    assert b"nb2" in body["report.html"] and b"nb2" in body["findings.csv"]
    rulepacks = json.loads(body["rulepacks.json"])
    assert rulepacks["matches"] is True and rulepacks["rules"]


def resource_keys(snapshot: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {
        (account, region, rtype, rid)
        for account, regions in snapshot["resources"].items()
        for region, types in regions.items()
        for rtype, ids in types.items()
        for rid in ids
    }


# -- (h) retention ------------------------------------------------------------------------

# The clock of the store module reads 100 days later: the runs already stored are then 100
# days old, without editing their rows (their started_at is sealed in their chain digest).
LATER = """\
import datetime as _dt
class _Later(_dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return _dt.datetime.now(tz) + _dt.timedelta(days=100)
store_mod.datetime = _Later
"""


def test_retention_prunes_old_runs_but_never_a_baseline(
    store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    snap_a, snap_b = snapshots
    r1 = stored_run(store_url, snap_a, out)
    # Every run is seconds old: a one-day retention prunes nothing.
    one_day = write_config(tmp_path / "c1", "store:\n  retention_days: 1\n")
    r2 = stored_run(store_url, snap_b, out, one_day)
    assert sql(store_url, "SELECT count(*) FROM runs") == [(2,)]
    assert sql(store_url, "SELECT count(*) FROM resource_versions WHERE resource_id = 'nb2'") != [
        (0,)
    ]
    pinned = cli("baseline", "set", r1, "--name", "certified", store=store_url)
    assert pinned.returncode == 0, show(pinned)

    thirty = write_config(tmp_path / "c30", "store:\n  retention_days: 30\n")
    later = run_patched(
        LATER,
        "scan",
        "--snapshot",
        str(snap_a),
        "--output",
        str(out),
        "--config",
        str(thirty),
        "--store",
        store_url,
        cwd=tmp_path,
    )
    assert later.returncode == 1, show(later)
    r3 = run_id_of(later)

    # r2 is gone; the baseline's run r1 and the newest run r3 stay.
    assert [r["id"] for r in runs(store_url)] == [r3, r1]
    assert [i for (i,) in sql(store_url, "SELECT id FROM pruned_runs")] == [r2]
    # nb2 existed only in the pruned r2: nothing of it is kept.
    assert sql(store_url, "SELECT count(*) FROM resource_versions WHERE resource_id = 'nb2'") == [
        (0,)
    ]
    code, text = verify(store_url)
    assert code == 0 and text.startswith("ok: 2 stored run(s)"), text
    drift = cli("drift", "--from", "certified", "--output", str(tmp_path / "d"), store=store_url)
    assert drift.returncode == 0, show(drift)
    doc = json.loads((tmp_path / "d" / "drift.json").read_text())
    assert (doc["from"]["run"], doc["to"]["run"]) == (r1, r3) and doc["resources"] == []
