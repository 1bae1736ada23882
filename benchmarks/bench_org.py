"""Organization scale: API calls against the minimum, and wall time by accounts and executor.

Builds a synthetic organization in moto's server (``orgseed.py``: N accounts, the management
account included, each with 200 notebooks and 40 VPCs with endpoints in each of 3 regions
and 1,000 roles), puts the counting proxy with a fixed latency in front of it
(``tests/faultproxy.py``: every request held ``--latency`` seconds, like an AWS round trip)
and scans 1, 5 and 20 of its accounts with each executor:

- ``1-worker``: the local executor with ``collectors.concurrency: 1``;
- ``8-threads``: the local executor with ``collectors.concurrency: 8``;
- ``dask``: ``executor: {kind: dask, workers: 2, threads_per_worker: 8}``, the scanner's own
  LocalCluster of 2 worker processes, its shards through a SQLite store in a temp dir.

The accounts of a cell are an explicit ``accounts:`` list, the first N of the organization:
the management account with the scanner's own credentials (no ``role_arn``), the members
through ``arn:aws:iam::<id>:role/OrganizationAccountAccessRole``; so one seeded
organization serves every cell.  Each cell is collection only (``collect()``, what the
fan-out does; no evaluation or reports), in a fresh process of its own so its peak memory is
its own.  Every cell must end with no failed collector.

Per cell: the calls, per account (each request's access key is mapped to its account with
``GetCallerIdentity``: the spread shows whether accounts cost alike), the minimum
(``bench_calls.minimum_calls``: list pages of each service, Organizations and IAM's
``GetAccountAuthorizationDetails`` pages included, two ``DescribeVpcAttribute`` per VPC and
one ``DescribeNotebookInstance`` per notebook found; AssumeRole and GetCallerIdentity apart
as preflight overhead), the ratio, the wall time of collection, the model ``calls x
latency / concurrency``, the effective concurrency ``calls x latency / wall``, the CPU
seconds of moto's process, of the proxy (this process) and of the scan (its process and its
Dask workers), and peak memory: the scanning process's ``ru_maxrss``, and for Dask each
worker process's peak (``VmHWM`` sampled from ``/proc``).

moto's server is one process: it answers a request in a few milliseconds of CPU, so past
some concurrency the server (and this machine's cores), not the latency, set the pace.  The
``--ceiling`` cells run with no latency at all to show that ceiling.  A cell named in
``--extrapolate`` is not run; its calls and wall time are its executor's 1-account cell
times the accounts, marked as extrapolated.

Usage: ``python benchmarks/bench_org.py [--accounts 1 5 20] [--executors 1-worker 8-threads
dask] [--ceiling 1-worker:1 8-threads:20 dask:20] [--extrapolate EXECUTOR:N ...]
[--notebooks 200] [--vpcs 40] [--roles 1000] [--latency 0.05] [--no-server-process]``.
Seeding 20 full-size accounts took 7 minutes here, the whole default run 45 minutes (the
20-account 1-worker cell alone 19); ``make bench`` runs a smaller one (Makefile) of a few
minutes.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from itertools import pairwise
from pathlib import Path
from typing import Any

import boto3
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_calls import minimum_calls  # benchmarks/, beside this script
from orgseed import moto_server, seed_org

from tests.faultproxy import FaultProxy

COLLECTORS = {"disabled": ["directconnect"]}
EXECUTORS: dict[str, dict[str, Any]] = {
    "1-worker": {"collectors": {**COLLECTORS, "concurrency": 1}},
    "8-threads": {"collectors": {**COLLECTORS, "concurrency": 8}},
    "dask": {
        "collectors": {**COLLECTORS, "concurrency": 8},
        "executor": {"kind": "dask", "workers": 2, "threads_per_worker": 8},
    },
}
CONCURRENCY = {"1-worker": 1, "8-threads": 8, "dask": 16}
"""The nominal concurrency of the model: threads of the pool; Dask 2 workers x 8 threads."""
SCOPE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/")
"""A SigV4 ``Authorization`` header's access key and region."""


