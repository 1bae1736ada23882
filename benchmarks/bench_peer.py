"""Peer comparison: this scanner and Prowler on the same moto account, side by side.

Both read the account ``bench_calls.py`` builds (``orgseed.seed``: VPCs with the SageMaker
endpoints, notebooks, roles with the AWS post's policy) through their own counting proxy
with the same fixed latency (``tests/faultproxy.py``), and the table gives each one's API
calls and wall time.  Prowler runs its SageMaker, VPC/EC2 and IAM checks only
(``--service sagemaker vpc iam``; its ``ec2`` service would also read every snapshot and AMI
moto ships, which is not the comparison) in the one seeded region; it honours
``AWS_ENDPOINT_URL`` (boto3 does), which points at its proxy.

Isolation: some peers call public APIs on start-up (version checks, telemetry), so the
whole benchmark, moto and both tools included, runs inside a network namespace whose only
interface is loopback (``unshare -n``); started outside one, this script re-executes itself
inside.  Prowler is installed in its own virtualenv (``--prowler``, default
``/tmp/prowler-venv/bin/prowler``), never in the scanner's.

Usage: ``python benchmarks/bench_peer.py [--notebooks 200] [--vpcs 40] [--roles 1000]
[--latency 0.05] [--prowler PATH]`` (needs root for ``unshare -n``).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

INSIDE = "PRIVATELINK_SCANNER_ISOLATED"
REGION = "us-west-2"


def _isolate() -> None:
    """Re-run this script in a loopback-only network namespace (and never return)."""
    command = " ".join(["ip link set lo up &&", "exec", sys.executable, *map(_quote, sys.argv)])
    env = {**os.environ, INSIDE: "1"}
    sys.exit(subprocess.call(["unshare", "-n", "sh", "-c", command], env=env))


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _scanner(url: str, latency: float) -> tuple[int, float, Counter[str]]:
    from scanner.config import Config
    from scanner.run import RunOptions, run
    from tests.faultproxy import FaultProxy

    with FaultProxy(url) as proxy, tempfile.TemporaryDirectory() as out:
        proxy.delay = latency
        config = Config(
            regions=[REGION], endpoint_url=proxy.url, collectors={"disabled": ["directconnect"]}
        )
        started = time.perf_counter()
        record = run(
            RunOptions(config=config, output_dir=Path(out), formats=["json"], use_store=False)
        )
        wall = time.perf_counter() - started
        return len(record.findings), wall, Counter(proxy.counts)


def _prowler(url: str, latency: float, prowler: str) -> tuple[int, float, Counter[str], str]:
    from tests.faultproxy import FaultProxy

    with FaultProxy(url) as proxy, tempfile.TemporaryDirectory() as out:
        proxy.delay = latency
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": proxy.url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        command = [
            prowler,
            "aws",
            "--service",
            "sagemaker",
            "vpc",
            "iam",
            "--region",
            REGION,
            "--output-formats",
            "csv",
            "--output-directory",
            out,
            "--no-banner",
            "--ignore-exit-code-3",
        ]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        rows = sum(max(0, len(p.read_text().splitlines()) - 1) for p in Path(out).rglob("*.csv"))
        tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
        return rows, wall, Counter(proxy.counts), f"exit {done.returncode}: {' | '.join(tail)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--vpcs", type=int, default=40)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--prowler", default="/tmp/prowler-venv/bin/prowler")
    args = parser.parse_args()
    if not os.environ.get(INSIDE):
        _isolate()
    from orgseed import seed

    from scanner.demo.server import start_moto

    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = start_moto()
    seed(moto.url, vpcs=args.vpcs, notebooks=args.notebooks, roles=args.roles, region=REGION)
    findings, wall, calls = _scanner(moto.url, args.latency)
    rows, p_wall, p_calls, p_status = _prowler(moto.url, args.latency, args.prowler)
    moto.stop()
    print(
        f"\n{args.notebooks} notebooks, {args.vpcs} VPCs, {args.roles} roles in {REGION}; "
        f"{args.latency * 1000:.0f} ms per request; inside a loopback-only network namespace\n"
    )
    print("| tool | API calls | wall time | output |")
    print("|---|---|---|---|")
    print(
        f"| privatelink-scanner (whole scan) | {sum(calls.values())} | {wall:.0f} s | "
        f"{findings} findings |"
    )
    print(
        f"| Prowler (sagemaker, vpc, iam) | {sum(p_calls.values())} | {p_wall:.0f} s | "
        f"{rows} CSV rows; {p_status} |"
    )
    print("\nProwler's busiest operations:", p_calls.most_common(8))


if __name__ == "__main__":
    main()
