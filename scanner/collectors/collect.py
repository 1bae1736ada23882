"""``collect()``: every enabled collector in every scanned account and region, into a Snapshot.

Order of work:

1. The plan (:func:`scanner.collectors.accounts.plan_scan`): who the credentials are, which
   accounts to scan (theirs, the ``accounts:`` list or the organization's) and, for an
   organization, its one Organizations read.  When the identity cannot be read nothing can
   be attributed correctly, so every collector in every scope records that failure as its
   ``error`` outcome.
2. The preflight of each account (assume its role, find its regions), on a thread pool.
   An account that cannot be reached gets an ``error`` outcome on every collector, naming
   AssumeRole and AWS's reason; the other accounts go on.
3. The fan-out (:mod:`scanner.collectors.fanout`): one unit per (account, region,
   collector), run by the executor (threads here by default; Dask workers with
   ``executor.kind: dask``); each unit's shard is merged on this thread as it arrives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from scanner.aws.session import ClientFactory
from scanner.collectors.accounts import AccountScan, ScanPlan, plan_scan, preflight
from scanner.collectors.fanout import Executor, LocalExecutor, ScopeJob, plan_account
from scanner.collectors.registry import COLLECTORS
from scanner.collectors.shards import Shard
from scanner.config import Config
from scanner.model.snapshot import Snapshot, utc_now
from scanner.progress import NullProgress, Progress

log = logging.getLogger(__name__)

STAGE = "collect"
ACCOUNTS_STAGE = "accounts"

ExecutorFactory = Callable[[dict[str, ClientFactory]], Executor]
"""Makes the executor once the accounts are reached (given their client factories)."""


def disabled_collectors(config: Config) -> set[str]:
    """Collector names to skip.  An entry is a collector name or a whole AWS service
    (``directconnect`` turns off both Direct Connect collectors)."""
    services = {spec.service for spec in COLLECTORS.values()}
    for index, name in enumerate(config.collectors.disabled):
        if name not in COLLECTORS and name not in services:
            raise config.error_at(
                f"unknown collector {name!r}; known collectors: {', '.join(sorted(COLLECTORS))}; "
                f"or a whole service: {', '.join(sorted(services))}",
                "collectors",
                "disabled",
                index,
            )
    wanted = set(config.collectors.disabled)
    return {name for name, spec in COLLECTORS.items() if name in wanted or spec.service in wanted}


def _reach_all(
    plan: ScanPlan,
    base: ClientFactory,
    wanted: tuple[str, ...],
    workers: int,
    progress: Progress,
) -> tuple[list[AccountScan], dict[str, ClientFactory]]:
    """Every account's preflight, in plan order (module docstring, step 2)."""
    if plan.caller_failure is not None:
        failed = plan.caller_failure
        regions = wanted or (base.default_region,)
        return [
            AccountScan(t, plan.partition, t.regions or regions, failed) for t in plan.targets
        ], {}
    many = plan.multi_account
    if many:
        progress.start(ACCOUNTS_STAGE, len(plan.targets))
    scans: list[AccountScan] = []
    factories: dict[str, ClientFactory] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preflight") as pool:
        results = pool.map(lambda t: preflight(base, t, wanted, plan.partition), plan.targets)
        for scan, factory in results:
            scans.append(scan)
            if factory is not None:
                factories[scan.account_id] = factory
            if many:
                progress.advance(ACCOUNTS_STAGE, scan.account_id)
    if many:
        progress.finish(ACCOUNTS_STAGE)
    return scans, factories


def collect(
    config: Config,
    *,
    regions: list[str] | None = None,
    progress: Progress | None = None,
    factory: ClientFactory | None = None,
    executor: ExecutorFactory | None = None,
) -> Snapshot:
    """Collect the accounts ``config`` names into a new :class:`Snapshot`.

    ``regions``: this list if given (for every account), else an ``accounts:`` entry's own
    ``regions``, else ``config.regions``, else each account's enabled regions.  Never
    raises for AWS failures (they are outcomes); raises :class:`InputError` for bad
    configuration (unknown profile, unknown collector in ``collectors.disabled``, a listed
    account that cannot be reached).  ``executor`` defaults to the local thread pool.
    """
    progress = progress or NullProgress()
    disabled = disabled_collectors(config)
    base = factory or ClientFactory(config)
    wanted = tuple(regions or config.regions)
    plan = plan_scan(config, base)
    for skipped in plan.skipped:
        log.info(
            "organization account %s (%s) not scanned: %s",
            skipped["account_id"],
            skipped["name"],
            skipped["reason"],
            extra={"skipped_account": skipped},
        )
    if regions:
        plan.targets = [replace(t, regions=()) for t in plan.targets]
    scans, factories = _reach_all(plan, base, wanted, config.collectors.concurrency, progress)
    snapshot = _new_snapshot(plan, scans)
    decided: list[Shard] = [] if plan.organization is None else [plan.organization]
    jobs: list[ScopeJob] = []
    for scan in scans:
        now, scan_jobs = plan_account(scan, plan, disabled)
        decided += now
        jobs += scan_jobs
    progress.start(STAGE, len(decided) + sum(len(j.collectors) for j in jobs))
    for shard in decided:
        shard.merge_into(snapshot)
        progress.advance(STAGE, _label(shard))
    make = executor or (
        lambda made: LocalExecutor(
            made, config.collectors.concurrency, config.collectors.service_concurrency
        )
    )
    for shard in make(factories).run(jobs):
        shard.merge_into(snapshot)
        progress.advance(STAGE, _label(shard))
    progress.finish(STAGE)
    snapshot.collectors.sort(key=lambda o: (o.account_id, o.region, o.collector))
    snapshot.finished_at = utc_now()
    return snapshot


def _label(shard: Shard) -> str:
    o = shard.outcome
    return f"{o.collector} {o.account_id}/{o.region}"


def _new_snapshot(plan: ScanPlan, scans: list[AccountScan]) -> Snapshot:
    """The snapshot's header: the scanned accounts, their regions, the partition."""
    regions: list[str] = list(dict.fromkeys(r for scan in scans for r in scan.regions))
    snapshot = Snapshot(
        accounts=[scan.account_id for scan in scans], regions=regions, partition=plan.partition
    )
    if any(list(scan.regions) != regions for scan in scans):
        snapshot.account_regions = {scan.account_id: list(scan.regions) for scan in scans}
    return snapshot
