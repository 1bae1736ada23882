"""Fan-out: (account, region, collector) units run by an executor, merged as shards arrive.

The driver (:func:`drive`) is the same for every executor.  It turns each reached account
into *scope jobs*, one per (account, region) plus one for the account's global services,
hands them to the executor, and merges every shard that comes back into the snapshot on
its own thread (the snapshot never needs a lock).  What needs no AWS call is decided here
and never sent anywhere: a disabled collector, every collector of an account that could
not be reached, and the Organizations data of a member read once from the management
account.

Executors:

- :class:`LocalExecutor` (default): one bounded thread pool (``collectors.concurrency``)
  running units, at most ``collectors.service_concurrency[service]`` of one service in one
  account at a time (AWS throttles per account and service); botocore's adaptive retry
  mode slows each client down when throttled.  An account's clients are dropped when its
  last unit ends, so memory follows the accounts in flight, not the organization.
- :class:`scanner.fanout.dask.DaskExecutor`: one Dask task per scope job.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from scanner.aws.errors import ErrorInfo, with_permission
from scanner.aws.session import ClientFactory, global_region_for
from scanner.collectors.accounts import ORGANIZATIONS, AccountScan, ScanPlan
from scanner.collectors.engine import run_collector, scope_outcome
from scanner.collectors.registry import COLLECTORS, all_operations
from scanner.collectors.shards import Shard
from scanner.collectors.specs import CollectorSpec, Record, Scope
from scanner.model.snapshot import GLOBAL_REGION, OutcomeStatus


@dataclass(frozen=True)
class ScopeJob:
    """The collectors of one account to run in one region (``global``: its global ones)."""

    scan: AccountScan
    region: str
    collectors: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.scan.account_id}/{self.region}"

    def scope(self) -> Scope:
        api = global_region_for(self.scan.regions[0]) if self.region == GLOBAL_REGION else None
        return Scope(
            self.scan.account_id,
            self.region,
            api or self.region,
            self.scan.partition,
            self.scan.regions,
        )


class Executor(Protocol):
    """Runs scope jobs; yields each collector's shard as it is done."""

    def run(self, jobs: list[ScopeJob]) -> Iterator[Shard]: ...


def scopes_for(
    spec: CollectorSpec, account: str, partition: str, regions: Iterable[str], global_region: str
) -> list[Scope]:
    """The scopes one collector runs in: once per account if global, else once per region."""
    regions = tuple(regions)
    if spec.is_global:
        return [Scope(account, GLOBAL_REGION, global_region, partition, regions)]
    return [Scope(account, r, r, partition, regions) for r in regions]


def outcome_shard(
    spec: CollectorSpec, scope: Scope, status: OutcomeStatus, **details: str | None
) -> Shard:
    """A shard with an outcome and no records (disabled, unreachable, a failed task)."""
    return Shard(scope_outcome(spec, scope, status, **details))


def _preflight_info(operation: str, info: ErrorInfo) -> ErrorInfo:
    """A preflight failure's error, naming the IAM permission when access was denied (the
    preflight records the bare operation name: ``AssumeRole``, ``DescribeRegions``)."""
    for named in all_operations():
        if named.partition(":")[2] == operation:
            return with_permission(info, named)
    return info


def plan_account(
    scan: AccountScan, plan: ScanPlan, disabled: set[str]
) -> tuple[list[Shard], list[ScopeJob]]:
    """What one reached (or unreachable) account needs: shards decided now, and jobs."""
    now: list[Shard] = []
    failure = (
        None if scan.failure is None else _preflight_info(scan.failure.operation, scan.failure.info)
    )
    by_region: dict[str, list[str]] = defaultdict(list)
    global_region = global_region_for(scan.regions[0])
    for spec in COLLECTORS.values():
        for scope in scopes_for(spec, scan.account_id, scan.partition, scan.regions, global_region):
            if scan.failure is not None and failure is not None:
                now.append(
                    outcome_shard(
                        spec,
                        scope,
                        OutcomeStatus.ERROR,
                        error_code=failure.code,
                        error_message=failure.message,
                        operation=scan.failure.operation,
                    )
                )
            elif spec.name in disabled:
                now.append(outcome_shard(spec, scope, OutcomeStatus.DISABLED))
            elif (
                spec.name == ORGANIZATIONS
                and plan.organization is not None
                and (scan.account_id == plan.caller)
            ):
                continue  # the caller's outcome *is* plan.organization, merged once
            elif spec.name == ORGANIZATIONS and scan.account_id in plan.covered:
                now.append(_from_organization(spec, scope, plan))
            else:
                by_region[scope.region].append(spec.name)
    jobs = [ScopeJob(scan, region, tuple(names)) for region, names in by_region.items()]
    return now, jobs


def _from_organization(spec: CollectorSpec, scope: Scope, plan: ScanPlan) -> Shard:
    """A member's Organizations outcome when the organization was read once elsewhere.

    A member's outcome mirrors that read's status, so a failed read makes each member's SCP
    rules ERROR, and names the account it came from.  (The credentials' own account gets
    none: its read *is* :attr:`ScanPlan.organization`, merged once.)
    """
    source = plan.organization
    assert source is not None  # covered accounts exist only with a read
    o = source.outcome
    return Shard(
        scope_outcome(
            spec,
            scope,
            o.status,
            error_code=o.error_code,
            error_message=o.error_message,
            operation=o.operation,
            source_account=o.account_id,
        )
    )


