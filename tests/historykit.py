"""Helpers for the history tests: the scan config, the CLI against a store, SQL on a store.

Every command runs the real CLI in a subprocess (:func:`tests.clikit.run_cli`); the store
is read back only through the CLI or plain SQL, never through the scanner's own classes,
so a bug in the store cannot hide behind the same bug in the reader.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.clikit import run_cli

# The test config of tests/test_cli_scan.py: one region, Direct Connect off (moto does not
# implement it), four attempts against moto's rare transient 500s.
CONFIG = """\
regions: [us-west-2]
collectors:
  disabled: [directconnect]
retries:
  max_attempts: 4
"""


def write_config(directory: Path, extra: str = "", name: str = "config.yaml") -> Path:
    """The test config (plus ``extra`` YAML appended) as ``directory/name``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(CONFIG + extra)
    return path


def show(proc: subprocess.CompletedProcess[str]) -> str:
    """Both streams of a finished command, for assertion messages."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def cli(
    *args: str, store: str | None, config: Path | None = None, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``scanner ARGS [--config C] [--store URL]``."""
    extra: list[str] = []
    if config is not None:
        extra += ["--config", str(config)]
    if store is not None:
        extra += ["--store", store]
    return run_cli(*args, *extra, **kw)


def scan(
    store: str | None, config: Path, output: Path, aws_url: str, *extra: str, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``scanner scan`` of the moto account at ``aws_url`` into ``output``."""
    env = {"AWS_ENDPOINT_URL": aws_url, **kw.pop("env", {})}
    return cli("scan", "--output", str(output), *extra, store=store, config=config, env=env, **kw)


def runs(store: str, **kw: Any) -> list[dict[str, Any]]:
    """``scanner runs list --format json`` (asserting it worked)."""
    proc = cli("runs", "list", "--format", "json", store=store, **kw)
    assert proc.returncode == 0, show(proc)
    doc: list[dict[str, Any]] = json.loads(proc.stdout)
    return doc


def run_dir(output: Path, run_id: str) -> Path:
    """The reports directory of one run."""
    path = output / run_id
    assert path.is_dir(), f"no reports for run {run_id} in {output}: {list(output.iterdir())}"
    return path


def findings_json(output: Path, run_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((run_dir(output, run_id) / "findings.json").read_text())
    return doc


def run_id_of(proc: subprocess.CompletedProcess[str]) -> str:
    """The run id a ``scanner scan`` printed (``Run <id>: N findings``)."""
    for line in proc.stdout.splitlines():
        if line.startswith("Run ") and ":" in line:
            return line.split()[1].rstrip(":")
    raise AssertionError(f"no run id in the scan's output:\n{show(proc)}")


# -- SQL on a store ----------------------------------------------------------------------


@contextmanager
def connect(store: str) -> Iterator[sa.Connection]:
    """A transaction on the store's database (tables in the URL's schema for PostgreSQL)."""
    engine = sa.create_engine(store)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        engine.dispose()


def sql(store: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    """Run one statement; the rows it returned (empty for UPDATE/DELETE)."""
    with connect(store) as conn:
        result = conn.execute(sa.text(statement), params)
        return [tuple(r) for r in result] if result.returns_rows else []


TABLES = (
    "runs",
    "blobs",
    "resource_versions",
    "finding_versions",
    "baselines",
    "pruned_runs",
    "store_info",
)


def row_counts(store: str) -> dict[str, int]:
    """Rows per store table."""
    with connect(store) as conn:
        return {
            table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in TABLES
        }


# -- what moto's server cannot do through its API ----------------------------------------
#
# The scanner only ever talks HTTP to moto.  These two helpers change moto's in-process
# state (the ThreadedMotoServer runs in the test process) where moto's API cannot express a
# change that AWS makes; each says why.


def moto_endpoint(vpce_id: str, account: str, region: str) -> Any:
    from moto.backends import get_backend

    return get_backend("ec2")[account][region].vpc_end_points[vpce_id]


def set_private_dns(aws: Any, vpce_id: str, enabled: bool, account: str, region: str) -> None:
    """``ModifyVpcEndpoint PrivateDnsEnabled=...``, as a user would call it.

    moto 5.2 accepts the parameter and ignores it (its ``modify_vpc_endpoint`` never reads
    ``PrivateDnsEnabled``), so when the describe call still shows the old value the flag is
    set on moto's endpoint object.  The result is read back over HTTP either way.
    """
    ec2 = aws("ec2", region)
    ec2.modify_vpc_endpoint(VpcEndpointId=vpce_id, PrivateDnsEnabled=enabled)

    def current() -> bool:
        [ep] = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"]
        return bool(ep["PrivateDnsEnabled"])

    if current() is not enabled:
        moto_endpoint(vpce_id, account, region).private_dns_enabled = enabled
    assert current() is enabled


def forget_deleted_endpoint(aws: Any, vpce_id: str, account: str, region: str) -> None:
    """What AWS does some time after ``DeleteVpcEndpoints``: the endpoint, listed with state
    ``deleted`` meanwhile, disappears from ``DescribeVpcEndpoints``.  moto keeps listing it
    as ``deleted`` forever, so it is dropped from moto's endpoint table here."""
    ec2 = aws("ec2", region)
    [ep] = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"]
    assert ep["State"] == "deleted", ep
    from moto.backends import get_backend

    del get_backend("ec2")[account][region].vpc_end_points[vpce_id]
    listed = {e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]}
    assert vpce_id not in listed


