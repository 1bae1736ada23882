"""Peer comparison: Prowler's SageMaker, VPC and IAM checks and this scanner, one account.

Both tools scan the same moto account, seeded as ``bench_calls.py`` seeds it (40 VPCs with
the PrivateLink endpoints, 200 notebooks, 1,000 roles with the AWS post's policy, in
us-west-2), through the same counting proxy holding every request ``--latency`` seconds
(``bench_org.KeyedProxy``: ``tests/faultproxy.py`` with ``TCP_NODELAY``), in the same run:
API calls per operation, wall time, findings, and the errors Prowler logged.

Prowler is not installed in the project's venv: ``python3 -m venv /tmp/prowler-venv &&
/tmp/prowler-venv/bin/pip install prowler`` (``--prowler`` names its executable).  It is run
as ``prowler aws --service sagemaker vpc iam --region us-west-2`` with ``AWS_ENDPOINT_URL``
pointed at the proxy (Prowler passes it to its STS client and boto3 reads it for every
other client).  Its ``vpc`` service reads the VPCs, subnets, route tables, endpoints,
network interfaces and flow logs through the EC2 API; its ``ec2`` service (instances, EBS,
AMIs, snapshots, security groups) can be added with ``--services``.

Isolation: Prowler calls public endpoints on start-up (a version check against GitHub's
API, among others), so this script runs itself, moto and Prowler in a network namespace
with only loopback: started outside one, it re-executes itself under ``unshare -n`` (root,
or a user namespace with ``--map-root-user``) after bringing ``lo`` up, and inside it checks
that a public address is unreachable before anything runs.

Usage: ``python benchmarks/bench_peer.py [--notebooks 200] [--vpcs 40] [--roles 1000]
[--latency 0.05] [--prowler /tmp/prowler-venv/bin/prowler] [--services sagemaker vpc iam]
[--timeout 3600]``.  At full size Prowler takes about 5 minutes here.
"""

from __future__ import annotations

import argparse
import csv
import errno
import logging
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_calls import REGION, found, minimum_calls  # benchmarks/, beside this script
from bench_org import KeyedProxy
from orgseed import seed

ISOLATED = "BENCH_PEER_ISOLATED"
PROWLER = "/tmp/prowler-venv/bin/prowler"
PROWLER_SERVICES = ("sagemaker", "vpc", "iam")
PUBLIC_PROBE = ("1.1.1.1", 443)
ERROR_RECORD = re.compile(
    r'"module": "([^"]+)", "message": "(?:[\w-]+ -- )?([A-Za-z]+)([^\n"]{0,160})'
)


def isolate() -> None:
    """Re-execute this script in a new network namespace with only loopback, unless it
    already runs in one (then prove it: a public address must be unreachable)."""
    if os.environ.get(ISOLATED) == "1":
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(3)
        try:
            result = probe.connect_ex(PUBLIC_PROBE)
        finally:
            probe.close()
        if result not in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED):
            raise SystemExit(f"not isolated: connecting to {PUBLIC_PROBE} gave {result}")
        return
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SystemExit("bench_peer needs util-linux's unshare to isolate the peer")
    flags = ["-n"] if os.geteuid() == 0 else ["-n", "--map-root-user"]
    script = 'ip link set lo up && exec "$@"'
    command = [unshare, *flags, "sh", "-c", script, "sh", sys.executable, *sys.argv]
    os.execve(unshare, command, {**os.environ, ISOLATED: "1"})


def _serve(urls: Any) -> None:
    """moto's server (``start_moto``) in a child process, its request log silenced: Prowler
    calls operations moto lacks, and werkzeug would print each one's traceback."""
    from scanner.demo.server import start_moto

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL + 1)
    server = start_moto()
    urls.put(server.url)
    threading.Event().wait()


