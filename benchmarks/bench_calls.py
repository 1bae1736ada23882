"""API calls of one scan against the minimum a complete scan needs, per account-region.

Builds a synthetic account in moto's server (VPCs with the PrivateLink endpoints, notebooks
spread over them, roles with the AWS post's policy), puts a counting proxy with a fixed
latency in front of it (``tests/faultproxy.py``: every request held ``--latency`` seconds,
like an AWS round trip), scans through it and prints the calls per operation.

The minimum (issue "Organization scale", "Calls at the minimum"): the list pages of each
service, two ``DescribeVpcAttribute`` per VPC, the notebook list pages plus one
``DescribeNotebookInstance`` per notebook, and IAM in ``GetAccountAuthorizationDetails``
pages.  Everything else a scan sends is counted as *above the minimum*: the notebooks' tags,
read in bulk with the Resource Groups Tagging API's ``GetResources`` (one call per page of at
most 100 resources; moto's pages also stop before 100 tags, its default ``TagsPerPage``),
and ``sagemaker:ListTags``, one per notebook, which a scan sends only where ``GetResources``
is denied (none here).  The Studio collectors list no domain here, so they send no tagging
call at all.

Usage: ``python benchmarks/bench_calls.py [--notebooks 200] [--vpcs 40] [--roles 1000]
[--latency 0.05]``.  Seeding a large account in moto takes a minute or two; the scan's wall
time is printed apart from it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orgseed import seed  # benchmarks/orgseed.py, beside this script

from scanner.config import Config
from scanner.demo.server import start_moto
from scanner.run import RunOptions, run
from tests.faultproxy import FaultProxy

REGION = "us-west-2"
ABOVE_MINIMUM = {
    "GetResources": "the notebooks' tags in bulk, one call per page",
    "ListTags": "one per notebook, only where GetResources is denied",
}
"""Operations a complete scan sends beyond the minimum, and why."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=200)
    parser.add_argument("--vpcs", type=int, default=40)
    parser.add_argument("--roles", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto = start_moto()
    started = time.perf_counter()
    seed(moto.url, vpcs=args.vpcs, notebooks=args.notebooks, roles=args.roles)
    seeded = time.perf_counter() - started
    with FaultProxy(moto.url) as proxy, tempfile.TemporaryDirectory() as out:
        proxy.delay = args.latency
        config = Config(
            regions=[REGION],
            endpoint_url=proxy.url,
            collectors={"disabled": ["directconnect"]},
        )
        started = time.perf_counter()
        record = run(
            RunOptions(config=config, output_dir=Path(out), formats=["json"], use_store=False)
        )
        wall = time.perf_counter() - started
        counts = Counter(proxy.counts)
    above = {op: counts[op] for op in ABOVE_MINIMUM if counts[op]}
    total = sum(counts.values())
    minimum = total - sum(above.values())
    print(
        f"{args.notebooks} notebooks, {args.vpcs} VPCs, {args.roles} roles in {REGION}; "
        f"seeded in {seeded:.0f} s; {args.latency * 1000:.0f} ms per request"
    )
    print("| operation | calls |")
    print("|---|---|")
    for op, n in counts.most_common():
        op = op or "REST call (Route 53 ListHostedZones: the proxy names query/JSON protocols only)"
        note = f" (above the minimum: {ABOVE_MINIMUM[op]})" if op in ABOVE_MINIMUM else ""
        print(f"| {op}{note} | {n} |")
    print(f"\ncalls: {total}; the minimum: {minimum}; ratio {total / minimum:.2f}x")
    print(f"scan wall time {wall:.1f} s, {len(record.findings)} findings, exit {record.exit_code}")
    moto.stop()


if __name__ == "__main__":
    main()