# -- snapshots for offline scans ---------------------------------------------------------


def make_snapshots(moto_url: str, reset: Any, directory: Path) -> tuple[Path, Path]:
    """Two snapshots of the compliant scenario account (``tests.scenariokit``): ``a``, and
    ``b`` with a second notebook ``nb2`` (one resource added, its FAILs new).

    Collected in-process by the scanner's own collectors over HTTP, once per module, so the
    CLI scans under test can run offline (``scanner scan --snapshot``) and fast.
    """
    import boto3

    from scanner.collectors import collect
    from tests.scenariokit import add_notebook, build_baseline, scan_config

    def make(service: str, region: str = "us-west-2") -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto_url)

    reset()
    base = build_baseline(make)
    directory.mkdir(parents=True, exist_ok=True)
    a = collect(scan_config(moto_url)).save(directory / "a.json.gz")
    add_notebook(make, base, "nb2")
    b = collect(scan_config(moto_url)).save(directory / "b.json.gz")
    reset()
    return a, b


# -- the real CLI with one product function patched (crash and signal tests) -------------

PATCHED_CLI = """\
import os, signal, sys
import scanner.cli.app as app_mod
import scanner.collectors.collect
import scanner.collectors.fanout as fanout_mod
import scanner.history.store as store_mod
import scanner.run as run_mod

# The package re-exports the function collect(), which hides the module of that name.
collect_mod = sys.modules["scanner.collectors.collect"]


def die(where):
    print("KILLPOINT " + where, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


{patch}

sys.argv = ["scanner", *sys.argv[1:]]
app_mod.main()
"""


def patched_cli_args(patch: str, *args: str) -> list[str]:
    """argv for ``scanner ARGS`` in a Python that first applies ``patch`` (Python source
    run after ``die(where)``, which prints ``KILLPOINT where`` and SIGKILLs the process,
    and the modules ``app_mod``, ``collect_mod``, ``fanout_mod``, ``store_mod`` and
    ``run_mod``)."""
    return [sys.executable, "-c", PATCHED_CLI.format(patch=patch), *args]


def run_patched(
    patch: str, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """``scanner ARGS`` with ``patch`` applied first (see :func:`patched_cli_args`)."""
    return _python(patched_cli_args(patch, *args), cwd=cwd, env=env, timeout=timeout)


def _python(
    argv: list[str], *, cwd: Path, env: dict[str, str] | None, timeout: int
) -> subprocess.CompletedProcess[str]:
    """``argv`` run to its end (never raising on its exit status), output captured."""
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        check=False,
    )


def wait_for_dead_writer(store: str, timeout: float = 15.0) -> None:
    """Wait (bounded) until the server has ended the sessions of a SIGKILLed writer.

    SQLite needs nothing: the kernel drops a dead process's file lock before its parent
    sees it exit.  PostgreSQL ends the backend of a dead client when it notices the closed
    socket, which can trail the exit a little; only then is the advisory lock (keyed as
    ``scanner.history.lock`` keys it: database and schema) free.
    """
    import hashlib
    import time

    if not store.startswith("postgresql"):
        return
    with connect(store) as conn:
        where = conn.execute(sa.text("SELECT current_database() || '.' || current_schema()"))
        digest = hashlib.sha256(f"privatelink-scanner:{where.scalar_one()}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    classid, objid = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        held = sql(
            store,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
            "AND classid::bigint = :c AND objid::bigint = :o AND objsubid = 1",
            c=classid,
            o=objid,
        )
        if held == [(0,)]:
            return
        time.sleep(0.2)
    raise AssertionError(f"the killed writer still holds the lock of {store} after {timeout} s")


# -- several CLI commands in one Python (one start-up, ~1 s, for a sequence) -------------

BATCH_CLI = """\
import contextlib, io, json, sys
import scanner.cli.app as app_mod

done = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        sys.argv = ["scanner", *argv]
        try:
            app_mod.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    done.append([code, out.getvalue(), err.getvalue()])
    if code not in (0, 1):
        break
print(json.dumps(done))
"""


def cli_batch(
    *commands: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> list[subprocess.CompletedProcess[str]]:
    """Each ``scanner ARGV`` of ``commands`` in turn, in ONE Python process (each with its
    own stdout and stderr, as ``app.main`` runs it from the console script); stops after
    the first that exits 2 or more (a usage error or a failed run: what follows depended
    on it).  A process start costs ~1 s; the commands share nothing but loaded modules."""
    proc = _python(
        [sys.executable, "-c", BATCH_CLI, json.dumps(commands)], cwd=cwd, env=env, timeout=timeout
    )
    assert proc.returncode == 0 and proc.stdout.strip(), show(proc)
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    return [
        subprocess.CompletedProcess(argv, code, out, err)
        for argv, (code, out, err) in zip(commands, results, strict=False)
    ]
