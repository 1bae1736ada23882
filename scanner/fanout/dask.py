"""The Dask executor: one task per (account, region) on a Dask cluster.

``executor: {kind: dask, address: tcp://scheduler:8786}`` sends collection to an existing
cluster (Kubernetes, YARN, SSH: any deployment whose scheduler this machine reaches); with
no ``address`` a ``distributed.LocalCluster`` of ``executor.workers`` processes is started
here and stopped after.  Each task runs one scope job on a worker with
``executor.threads_per_worker`` threads for its I/O-bound boto3 calls, writes every
collector's shard to the history store and returns only pointers (:mod:`.tasks`); this
process consumes tasks with ``as_completed`` and takes each shard out of the store as it
merges it, so neither the scheduler nor this process ever holds more than the snapshot.

Tasks are submitted with explicit keys and ``pure=False``: two scans never share a
result, and a retried task rewrites its shards.  A task that fails (a worker lost, an
exception) makes each of its collectors an ERROR outcome naming the failure: a scope no
worker finished is never a scope with nothing in it.

The workers need the store: PostgreSQL for a remote cluster (a SQLite file only works for
workers on this machine, such as the LocalCluster), and AWS credentials of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from scanner.collectors.fanout import ScopeJob, outcome_shard
from scanner.collectors.registry import COLLECTORS
from scanner.collectors.shards import Shard
from scanner.config import Config
from scanner.errors import InputError
from scanner.fanout.tasks import ShardPointer, collect_scope, task_key
from scanner.history.shards import ShardStore
from scanner.model.snapshot import OutcomeStatus

log = logging.getLogger(__name__)

WORKER_FAILED = "WorkerFailed"


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:  # pragma: no cover - depends on installed extras
        raise InputError(
            "executor.kind dask needs Dask: pip install 'privatelink-scanner[dask]'",
            path="config: executor",
        ) from None
    return distributed


class DaskExecutor:
    """Scope jobs as Dask tasks (module docstring).  Use as a context manager."""

    def __init__(self, config: Config, store_url: str, run_id: str) -> None:
        self._config = config
        self._store_url = store_url
        self._run_id = run_id
        self._doc = config.model_dump_json()
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> DaskExecutor:
        distributed = _distributed()
        ex = self._config.executor
        if ex.address:
            self._client = distributed.Client(ex.address, set_as_default=False)
        else:
            self._cluster = distributed.LocalCluster(
                n_workers=ex.workers,
                threads_per_worker=ex.threads_per_worker,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
            )
            self._client = distributed.Client(self._cluster, set_as_default=False)
        log.info("collecting on Dask at %s", self._client.scheduler.address)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def run(self, jobs: list[ScopeJob]) -> Iterator[Shard]:
        """Every job as a task; each collector's shard as its task completes."""
        if not jobs:
            return
        if self._client is None:
            with self:
                yield from self._run(jobs)
        else:
            yield from self._run(jobs)

    def _run(self, jobs: list[ScopeJob]) -> Iterator[Shard]:
        distributed = _distributed()
        store = ShardStore(self._store_url)
        store.drop_stale()
        futures = {
            self._client.submit(
                collect_scope,
                self._doc,
                job,
                self._store_url,
                self._run_id,
                key=task_key(self._run_id, job),
                pure=False,
            ): job
            for job in jobs
        }
        try:
            for future in distributed.as_completed(futures, loop=self._client.loop):
                job = futures.pop(future)
                try:
                    pointers: list[ShardPointer] = future.result()
                except Exception as exc:  # noqa: BLE001 - every collector of the job records it
                    log.error("Dask task for %s failed: %s", job.label, exc)
                    yield from _failed(job, exc)
                    continue
                for p in pointers:
                    yield store.take(self._run_id, p.account_id, p.region, p.collector)
        except BaseException:
            for pending in futures:
                pending.cancel()
            raise
        finally:
            store.drop_run(self._run_id)
            store.close()


def _failed(job: ScopeJob, exc: BaseException) -> Iterator[Shard]:
    scope = job.scope()
    for name in job.collectors:
        yield outcome_shard(
            COLLECTORS[name],
            scope,
            OutcomeStatus.ERROR,
            error_code=WORKER_FAILED,
            error_message=f"the Dask task for {job.label} failed: {type(exc).__name__}: {exc}",
        )
