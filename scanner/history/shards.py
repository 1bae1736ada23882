"""Collection shards in the store: how Dask workers hand their results back.

A worker that collected one (account, region) writes each collector's shard here and
returns only a pointer (account, region, collector, status, count); the scan takes the
shards one by one while it merges, so nothing the size of an account ever travels through
the Dask scheduler (c7n-org ran out of memory pickling results back) and the scan holds at
most the snapshot it is building.

Workers write without the store's writer lock: the scan holding it owns the run, and
shard rows are keyed by that run, never part of history.  The schema is the scan's
(``Store.open`` migrated it before any task started).  Rows left by a crashed scan are
deleted by the next one (:meth:`ShardStore.drop_stale`).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from scanner.collectors.shards import Shard
from scanner.history import schema as t
from scanner.history.database import create, parse_url
from scanner.model.record import RunStatus

_table = t.collection_shards


def _key(run_id: str, account_id: str, region: str, collector: str) -> sa.ColumnElement[bool]:
    return (
        (_table.c.run_id == run_id)
        & (_table.c.account_id == account_id)
        & (_table.c.region == region)
        & (_table.c.collector == collector)
    )


class ShardMissing(RuntimeError):
    """A pointer names a shard the store does not hold."""


class ShardStore:
    """The ``collection_shards`` table of one store."""

    def __init__(self, url: str) -> None:
        self.engine = create(parse_url(url))

    def close(self) -> None:
        self.engine.dispose()

    def put(self, run_id: str, shard: Shard) -> None:
        """Write (or, for a retried task, rewrite) one shard."""
        o = shard.outcome
        key = _key(run_id, o.account_id, o.region, o.collector)
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_table).where(key))
            conn.execute(
                sa.insert(_table).values(
                    run_id=run_id,
                    account_id=o.account_id,
                    region=o.region,
                    collector=o.collector,
                    status=str(o.status),
                    resource_count=o.resource_count,
                    body=shard.pack(),
                    written_at=datetime.now(UTC),
                )
            )

    def take(self, run_id: str, account_id: str, region: str, collector: str) -> Shard:
        """Read one shard and delete it (one transaction)."""
        key = _key(run_id, account_id, region, collector)
        with self.engine.begin() as conn:
            body = conn.execute(sa.select(_table.c.body).where(key)).scalar()
            if body is None:
                raise ShardMissing(f"no shard {collector} {account_id}/{region} of run {run_id}")
            conn.execute(sa.delete(_table).where(key))
        return Shard.unpack(body)

    def count(self, run_id: str | None = None) -> int:
        query = sa.select(sa.func.count()).select_from(_table)
        if run_id is not None:
            query = query.where(_table.c.run_id == run_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def drop_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.delete(_table).where(_table.c.run_id == run_id))

    def drop_stale(self) -> int:
        """Delete the shards of every run that is not running (a crashed scan's)."""
        running = sa.select(t.runs.c.id).where(t.runs.c.status == str(RunStatus.RUNNING))
        with self.engine.begin() as conn:
            result = conn.execute(sa.delete(_table).where(_table.c.run_id.not_in(running)))
        return int(result.rowcount or 0)