# -- the proxy: counts per operation and per access key --------------------------------------
class KeyedProxy(FaultProxy):
    """:class:`FaultProxy` that also counts each request under its SigV4 access key."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.by_key: Counter[tuple[str, str]] = Counter()
        self.seen: list[tuple[float, str, str, str]] = []
        """(monotonic time, access key, region, operation) of every request."""

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """FaultProxy's handler with ``TCP_NODELAY``: it writes a reply's headers and body in
        two sends, and with Nagle's algorithm the body waits for the client's delayed ACK
        (40 ms on Linux), which would add 40 ms to every request on top of ``delay``."""

        class NoDelay(super()._handler_class()):  # type: ignore[misc]
            disable_nagle_algorithm = True

        return NoDelay

    def _identify(self, path: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        operation, protocol = super()._identify(path, headers, body)
        found = SCOPE.search(headers.get("authorization", ""))
        key, region = found.groups() if found else ("?", "?")
        with self._lock:
            self.by_key[(key, operation)] += 1
            self.seen.append((time.monotonic(), key, region, operation))
        return operation, protocol

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.by_key.clear()
            self.arrivals.clear()
            self.seen.clear()


class Accounts:
    """Access key -> account, asked of moto directly (its GetCallerIdentity names the
    account of any key it issued, the request's signature unchecked)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._known: dict[str, str] = {}

    def of(self, key: str) -> str:
        if key not in self._known:
            sts = boto3.client(
                "sts",
                region_name="us-east-1",
                endpoint_url=self._url,
                aws_access_key_id=key,
                aws_secret_access_key="unused",
            )
            self._known[key] = str(sts.get_caller_identity()["Account"])
        return self._known[key]


# -- one cell, in a process of its own -------------------------------------------------------
@dataclass
class CellRun:
    """What the scanning process measured (sent back as JSON)."""

    wall: float
    peak_mb: float
    workers_peak_mb: list[float]
    cpu: float
    """CPU seconds of collection: this process and its (reaped) Dask workers."""
    began: float
    """time.monotonic() when collection began (one clock for every process here)."""
    vpcs: int
    notebooks: int
    resources: int
    failed: list[str]


class HighWater:
    """Samples the peak RSS (``VmHWM``) of every descendant process (Dask's nannies and
    workers) until stopped; VmHWM is the process's own high-water mark, so a sample taken
    shortly before a worker exits holds its peak."""

    def __init__(self, every: float = 0.25) -> None:
        self.peaks: dict[int, tuple[str, float]] = {}
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> HighWater:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(self._every):
            for child in me.children(recursive=True):
                try:
                    status = Path(f"/proc/{child.pid}/status").read_text()
                    name = " ".join(child.cmdline()[-2:])
                except (OSError, psutil.Error):
                    continue
                hwm = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
                if hwm:
                    self.peaks[child.pid] = (name, int(hwm.group(1)) / 1024)


def _cpu_seconds() -> float:
    me, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def scan_cell(spec: dict[str, Any]) -> CellRun:
    """Collect ``spec``'s accounts with its executor through the proxy at ``spec['url']``."""
    from scanner.collectors import collect
    from scanner.config import Config
    from scanner.fanout.dask import DaskExecutor
    from scanner.history.store import Store
    from scanner.run import new_run_id

    logging.getLogger("distributed").setLevel(logging.ERROR)
    management: str = spec["management"]
    entries = [
        {"id": a}
        if a == management
        else {"id": a, "role_arn": f"arn:aws:iam::{a}:role/OrganizationAccountAccessRole"}
        for a in spec["accounts"]
    ]
    config = Config.model_validate(
        {
            "regions": list(spec["regions"]),
            "endpoint_url": spec["url"],
            "accounts": entries,
            **EXECUTORS[spec["executor"]],
        }
    )
    with tempfile.TemporaryDirectory() as out, HighWater() as high:
        make = None
        if config.executor.kind == "dask":  # as run() does: the store the workers write to
            store = f"sqlite:///{Path(out) / 'history.db'}"
            Store.open(store).close()
            dask = DaskExecutor(config, store, new_run_id())
            make = lambda _factories: dask  # noqa: E731
        before = _cpu_seconds()
        began, started = time.monotonic(), time.perf_counter()
        snapshot = collect(config, executor=make)
        wall = time.perf_counter() - started
    cpu = _cpu_seconds() - before
    me = resource.getrusage(resource.RUSAGE_SELF)
    workers = sorted(
        (mb for name, mb in high.peaks.values() if "spawn_main" in name),
        reverse=True,
    )
    return CellRun(
        wall=wall,
        peak_mb=me.ru_maxrss / 1024,
        workers_peak_mb=workers,
        cpu=cpu,
        began=began,
        vpcs=sum(1 for _ in snapshot.iter_resources("ec2:vpc")),
        notebooks=sum(1 for _ in snapshot.iter_resources("sagemaker:notebook-instance")),
        resources=sum(1 for _ in snapshot.iter_resources()),
        failed=[
            f"{o.collector} {o.account_id}/{o.region}: {o.error_code} {o.error_message}"
            for o in snapshot.failed_outcomes()
        ],
    )


# -- the orchestration -----------------------------------------------------------------------
@dataclass
class Cell:
    executor: str
    accounts: int
    latency: float
    calls: int
    minimum: int
    above: dict[str, int]
    overhead: int
    per_account: list[int]
    """Calls of each account, preflight excluded."""
    wall: float
    cpu_moto: float | None
    cpu_proxy: float
    run: CellRun | None
    extrapolated: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return (self.minimum + sum(self.above.values())) / self.minimum

    @property
    def model(self) -> float:
        return self.calls * self.latency / CONCURRENCY[self.executor]


def _moto_process() -> psutil.Process | None:
    for child in multiprocessing.active_children():
        if child.name == "moto-server" and child.pid is not None:
            return psutil.Process(child.pid)
    return None


def _cpu(process: psutil.Process | None) -> float | None:
    if process is None:
        return None
    times = process.cpu_times()
    return float(times.user + times.system)


def measure(
    proxy: KeyedProxy,
    accounts: Accounts,
    spec: dict[str, Any],
    latency: float,
) -> Cell:
    """Run one cell in a fresh interpreter (``--cell``) and split the proxy's counts."""
    proxy.reset()
    proxy.delay = latency
    moto = _moto_process()
    moto_before, proxy_before = _cpu(moto), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        spec_file, result_file = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec_file.write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, __file__, "--cell", str(spec_file), str(result_file)], check=True
        )
        run = CellRun(**json.loads(result_file.read_text()))
    moto_after = _cpu(moto)
    cpu_moto = None if moto_before is None or moto_after is None else moto_after - moto_before
    cpu_proxy = time.process_time() - proxy_before
    if run.failed:
        raise SystemExit(
            f"{spec['executor']} x {len(spec['accounts'])}: {len(run.failed)} collectors "
            f"failed, first: {run.failed[0]}"
        )
    counts = Counter(proxy.counts)
    split = minimum_calls(counts, vpcs=run.vpcs, notebooks=run.notebooks)
    per: dict[str, int] = defaultdict(int)
    for (key, op), n in proxy.by_key.items():
        if op not in ("AssumeRole", "GetCallerIdentity"):
            per[accounts.of(key)] += n
    notes = [timeline(proxy.seen, accounts, run.began)]
    if split.above:
        notes.append("above the minimum: " + ", ".join(f"{k} {v}" for k, v in split.above.items()))
    return Cell(
        executor=spec["executor"],
        accounts=len(spec["accounts"]),
        latency=latency,
        calls=sum(counts.values()),
        minimum=split.minimum,
        above=split.above,
        overhead=split.overhead,
        per_account=[per[a] for a in spec["accounts"]],
        wall=run.wall,
        cpu_moto=cpu_moto,
        cpu_proxy=cpu_proxy,
        run=run,
        notes=notes,
    )


