"""Ticket sync at scale: requests and wall time per night against a Jira with latency.

Seeds nightly runs of N failing problems into a SQLite store and syncs them to the fake
Jira Cloud of the test suite (``tests/ticketfakes``), every request delayed by a fixed round
trip (default 50 ms, like a SaaS API across a region), and reports per night how many
requests of each kind the sync sent and how long it took:

1. night 1: N new problems (N creates);
2. night 1 again: nothing changed (the idempotent re-run: searches only);
3. night 2: 10% fixed, 5% new (closes and creates), the rest still failing.

Usage: ``python benchmarks/bench_tickets.py [--problems 500] [--latency 0.05]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.config import Config
from scanner.history.store import Store
from scanner.model.finding import Status
from scanner.tickets import sync
from tests.ticketfakes import FakeJira
from tests.ticketkit import JiraRemote
from tests.ticketruns import Check, config_dict, write_run


def kinds(fake: FakeJira, since: int) -> Counter[str]:
    """Requests after the first ``since``, by kind."""
    out: Counter[str] = Counter()
    for r in fake.requests[since:]:
        if r.path.endswith("/search/jql"):
            out["search"] += 1
        elif r.path.endswith("/transitions"):
            out[f"transitions {r.method}"] += 1
        elif r.path.endswith("/comment"):
            out["comment"] += 1
        elif r.method == "POST":
            out["create"] += 1
        else:
            out[f"{r.method} issue"] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    n = args.problems
    checks = [Check("notebook-direct-internet-access-disabled", f"nb-{i:05d}") for i in range(n)]
    extra = [
        Check("notebook-direct-internet-access-disabled", f"nb-new-{i:05d}") for i in range(n // 20)
    ]
    fake = FakeJira(api_version=3)
    if args.latency:
        fake.delay_next("*", ".*", args.latency, times=10**9)
    remote = JiraRemote(fake, 3)
    os.environ.update(remote.env)
    with tempfile.TemporaryDirectory() as tmp, Store.open(f"sqlite:///{tmp}/h.db") as store:
        target = {**remote.target("bench"), "timeout": 30.0}
        config = Config(**config_dict([target]), base_dir=tmp)
        write_run(store, "n1", 1, [c.finding(Status.FAIL) for c in checks])
        fixed = set(range(0, n, 10))
        night2 = [
            c.finding(Status.PASS if i in fixed else Status.FAIL) for i, c in enumerate(checks)
        ] + [c.finding(Status.FAIL) for c in extra]
        nights = [("night 1: all new", None), ("night 1 again", None), ("night 2", night2)]
        print(f"{n} problems, {args.latency * 1000:.0f} ms per request")
        print("| sync | requests | by kind | wall time |")
        print("|---|---|---|---|")
        for name, findings in nights:
            if findings is not None:
                write_run(store, "n2", 2, findings)
            before = len(fake.requests)
            started = time.perf_counter()
            with store.writing():
                report = sync(config, store)
            wall = time.perf_counter() - started
            assert report.ok, report.to_dict()
            by_kind = kinds(fake, before)
            shown = ", ".join(f"{k} {v}" for k, v in sorted(by_kind.items())) or "none"
            print(f"| {name} | {sum(by_kind.values())} | {shown} | {wall:.1f} s |")
        issues = len(fake.issues)
        print(f"issues in Jira: {issues} (expected {n + len(extra)})")
        assert issues == n + len(extra)
    fake.close()


if __name__ == "__main__":
    main()
