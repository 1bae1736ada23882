"""``collect()``: run every enabled collector across the account's regions into a Snapshot.

Order of work:

1. Preflight, once: the account id (STS GetCallerIdentity, which also gives the partition)
   and, when neither the caller nor config names regions, the enabled regions (EC2
   DescribeRegions).  If the preflight fails (an AWS error, or an answer without the
   account id or a region name: ``MalformedResponse``) nothing can be attributed correctly,
   so every collector in every scope records that failure as its ``error`` outcome.
2. One task per (collector, region) for regional collectors and one per global collector,
   run on a thread pool of ``collectors.concurrency`` workers.  Workers share one
   :class:`ClientFactory` (clients are thread-safe; the session is guarded by a lock).
3. Results are merged into the Snapshot on the calling thread only, so the snapshot never
   needs locking.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from scanner.aws.errors import ErrorInfo, classify
from scanner.aws.session import ClientFactory, global_region_for
from scanner.collectors.engine import run_collector, scope_outcome
from scanner.collectors.normalize import MalformedResponse
from scanner.collectors.paging import call, pages
from scanner.collectors.registry import COLLECTORS
from scanner.collectors.specs import CollectorSpec, Record, Scope
from scanner.config import Config
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot, utc_now
from scanner.progress import NullProgress, Progress

STAGE = "collect"
UNKNOWN_ACCOUNT = "unknown"


class _PreflightFailed(Exception):
    def __init__(self, operation: str, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.operation = operation
        self.info = info


def _text(value: Any, what: str) -> str:
    """A non-empty string from an answer, else :class:`MalformedResponse` naming the field."""
    if not isinstance(value, str) or not value:
        raise MalformedResponse(f"answer has no {what}")
    return value


def _identity(factory: ClientFactory) -> tuple[str, str]:
    """(account id, partition) of the credentials in use.

    The answer is read inside the ``try``: a malformed one (no ``Account``, an ``Arn``
    without a partition) must become a recorded preflight failure, not a crash of the scan.
    """
    try:
        answer = call(factory.client("sts", factory.default_region), "GetCallerIdentity", {})
        account = _text(answer.get("Account"), "Account")
        arn = _text(answer.get("Arn"), "Arn").split(":")
        return account, _text(arn[1] if len(arn) > 1 else None, "partition in Arn")
    except Exception as exc:  # recorded on every collector by the caller
        raise _PreflightFailed("GetCallerIdentity", classify(exc)) from exc


def _enabled_regions(factory: ClientFactory) -> list[str]:
    """Regions enabled for the account; a malformed answer is a preflight failure.

    An account always has enabled regions, so an answer listing none is malformed too:
    falling back to one region would leave the others unscanned behind a complete report.
    """
    try:
        client = factory.client("ec2", factory.default_region)
        answer = pages(client, "DescribeRegions", {"AllRegions": False})
        regions = sorted(
            {
                _text(r.get("RegionName") if isinstance(r, dict) else None, "RegionName")
                for page in answer
                for r in page.get("Regions") or []
            }
        )
        if not regions:
            raise MalformedResponse("answer lists no Regions")
        return regions
    except Exception as exc:  # recorded on every collector by the caller
        raise _PreflightFailed("DescribeRegions", classify(exc)) from exc


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


def scopes_for(
    spec: CollectorSpec, account: str, partition: str, regions: list[str], global_region: str
) -> list[Scope]:
    """The scopes one collector runs in: once per account if global, else once per region."""
    if spec.is_global:
        return [Scope(account, GLOBAL_REGION, global_region, partition, tuple(regions))]
    return [Scope(account, r, r, partition, tuple(regions)) for r in regions]


def _plain_outcome(
    spec: CollectorSpec, scope: Scope, status: OutcomeStatus, failure: _PreflightFailed | None
) -> CollectorOutcome:
    if failure is None:
        return scope_outcome(spec, scope, status)
    return scope_outcome(
        spec,
        scope,
        status,
        error_code=failure.info.code,
        error_message=failure.info.message,
        operation=failure.operation,
    )


def collect(
    config: Config,
    *,
    regions: list[str] | None = None,
    progress: Progress | None = None,
    factory: ClientFactory | None = None,
) -> Snapshot:
    """Collect the estate visible to ``config``'s credentials into a new :class:`Snapshot`.

    ``regions``: this list if given, else ``config.regions``, else every enabled region.
    Never raises for AWS failures (they are outcomes); raises :class:`InputError` for bad
    configuration (unknown profile, unknown collector name in ``collectors.disabled``).
    """
    progress = progress or NullProgress()
    disabled = disabled_collectors(config)
    factory = factory or ClientFactory(config)
    snapshot = Snapshot()
    wanted = list(regions or config.regions)
    failure: _PreflightFailed | None = None
    account, partition = UNKNOWN_ACCOUNT, "aws"
    try:
        account, partition = _identity(factory)
        if not wanted:
            wanted = _enabled_regions(factory)
    except _PreflightFailed as exc:
        failure = exc
    if not wanted:
        wanted = [factory.default_region]
    snapshot.accounts, snapshot.regions, snapshot.partition = [account], wanted, partition
    global_region = global_region_for(wanted[0])

    tasks: list[tuple[CollectorSpec, Scope]] = [
        (spec, scope)
        for spec in COLLECTORS.values()
        for scope in scopes_for(spec, account, partition, wanted, global_region)
    ]
    progress.start(STAGE, len(tasks))
    runnable: list[tuple[CollectorSpec, Scope]] = []
    for spec, scope in tasks:
        if failure is not None or spec.name in disabled:
            status = OutcomeStatus.ERROR if failure is not None else OutcomeStatus.DISABLED
            snapshot.record(_plain_outcome(spec, scope, status, failure))
            progress.advance(STAGE, f"{spec.name} {scope.region}")
        else:
            runnable.append((spec, scope))
    _run_all(runnable, factory, config.collectors.concurrency, snapshot, progress.advance)
    progress.finish(STAGE)
    snapshot.collectors.sort(key=lambda o: (o.account_id, o.region, o.collector))
    snapshot.finished_at = utc_now()
    return snapshot


def _run_all(
    tasks: list[tuple[CollectorSpec, Scope]],
    factory: ClientFactory,
    workers: int,
    snapshot: Snapshot,
    advance: Callable[[str, str], None],
) -> None:
    if not tasks:
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="collect")
    try:
        futures = {
            pool.submit(run_collector, spec, factory, scope): (spec, scope) for spec, scope in tasks
        }
        for future in as_completed(futures):
            spec, scope = futures[future]
            outcome, records = future.result()  # run_collector never raises for AWS errors
            snapshot.record(outcome)
            _store(snapshot, scope, records)
            advance(STAGE, f"{spec.name} {scope.region}")
    except BaseException:
        # Interrupted (SIGTERM, Ctrl-C) or failed: start no queued collector, so no new AWS
        # call is made; the ones in flight finish their current call and are dropped.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _store(snapshot: Snapshot, scope: Scope, records: list[Record]) -> None:
    for rec in records:
        snapshot.add(scope.account_id, scope.region, rec.type, rec.id, rec.data, rec.arn)