def timeline(seen: list[tuple[float, str, str, str]], accounts: Accounts, began: float) -> str:
    """When the requests went out: the first one after collection began, the longest pause
    between two (a Dask cluster starting shows here), and the longest chain of one
    (account, region)'s ``DescribeNotebookInstance`` calls: one collector unit sends them one
    after the other, so no executor can finish that region sooner."""
    if not seen:
        return "no requests"
    times = sorted(t for t, *_ in seen)
    gaps = [(b - a, a) for a, b in pairwise(times)] or [(0.0, times[0])]
    pause, at = max(gaps)
    chains: dict[tuple[str, str], list[float]] = defaultdict(list)
    for t, key, region, op in seen:
        if op == "DescribeNotebookInstance":
            chains[(accounts.of(key), region)].append(t)
    chain = max((max(ts) - min(ts) for ts in chains.values()), default=0.0)
    return (
        f"first request {times[0] - began:.1f} s after start, requests over "
        f"{times[-1] - times[0]:.1f} s, longest pause {pause:.1f} s at {at - began:.1f} s, "
        f"longest DescribeNotebookInstance chain of one account-region {chain:.1f} s"
    )


def extrapolate(one: Cell, accounts: int) -> Cell:
    """``one`` (a 1-account cell: the management account) scaled to ``accounts``; members
    pay the preflight (AssumeRole and GetCallerIdentity) the management account does not."""
    k = accounts
    return Cell(
        executor=one.executor,
        accounts=k,
        latency=one.latency,
        calls=one.calls * k + 2 * (k - 1),
        minimum=one.minimum * k,
        above={op: n * k for op, n in one.above.items()},
        overhead=one.overhead + 2 * (k - 1),
        per_account=one.per_account * k,
        wall=one.wall * k,
        cpu_moto=None,
        cpu_proxy=0.0,
        run=None,
        extrapolated=True,
    )


