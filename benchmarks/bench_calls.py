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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orgseed import seed  # benchmarks/orgseed.py, beside this script

from scanner.config import Config
from scanner.demo.server import start_moto
from scanner.model.snapshot import Snapshot
from scanner.run import RunOptions, run
from tests.faultproxy import FaultProxy

REGION = "us-west-2"
ABOVE_MINIMUM = {
    "GetResources": "the notebooks' tags in bulk, one call per page",
    "ListTags": "one per notebook, only where GetResources is denied",
}
"""Operations a complete scan sends beyond the minimum, and why."""
PER_VPC = {"DescribeVpcAttribute": 2}
"""Per-resource operations of the minimum: calls per VPC the scan found."""
PER_NOTEBOOK = {"DescribeNotebookInstance": 1}
"""... and per notebook."""
OVERHEAD = ("AssumeRole", "GetCallerIdentity")
"""Reaching an account (the preflight), not reading it: counted apart from the minimum."""


@dataclass(frozen=True)
class Minimum:
    """A scan's calls split into the minimum, what it sent above it, and the preflight."""

    minimum: int
    above: dict[str, int]
    """Operation -> calls beyond the minimum (tags; per-resource calls past their share)."""
    overhead: int
    """AssumeRole and GetCallerIdentity calls (:data:`OVERHEAD`)."""

    @property
    def ratio(self) -> float:
        """Calls without the preflight over the minimum."""
        return (self.minimum + sum(self.above.values())) / self.minimum


def minimum_calls(counts: Mapping[str, int], *, vpcs: int, notebooks: int) -> Minimum:
    """The issue's minimum for ``counts`` (calls per operation) of a scan that found
    ``vpcs`` VPCs and ``notebooks`` notebooks (over all its accounts and regions).

    Every list page sent counts as needed (one call per page of each service's list,
    Organizations and IAM's ``GetAccountAuthorizationDetails`` included); the
    per-resource operations count up to :data:`PER_VPC` per VPC and :data:`PER_NOTEBOOK`
    per notebook, any more is above the minimum; :data:`ABOVE_MINIMUM` is all above it,
    and :data:`OVERHEAD` is counted apart.
    """
    allowed = {op: n * vpcs for op, n in PER_VPC.items()}
    allowed |= {op: n * notebooks for op, n in PER_NOTEBOOK.items()}
    minimum = overhead = 0
    above: dict[str, int] = {}
    for op, n in counts.items():
        if op in OVERHEAD:
            overhead += n
        elif op in ABOVE_MINIMUM:
            above[op] = above.get(op, 0) + n
        else:
            kept = min(n, allowed.get(op, n))
            minimum += kept
            if n > kept:
                above[op] = n - kept
    return Minimum(minimum, {op: n for op, n in above.items() if n}, overhead)


def found(snapshot: Snapshot) -> tuple[int, int]:
    """(VPCs, notebooks) in a scan's snapshot: what the per-resource minimum is counted on."""
    vpcs = sum(1 for _ in snapshot.iter_resources("ec2:vpc"))
    return vpcs, sum(1 for _ in snapshot.iter_resources("sagemaker:notebook-instance"))


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
    vpcs, notebooks = found(record.snapshot)
    split = minimum_calls(counts, vpcs=vpcs, notebooks=notebooks)
    total = sum(counts.values())
    minimum = split.minimum + split.overhead  # its own account: one GetCallerIdentity
    print(
        f"{args.notebooks} notebooks, {args.vpcs} VPCs, {args.roles} roles in {REGION}; "
        f"seeded in {seeded:.0f} s; {args.latency * 1000:.0f} ms per request"
    )
    print("| operation | calls |")
    print("|---|---|")
    for op, n in counts.most_common():
        op = op or "REST call (Route 53 ListHostedZones: the proxy names query/JSON protocols only)"
        why = ABOVE_MINIMUM.get(op, f"{split.above.get(op)} more than one per resource")
        note = f" (above the minimum: {why})" if op in split.above else ""
        print(f"| {op}{note} | {n} |")
    print(f"\ncalls: {total}; the minimum: {minimum}; ratio {total / minimum:.2f}x")
    print(f"scan wall time {wall:.1f} s, {len(record.findings)} findings, exit {record.exit_code}")
    moto.stop()


if __name__ == "__main__":
    main()