@contextmanager
def quiet_moto() -> Iterator[str]:
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    child = context.Process(target=_serve, args=(urls,), name="moto-server", daemon=True)
    child.start()
    try:
        yield str(urls.get(timeout=120))
    finally:
        child.terminate()
        child.join(timeout=30)


def prowler_version(prowler: str) -> str:
    out = subprocess.run([prowler, "--version"], capture_output=True, text=True, timeout=300)
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[-1] if lines else "?"


def _errors(log: str) -> dict[str, tuple[int, str]]:
    """Prowler's logged errors by module and exception, with the first one's message (its
    records are JSON per line, but a message may hold newlines: each record's head only)."""
    out: dict[str, tuple[int, str]] = {}
    for module, kind, rest in ERROR_RECORD.findall(log):
        n, example = out.get(f"{module}: {kind}", (0, kind + rest))
        out[f"{module}: {kind}"] = (n + 1, example)
    return out


def _first(proxy: KeyedProxy, began: float) -> float | None:
    """Seconds from a tool's start to its first request (its start-up)."""
    times = [t for t, *_ in proxy.seen]
    return min(times) - began if times else None


def run_prowler(
    prowler: str, services: list[str], proxy: KeyedProxy, out: Path, timeout: float
) -> dict[str, Any]:
    """Prowler's checks of ``services`` through the proxy; its calls, wall time, findings
    by status and the errors it logged."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(out),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": proxy.url,
    }
    command = [
        prowler,
        "aws",
        "--service",
        *services,
        "--region",
        REGION,
        "--no-banner",
        "--no-color",
        "--ignore-exit-code-3",
        "--output-formats",
        "csv",
        "--output-directory",
        str(out / "output"),
        "--output-filename",
        "prowler",
        "--log-level",
        "ERROR",
        "--log-file",
        str(out / "prowler.log"),
    ]
    (out / "output").mkdir(parents=True, exist_ok=True)
    proxy.reset()
    began, started = time.monotonic(), time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - started
    statuses: Counter[str] = Counter()
    checks: set[str] = set()
    report = out / "output" / "prowler.csv"
    if report.exists():
        with report.open(newline="") as f:
            for row in csv.DictReader(f, delimiter=";"):
                statuses[row.get("STATUS", "?")] += 1
                checks.add(row.get("CHECK_ID", "?"))
    log = out / "prowler.log"
    return {
        "command": " ".join(command),
        "exit": done.returncode,
        "wall": wall,
        "first": _first(proxy, began),
        "counts": Counter(proxy.counts),
        "findings": sum(statuses.values()),
        "statuses": dict(statuses),
        "checks": len(checks),
        "errors": _errors(log.read_text() if log.exists() else ""),
        "stderr": done.stderr[-2000:],
    }


class StageTimes:
    """A :class:`scanner.progress.Progress` that notes when each stage finished."""

    def __init__(self) -> None:
        self.finished: dict[str, float] = {}

    def start(self, stage: str, total: int) -> None:
        return None

    def advance(self, stage: str, label: str) -> None:
        return None

    def finish(self, stage: str) -> None:
        self.finished[stage] = time.perf_counter()


def run_scanner(proxy: KeyedProxy, out: Path) -> dict[str, Any]:
    """This scanner on the same account, as ``bench_calls.py`` runs it (whole run: collect,
    evaluate, JSON report; no store)."""
    from scanner.config import Config
    from scanner.run import RunOptions, run

    config = Config.model_validate(
        {
            "regions": [REGION],
            "endpoint_url": proxy.url,
            "collectors": {"disabled": ["directconnect"]},
        }
    )
    stages = StageTimes()
    proxy.reset()
    began, started = time.monotonic(), time.perf_counter()
    record = run(
        RunOptions(
            config=config, output_dir=out, formats=["json"], use_store=False, progress=stages
        )
    )
    wall = time.perf_counter() - started
    counts = Counter(proxy.counts)
    vpcs, notebooks = found(record.snapshot)
    split = minimum_calls(counts, vpcs=vpcs, notebooks=notebooks)
    statuses = Counter(str(f.status.value) for f in record.findings)
    return {
        "wall": wall,
        "collect": stages.finished.get("collect", started) - started,
        "first": _first(proxy, began),
        "counts": counts,
        "minimum": split.minimum + split.overhead,
        "findings": len(record.findings),
        "statuses": dict(statuses),
        "checks": len({f.rule_id for f in record.findings}),
        "exit": int(record.exit_code),
    }


def _secs(value: float | None) -> str:
    return "no request" if value is None else f"{value:.1f} s"


def _ops(counts: Counter[str], top: int) -> str:
    return ", ".join(f"{op or 'REST'} {n}" for op, n in counts.most_common(top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--vpcs", type=int, default=40)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--prowler", default=PROWLER, help="Prowler's executable")
    parser.add_argument("--services", nargs="+", default=list(PROWLER_SERVICES))
    parser.add_argument("--timeout", type=float, default=3600, help="seconds Prowler may run")
    args = parser.parse_args()
    if not Path(args.prowler).exists():
        raise SystemExit(
            f"{args.prowler} not found: python3 -m venv /tmp/prowler-venv && "
            "/tmp/prowler-venv/bin/pip install prowler"
        )
    isolate()
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    version = prowler_version(args.prowler)
    with quiet_moto() as url, tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        seed(url, vpcs=args.vpcs, notebooks=args.notebooks, roles=args.roles, region=REGION)
        seeded = time.perf_counter() - started
        proxy = KeyedProxy(url)
        try:
            proxy.delay = args.latency
            ours = run_scanner(proxy, Path(tmp) / "scanner")
            peer = run_prowler(
                args.prowler, args.services, proxy, Path(tmp) / "prowler", args.timeout
            )
        finally:
            proxy.stop()
    print(
        f"one account, {REGION}: {args.vpcs} VPCs with endpoints, {args.notebooks} notebooks, "
        f"{args.roles} roles; seeded in {seeded:.0f} s; {args.latency * 1000:.0f} ms per "
        f"request; both in a network namespace with loopback only; {os.cpu_count()} cores\n"
    )
    print(f"| figure | privatelink-scanner | {version} |")
    print("|---|---|---|")
    rows = [
        ("what ran", "every collector but Direct Connect, every rule",
         f"`--service {' '.join(args.services)}` ({peer['checks']} checks reported)"),
        ("API calls", f"{sum(ours['counts'].values())} (minimum {ours['minimum']})",
         str(sum(peer["counts"].values()))),
        ("busiest operations", _ops(ours["counts"], 5), _ops(peer["counts"], 5)),
        ("distinct operations", str(len(ours["counts"])), str(len(peer["counts"]))),
        ("wall time", f"{ours['wall']:.1f} s (collection {ours['collect']:.1f} s)",
         f"{peer['wall']:.1f} s"),
        ("first request after start", _secs(ours["first"]), _secs(peer["first"])),
        ("findings", f"{ours['findings']} {ours['statuses']}",
         f"{peer['findings']} {peer['statuses']}"),
        ("exit status", str(ours["exit"]), str(peer["exit"])),
    ]  # fmt: skip
    for figure, a, b in rows:
        print(f"| {figure} | {a} | {b} |")
    print("\nProwler's calls by operation:")
    for op, n in peer["counts"].most_common():
        print(f"  {op or 'REST (not named by the proxy)'}: {n}")
    errors = peer["errors"]
    if errors:
        print(f"\nProwler logged {sum(n for n, _ in errors.values())} errors:")
        for what, (n, example) in sorted(errors.items(), key=lambda kv: -kv[1][0]):
            print(f"  {what}: {n}, e.g. {example}")
    print(f"\nProwler's command: {peer['command']}")
    if peer["exit"] != 0:
        print(f"\nProwler exited {peer['exit']}; stderr tail:\n{peer['stderr']}")


if __name__ == "__main__":
    main()