def _mb(run: CellRun | None) -> tuple[str, str]:
    if run is None:
        return "n/a", "n/a"
    workers = " + ".join(f"{mb:.0f}" for mb in run.workers_peak_mb) + " MB"
    return f"{run.peak_mb:.0f} MB", workers if run.workers_peak_mb else "-"


def table(cells: list[Cell]) -> str:
    lines = [
        "| accounts | executor | calls | per account (min-max) | minimum / account | ratio "
        "| preflight | collection wall | model calls x latency / concurrency | effective "
        "concurrency | CPU s moto / proxy / scan | peak scanner | peak Dask workers |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        mark = " (extrapolated)" if c.extrapolated else ""
        per = f"{sum(c.per_account) / c.accounts:.0f} ({min(c.per_account)}-{max(c.per_account)})"
        moto = "n/a" if c.cpu_moto is None else f"{c.cpu_moto:.0f}"
        scan = "n/a" if c.run is None else f"{c.run.cpu:.0f}"
        cpu = "n/a" if c.extrapolated else f"{moto} / {c.cpu_proxy:.0f} / {scan}"
        effective = c.calls * c.latency / c.wall if c.latency else 0.0
        eff = f"{effective:.1f}" if c.latency else f"{c.calls / c.wall:.0f} calls/s"
        peak, workers = _mb(c.run)
        lines.append(
            f"| {c.accounts} | {c.executor} | {c.calls} | {per} | "
            f"{c.minimum / c.accounts:.0f} | {c.ratio:.3f}x | {c.overhead} | "
            f"{c.wall:.1f} s{mark} | {c.model:.1f} s | {eff} | {cpu} | {peak} | {workers} |"
        )
    return "\n".join(lines)


def _pairs(values: list[str], what: str) -> list[tuple[str, int]]:
    out = []
    for value in values:
        executor, _, n = value.partition(":")
        if executor not in EXECUTORS or not n.isdigit():
            raise SystemExit(f"{what}: {value!r} is not EXECUTOR:ACCOUNTS ({', '.join(EXECUTORS)})")
        out.append((executor, int(n)))
    return out


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--cell":  # the scanning process of one cell
        spec = json.loads(Path(sys.argv[2]).read_text())
        Path(sys.argv[3]).write_text(json.dumps(asdict(scan_cell(spec))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1, 5, 20])
    parser.add_argument("--executors", nargs="+", default=list(EXECUTORS), choices=EXECUTORS)
    parser.add_argument(
        "--ceiling",
        nargs="*",
        default=["1-worker:1", "8-threads:20", "dask:20"],
        help="cells EXECUTOR:ACCOUNTS also run with no latency (moto's own pace)",
    )
    parser.add_argument(
        "--extrapolate",
        nargs="*",
        default=[],
        help="cells EXECUTOR:ACCOUNTS not run but scaled from that executor's 1-account cell",
    )
    parser.add_argument("--notebooks", type=int, default=200, help="per account and region")
    parser.add_argument("--vpcs", type=int, default=40, help="per account and region")
    parser.add_argument("--roles", type=int, default=1000, help="per account")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per request")
    parser.add_argument(
        "--server-process",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="moto's server in a child process (default), so its CPU is not this process's",
    )
    args = parser.parse_args()
    ceiling = _pairs(args.ceiling, "--ceiling")
    skip = set(_pairs(args.extrapolate, "--extrapolate"))
    for executor, _ in skip:
        if 1 not in args.accounts:
            raise SystemExit(f"--extrapolate {executor}: needs the 1-account cell (--accounts 1)")
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    biggest = max([*args.accounts, *(n for _, n in ceiling)])
    with moto_server(separate_process=args.server_process) as url:
        started = time.perf_counter()
        seeded = seed_org(
            url,
            accounts=biggest,
            notebooks=args.notebooks,
            vpcs=args.vpcs,
            roles=args.roles,
            progress=lambda line: print(line, flush=True),
        )
        seconds = time.perf_counter() - started
        print(f"seeded {biggest} accounts in {seconds:.0f} s", flush=True)
        org = seeded.org
        accounts = Accounts(url)
        cells: list[Cell] = []
        proxy = KeyedProxy(url)
        try:
            plan = [(e, n, args.latency) for n in args.accounts for e in args.executors]
            plan += [(e, n, 0.0) for e, n in ceiling]
            for executor, n, latency in plan:
                if latency and (executor, n) in skip:
                    continue
                spec = {
                    "url": proxy.url,
                    "executor": executor,
                    "accounts": org.accounts[:n],
                    "management": org.management_id,
                    "regions": list(seeded.regions),
                }
                load = os.getloadavg()[0]
                cell = measure(proxy, accounts, spec, latency)
                cell.notes.append(f"load average {load:.1f} before")
                cells.append(cell)
                print(
                    f"measured {executor} x {n} at {latency * 1000:.0f} ms: {cell.wall:.1f} s, "
                    f"{cell.calls} calls; {'; '.join(cell.notes)}",
                    flush=True,
                )
        finally:
            proxy.stop()
    for executor, n in sorted(skip):
        one = next(
            c for c in cells if (c.executor, c.accounts, c.latency) == (executor, 1, args.latency)
        )
        cells.append(extrapolate(one, n))
    order = list(EXECUTORS)
    with_latency = sorted(
        (c for c in cells if c.latency), key=lambda c: (c.accounts, order.index(c.executor))
    )
    print(
        f"\n{args.notebooks} notebooks and {args.vpcs} VPCs per account and region, "
        f"{len(seeded.regions)} regions ({', '.join(seeded.regions)}), {args.roles} roles per "
        f"account; seeded in {seconds:.0f} s; {args.latency * 1000:.0f} ms per request; "
        f"moto {'in a child process' if args.server_process else 'in this process'}; "
        f"{os.cpu_count()} cores\n"
    )
    print(table(with_latency))
    zero = [c for c in cells if not c.latency]
    if zero:
        print("\nno latency (moto's and this machine's ceiling):\n")
        print(table(zero))


if __name__ == "__main__":
    main()
