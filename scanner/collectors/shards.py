"""A shard: what one collector found in one (account, region), the unit collection merges.

Collection fans out over (account, region, collector) and every unit ends as exactly one
shard: its outcome and, when the outcome is ``ok``, its records.  Shards are merged into the
snapshot before evaluation, so evaluation stays offline and sees the whole estate.  On Dask
a shard travels through the history store as a compact document (:meth:`Shard.to_doc`),
never back through the scheduler.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from scanner.collectors.specs import Record
from scanner.model.snapshot import CollectorOutcome, Snapshot


@dataclass(frozen=True)
class Shard:
    """One collector's outcome in one scope, and its records."""

    outcome: CollectorOutcome
    records: tuple[Record, ...] = ()

    def merge_into(self, snapshot: Snapshot) -> None:
        """Add the outcome and records to ``snapshot`` (on the merging thread only)."""
        snapshot.record(self.outcome)
        for rec in self.records:
            snapshot.add(
                self.outcome.account_id, self.outcome.region, rec.type, rec.id, rec.data, rec.arn
            )

    def to_doc(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.to_dict(),
            "records": [[r.type, r.id, r.arn, r.data] for r in self.records],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Shard:
        records = tuple(Record(t, i, a, d) for t, i, a, d in doc["records"])
        return cls(CollectorOutcome.from_dict(doc["outcome"]), records)

    def pack(self) -> bytes:
        """zlib-compressed JSON (what the store keeps)."""
        return zlib.compress(json.dumps(self.to_doc(), default=str).encode(), 6)

    @classmethod
    def unpack(cls, body: bytes) -> Shard:
        return cls.from_doc(json.loads(zlib.decompress(body)))
