"""Collection shards in the store (SQLite and PostgreSQL): written by workers, taken back
once by the scan, and a crashed scan's leftovers removed by the next one."""

from __future__ import annotations

import pytest

from scanner.collectors.shards import Shard
from scanner.collectors.specs import Record
from scanner.history.shards import ShardMissing, ShardStore
from scanner.history.store import Store
from scanner.model.finding import Severity
from scanner.model.record import RunStatus
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot, utc_now


def _shard(account: str = "111122223333", collector: str = "vpc") -> Shard:
    outcome = CollectorOutcome(
        collector, account, "us-east-1", ["ec2:vpc"], OutcomeStatus.OK, resource_count=1
    )
    data = {"VpcId": "vpc-1", "Tags": [{"Key": "k", "Value": "é"}], "n": 1.5}
    return Shard(outcome, (Record("ec2:vpc", "vpc-1", "arn:aws:ec2:::vpc/vpc-1", data),))


def _begin(store: Store, run_id: str) -> None:
    store.begin_run(
        run_id,
        started_at=utc_now(),
        source="collect",
        fail_on=Severity.LOW,
        config_hash="x",
        rulepack_version="1",
    )


def test_a_shard_is_taken_back_whole_and_only_once(store_url: str) -> None:
    Store.open(store_url).close()  # the scan migrates the schema before any task runs
    shards = ShardStore(store_url)
    shards.put("run-1", _shard())
    shards.put("run-1", _shard())  # a retried task rewrites, never duplicates
    assert shards.count("run-1") == 1
    taken = shards.take("run-1", "111122223333", "us-east-1", "vpc")
    assert taken == _shard()
    snap = Snapshot()
    taken.merge_into(snap)
    assert snap.get("111122223333", "us-east-1", "ec2:vpc", "vpc-1") is not None
    with pytest.raises(ShardMissing):
        shards.take("run-1", "111122223333", "us-east-1", "vpc")
    shards.close()


def test_leftovers_of_runs_no_longer_running_are_dropped(store_url: str) -> None:
    with Store.open(store_url) as store, store.writing("refuse", 5):
        _begin(store, "running-run")
        _begin(store, "dead-run")
        store.end_run("dead-run", RunStatus.INTERRUPTED, "killed")
        shards = ShardStore(store_url)
        shards.put("running-run", _shard())
        shards.put("dead-run", _shard(collector="subnet"))
        assert shards.drop_stale() == 1
        assert shards.count("running-run") == 1 and shards.count("dead-run") == 0
        shards.close()
