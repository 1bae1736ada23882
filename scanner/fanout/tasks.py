"""What a Dask worker runs: one scope job, its shards written to the store.

A task gets the settings as plain data, the scope job (account, region, collectors, and
how to reach the account) and where the store is.  It builds its own clients on the
worker: the base credentials come from the worker's own credential chain (environment,
instance role, IRSA on Kubernetes), and a member account's role is assumed there with
self-refreshing credentials (:mod:`scanner.aws.assume`), cached per worker process so the
account's other regions reuse the session.  Nothing but a short list of pointers goes back
to the scheduler.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

from scanner.aws.assume import RoleTarget, account_factory
from scanner.aws.session import ClientFactory
from scanner.collectors.accounts import identity
from scanner.collectors.fanout import ScopeJob, ServiceLimits, run_jobs_threaded
from scanner.config import Config
from scanner.history.shards import ShardStore


@dataclass(frozen=True)
class ShardPointer:
    """Where one collector's shard is, and what it holds (for progress and counts)."""

    account_id: str
    region: str
    collector: str
    status: str
    resource_count: int


_lock = threading.Lock()
ACCOUNTS_CACHED = 8
"""Accounts whose assumed session a worker keeps (each ~50 MB of boto3 clients and models):
an account's region tasks arrive together, so a few serve them all and memory stays flat
as the organization grows (at 256 a worker kept ~43 MB per account it had served)."""


@lru_cache(maxsize=8)
def _config(doc: str) -> Config:
    return Config.model_validate_json(doc)


@lru_cache(maxsize=8)
def _base(doc: str) -> ClientFactory:
    return ClientFactory(_config(doc))


@lru_cache(maxsize=ACCOUNTS_CACHED)
def _account(doc: str, role: RoleTarget | None, account_id: str) -> ClientFactory:
    """The account's factory on this worker.  Without a role it is the worker's own
    credentials, which must be the account the scan planned for (the scanning machine's):
    a worker with another account's credentials would otherwise collect that account under
    this one's id."""
    factory = account_factory(_base(doc), role)
    if role is None:
        found, _partition = identity(factory)
        if found != account_id:
            raise WrongAccount(
                f"this worker's credentials are of account {found}, not {account_id}: give "
                "the workers the scanning machine's credentials, or list the account with a "
                "role_arn"
            )
    return factory


class WrongAccount(RuntimeError):
    """A worker's own credentials belong to another account than the job's."""


@lru_cache(maxsize=8)
def _shards(url: str) -> ShardStore:
    return ShardStore(url)


def collect_scope(
    config_doc: str, job: ScopeJob, store_url: str, run_id: str
) -> list[ShardPointer]:
    """Run ``job``'s collectors on this worker with threads; write each shard; return pointers."""
    with _lock:  # lru_cache is thread-safe, but two tasks must not build one factory twice
        config = _config(config_doc)
        factory = _account(config_doc, job.scan.target.role, job.scan.account_id)
        store = _shards(store_url)
    limits = ServiceLimits(dict(config.collectors.service_concurrency))
    pointers: list[ShardPointer] = []
    for shard in run_jobs_threaded(
        [job], lambda _scan: factory, config.executor.threads_per_worker, limits
    ):
        store.put(run_id, shard)
        o = shard.outcome
        pointers.append(
            ShardPointer(o.account_id, o.region, o.collector, str(o.status), o.resource_count)
        )
    return pointers


def task_key(run_id: str, job: ScopeJob) -> str:
    """An explicit, readable key per task (Dask's dashboard and logs show it)."""
    return f"collect-{run_id}-{job.scan.account_id}-{job.region}"