def run_unit(
    spec: CollectorSpec,
    factory: ClientFactory,
    scope: Scope,
    limit: AbstractContextManager[object],
    inputs: tuple[Record, ...] = (),
) -> Shard:
    """One collector in one scope, within its service's concurrency limit."""
    with limit:
        outcome, records = run_collector(spec, factory, scope, inputs)
    return Shard(outcome, tuple(records))


@dataclass
class _Dependent:
    """A collector that reads other collectors' records (a lookup), waiting in its job for
    the collectors producing its ``input_types`` there, and the records they gave."""

    spec: CollectorSpec
    waiting_for: set[str]
    inputs: list[Record] = field(default_factory=list)

    def take(self, name: str, shard: Shard) -> bool:
        """Note that ``name`` finished with ``shard``; True when nothing is awaited now."""
        if name not in self.waiting_for:
            return False
        self.inputs += [r for r in shard.records if r.type in self.spec.input_types]
        self.waiting_for.discard(name)
        return not self.waiting_for


def _dependents(job: ScopeJob) -> dict[str, _Dependent]:
    """The job's lookup collectors by name, each with the job's collectors it waits for
    (a producer disabled or absent from the job is not awaited: it gives no records)."""
    out: dict[str, _Dependent] = {}
    for name in job.collectors:
        spec = COLLECTORS[name]
        if spec.input_types:
            producers = {
                other
                for other in job.collectors
                if other != name and spec.input_types & set(COLLECTORS[other].resource_types)
            }
            out[name] = _Dependent(spec, producers)
    return out


class ServiceLimits:
    """One semaphore per (account, service), sized by ``collectors.service_concurrency``."""

    def __init__(self, limits: dict[str, int]) -> None:
        self._limits = limits
        self._lock = threading.Lock()
        self._semaphores: dict[tuple[str, str], threading.BoundedSemaphore] = {}

    def __call__(self, account: str, service: str) -> threading.BoundedSemaphore:
        key = (account, service)
        with self._lock:
            found = self._semaphores.get(key)
            if found is None:
                found = threading.BoundedSemaphore(self._limits.get(service, 1_000_000))
                self._semaphores[key] = found
            return found


def run_jobs_threaded(
    jobs: list[ScopeJob],
    factory_for: Callable[[AccountScan], ClientFactory],
    workers: int,
    limits: ServiceLimits,
    done_with: Callable[[str], None] = lambda _account: None,
) -> Iterator[Shard]:
    """Every unit of ``jobs`` on a bounded pool; shards in completion order.

    A lookup collector (:class:`~scanner.collectors.specs.Lookup`) starts once the
    collectors of its job that produce its input types have finished, with their records.
    ``done_with(account)`` is called once an account's last unit has finished.  On an
    interruption (SIGTERM, Ctrl-C) or a failure, no queued unit starts, so no new AWS call
    is made; the ones in flight finish their current call and are dropped.
    """
    remaining: dict[str, int] = defaultdict(int)
    waiting = [_dependents(job) for job in jobs]
    ready: list[tuple[int, CollectorSpec]] = []
    for index, job in enumerate(jobs):
        for name in job.collectors:
            remaining[job.scan.account_id] += 1
            dependent = waiting[index].get(name)
            if dependent is None or not dependent.waiting_for:
                ready.append((index, COLLECTORS[name]))
    if not ready:
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect")
    futures: dict[Future[Shard], tuple[int, str]] = {}

    def submit(index: int, spec: CollectorSpec, inputs: tuple[Record, ...] = ()) -> None:
        job = jobs[index]
        limit = limits(job.scan.account_id, spec.service)
        future = pool.submit(run_unit, spec, factory_for(job.scan), job.scope(), limit, inputs)
        futures[future] = (index, spec.name)

    try:
        for index, spec in ready:
            submit(index, spec)
        while futures:
            done, _ = wait(list(futures), return_when=FIRST_COMPLETED)
            for future in done:
                # Dropped as soon as it is merged: the pool keeps no shard, so memory holds
                # one snapshot, not a second copy of everything collected.
                index, name = futures.pop(future)
                shard = future.result()  # run_collector never raises for AWS errors
                for dependent in waiting[index].values():
                    if dependent.take(name, shard):
                        submit(index, dependent.spec, tuple(dependent.inputs))
                        dependent.inputs = []
                account = jobs[index].scan.account_id
                yield shard
                remaining[account] -= 1
                if remaining[account] == 0:
                    done_with(account)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


class LocalExecutor:
    """Units on a thread pool in this process (module docstring)."""

    def __init__(self, factories: dict[str, ClientFactory], workers: int, limits: dict[str, int]):
        self._factories = factories
        self._workers = workers
        self._limits = ServiceLimits(limits)

    def run(self, jobs: list[ScopeJob]) -> Iterator[Shard]:
        yield from run_jobs_threaded(
            jobs,
            lambda scan: self._factories[scan.account_id],
            self._workers,
            self._limits,
            done_with=self._forget,
        )

    def _forget(self, account: str) -> None:
        self._factories.pop(account, None)
