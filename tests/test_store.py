"""The history store through its public API, on SQLite and on PostgreSQL (``store_url``).

Runs are written the way ``scanner.run`` writes them (begin_run -> save_results ->
finish_run under ``writing()``) by :func:`write_run`; snapshots are built by hand, a few
resources each, so every count asserted below can be worked out from the test itself.
"""

from __future__ import annotations

import copy
import select
import signal
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scanner.history import schema as t
from scanner.history.canonical import canonical_bytes, canonical_record, content_hash
from scanner.history.database import StoreError
from scanner.history.drift import Side, drift, summary
from scanner.history.lock import StoreBusy
from scanner.history.store import RunRow, Store
from scanner.history.verify import verify
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord, RunStatus
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.storekit import store_record

REPO = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
REGION = "us-west-2"
COLLECTORS = {"ec2:vpc": "vpc", "ec2:subnet": "subnet", "ec2:vpc-endpoint": "vpc-endpoint"}

VPC = {
    "VpcId": "vpc-1",
    "CidrBlock": "10.0.0.0/16",
    "EnableDnsSupport": True,
    "EnableDnsHostnames": True,
}
SUBNET_1 = {
    "SubnetId": "subnet-1",
    "VpcId": "vpc-1",
    "CidrBlock": "10.0.1.0/24",
    "AvailableIpAddressCount": 250,
}
SUBNET_2 = {**SUBNET_1, "SubnetId": "subnet-2", "CidrBlock": "10.0.2.0/24"}
SUBNET_3 = {**SUBNET_1, "SubnetId": "subnet-3", "CidrBlock": "10.0.3.0/24"}
ENDPOINT_1 = {
    "VpcEndpointId": "vpce-1",
    "VpcId": "vpc-1",
    "ServiceName": f"com.amazonaws.{REGION}.sagemaker.api",
    "PrivateDnsEnabled": True,
}
ENDPOINT_2 = {
    **ENDPOINT_1,
    "VpcEndpointId": "vpce-2",
    "ServiceName": f"com.amazonaws.{REGION}.sagemaker.runtime",
}

Key = tuple[str, str]  # resource type, id
Estate = dict[Key, dict[str, Any]]


def base_estate() -> Estate:
    """One VPC, one subnet, one endpoint."""
    return {
        ("ec2:vpc", "vpc-1"): copy.deepcopy(VPC),
        ("ec2:subnet", "subnet-1"): copy.deepcopy(SUBNET_1),
        ("ec2:vpc-endpoint", "vpce-1"): copy.deepcopy(ENDPOINT_1),
    }


def arn(rtype: str, rid: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{rtype.split(':')[1]}/{rid}"


def snapshot(
    resources: Estate,
    *,
    status: dict[str, OutcomeStatus] | None = None,
    day: int = 1,
) -> Snapshot:
    """A snapshot of ``resources``, one collector outcome per type (``ok`` unless told)."""
    snap = Snapshot(
        accounts=[ACCOUNT],
        regions=[REGION],
        started_at=stamp(day),
        finished_at=stamp(day, minute=5),
        tool_version="0.0.test",
    )
    for (rtype, rid), data in sorted(resources.items()):
        snap.add(ACCOUNT, REGION, rtype, rid, copy.deepcopy(data), arn(rtype, rid))
    for rtype, collector in COLLECTORS.items():
        st = (status or {}).get(rtype, OutcomeStatus.OK)
        failed = st is OutcomeStatus.ERROR
        snap.record(
            CollectorOutcome(
                collector=collector,
                account_id=ACCOUNT,
                region=REGION,
                resource_types=[rtype],
                status=st,
                resource_count=sum(1 for k in resources if k[0] == rtype),
                error_code="UnauthorizedOperation" if failed else None,
                error_message="not allowed" if failed else None,
                operation="DescribeVpcEndpoints" if failed else None,
                duration_s=0.25,
            )
        )
    return snap


def finding(
    rule_id: str,
    rtype: str,
    rid: str,
    status: Status,
    *,
    severity: Severity = Severity.HIGH,
    waiver: dict[str, Any] | None = None,
    evidence: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        rule_id=rule_id,
        status=status,
        severity=severity,
        account_id=ACCOUNT,
        region=REGION,
        resource_type=rtype,
        resource_id=rid,
        title=f"title of {rule_id}",
        message=f"{rule_id} on {rid}: {status}",
        resource_arn=None if rid == "*" else arn(rtype, rid),
        evidence=evidence if evidence is not None else {"checked": rid},
        frameworks={"NIST-800-53": ["SC-7"]},
        remediation={"summary": f"fix {rule_id}"},
        waiver=waiver,
    )


def stamp(day: int, minute: int = 0) -> str:
    return f"2024-03-{day:02d}T08:{minute:02d}:00.000000Z"


def write_run(
    store: Store,
    run_id: str,
    snap: Snapshot,
    findings: Iterable[Finding] = (),
    *,
    day: int,
    waivers: list[dict[str, Any]] | None = None,
) -> RunRow:
    """Write one whole run through the public API, as ``scanner.run`` does."""
    started = stamp(day)
    record = RunRecord(
        run_id=run_id,
        snapshot=snap,
        findings=list(findings),
        started_at=started,
        finished_at=stamp(day, minute=10),
        fail_on=Severity.LOW,
        rulepack_version="test-pack-1",
        config_hash="c" * 64,
        waivers=waivers or [],
    )
    return store_record(store, record)


def begin(store: Store, run_id: str, *, day: int) -> None:
    store.begin_run(
        run_id,
        started_at=stamp(day),
        source="test",
        fail_on=Severity.LOW,
        config_hash="c" * 64,
        rulepack_version="test-pack-1",
    )


def failed_run(store: Store, run_id: str, *, day: int) -> RunRow:
    with store.writing(mode="refuse"):
        begin(store, run_id, day=day)
        store.end_run(run_id, RunStatus.FAILED, "RuntimeError: boom")
    return store.run(run_id)


def count(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def sql(store: Store, text: str, **params: Any) -> list[sa.Row[Any]]:
    with store.engine.begin() as conn:
        result = conn.execute(sa.text(text), params)
        return list(result) if result.returns_rows else []


def dicts(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return sorted((f.to_dict() for f in findings), key=lambda d: d["fingerprint"])


def blob_hash(rtype: str, rid: str, data: dict[str, Any]) -> str:
    """The content address the store gives a resource record."""
    return content_hash(
        canonical_bytes(canonical_record(rtype, {"arn": arn(rtype, rid), "data": data}))
    )


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[[], Store]]:
    """Open stores on ``store_url`` (each closed after the test)."""
    opened: list[Store] = []

    def make() -> Store:
        store = Store.open(store_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Callable[[], Store]) -> Store:
    return open_store()


# -- 1. round trip ----------------------------------------------------------------------


def test_snapshot_round_trip_drops_only_volatile_fields(store: Store) -> None:
    snap = snapshot(base_estate())
    row = write_run(store, "r1", snap, day=1)

    back = store.snapshot(row).to_dict()
    subnet = back["resources"][ACCOUNT][REGION]["ec2:subnet"]["subnet-1"]["data"]
    assert "AvailableIpAddressCount" not in subnet
    assert subnet["CidrBlock"] == "10.0.1.0/24"

    expected = copy.deepcopy(snap.to_dict())  # to_dict shares the resource tree
    for rtype, by_id in expected["resources"][ACCOUNT][REGION].items():
        for rid, rec in by_id.items():
            by_id[rid] = canonical_record(rtype, rec)
    assert back == expected
    # the original snapshot is left as collected
    assert (
        snap.get(ACCOUNT, REGION, "ec2:subnet", "subnet-1").data["AvailableIpAddressCount"] == 250
    )


def test_findings_round_trip_including_waiver(store: Store) -> None:
    waiver = {
        "id": "W-7",
        "rule_id": "vpce.private-dns",
        "resource": "vpce-1",
        "owner": "net-team",
        "reason": "migration",
        "expires": "2099-01-01",
    }
    findings = [
        finding("vpc.dns", "ec2:vpc", "vpc-1", Status.PASS),
        finding("vpce.private-dns", "ec2:vpc-endpoint", "vpce-1", Status.FAIL, waiver=waiver),
        finding("subnet.tags", "ec2:subnet", "subnet-1", Status.ERROR, severity=Severity.LOW),
        finding("vpc.flow-logs", "ec2:vpc", "vpc-1", Status.NOT_APPLICABLE, evidence={}),
    ]
    row = write_run(store, "r1", snapshot(base_estate()), findings, day=1)

    back = store.findings(row)
    assert dicts(back) == dicts(findings)
    waived = [f for f in back if f.waived]
    assert [(f.rule_id, f.waiver) for f in waived] == [("vpce.private-dns", waiver)]


def test_run_row_and_record_read_like_the_scan(store: Store) -> None:
    findings = [
        finding("vpc.dns", "ec2:vpc", "vpc-1", Status.FAIL),
        finding("subnet.tags", "ec2:subnet", "subnet-1", Status.PASS),
    ]
    row = write_run(store, "r1", snapshot(base_estate()), findings, day=1)

    assert row.status is RunStatus.COMPLETE
    assert row.seq == 1
    assert row.exit_code == 1
    assert row.counts is not None
    assert row.counts["by_status"] == {"PASS": 1, "FAIL": 1, "ERROR": 0, "NOT_APPLICABLE": 0}
    assert row.started_at == stamp(1)
    assert row.finished_at == stamp(1, minute=10)
    assert row.chain_digest is not None
    record = store.record(row)
    assert (record.run_id, record.fail_on, record.rulepack_version, record.config_hash) == (
        "r1",
        Severity.LOW,
        "test-pack-1",
        "c" * 64,
    )
    assert record.summary() == row.counts


def test_failed_collector_makes_the_run_incomplete(store: Store) -> None:
    snap = snapshot(base_estate(), status={"ec2:subnet": OutcomeStatus.ERROR})
    row = write_run(store, "r1", snap, day=1)

    assert row.status is RunStatus.INCOMPLETE
    assert row.exit_code == 3
    assert [o.to_dict() for o in store.snapshot(row).collectors] == [
        o.to_dict() for o in snap.collectors
    ]


# -- 2. storage by change ---------------------------------------------------------------


def open_versions(store: Store, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.until_seq.is_(None))
            ).scalar_one()
        )


def test_storage_grows_only_with_changes(store: Store) -> None:
    one = [finding("vpc.dns", "ec2:vpc", "vpc-1", Status.PASS)]
    estate = base_estate()
    r1 = write_run(store, "r1", snapshot(estate), one, day=1)
    # 3 resource versions + 3 resource blobs, 1 finding version + 1 detail blob
    assert (count(store, t.resource_versions), count(store, t.blobs)) == (3, 4)
    assert count(store, t.finding_versions) == 1

    estate[("ec2:subnet", "subnet-1")]["CidrBlock"] = "10.0.9.0/24"
    r2 = write_run(store, "r2", snapshot(estate), one, day=2)
    assert (count(store, t.resource_versions), count(store, t.blobs)) == (4, 5)
    assert count(store, t.finding_versions) == 1
    assert open_versions(store, t.resource_versions) == 3

    r3 = write_run(store, "r3", snapshot(estate), one, day=3)
    assert (count(store, t.resource_versions), count(store, t.blobs)) == (4, 5)
    assert count(store, t.finding_versions) == 1

    v = t.resource_versions
    with store.engine.connect() as conn:
        spans = sorted(
            conn.execute(
                sa.select(v.c.resource_id, v.c.first_seq, v.c.until_seq).where(
                    v.c.resource_id == "subnet-1"
                )
            ).all()
        )
    assert [tuple(s) for s in spans] == [("subnet-1", r1.seq, r2.seq), ("subnet-1", r2.seq, None)]
    cidr = {
        r.id: store.snapshot(r).get(ACCOUNT, REGION, "ec2:subnet", "subnet-1").data["CidrBlock"]
        for r in (r1, r2, r3)
    }
    assert cidr == {"r1": "10.0.1.0/24", "r2": "10.0.9.0/24", "r3": "10.0.9.0/24"}


def test_volatile_only_change_stores_nothing(store: Store) -> None:
    estate = base_estate()
    write_run(store, "r1", snapshot(estate), day=1)
    before = (count(store, t.resource_versions), count(store, t.blobs))

    estate[("ec2:subnet", "subnet-1")]["AvailableIpAddressCount"] = 12
    r2 = write_run(store, "r2", snapshot(estate), day=2)

    assert (count(store, t.resource_versions), count(store, t.blobs)) == before
    assert store.resource_hashes(r2) == store.resource_hashes(store.run("r1"))


def test_content_seen_before_reuses_its_blob(store: Store) -> None:
    estate = base_estate()
    write_run(store, "r1", snapshot(estate), day=1)
    estate[("ec2:subnet", "subnet-1")]["CidrBlock"] = "10.0.9.0/24"
    write_run(store, "r2", snapshot(estate), day=2)
    estate[("ec2:subnet", "subnet-1")]["CidrBlock"] = "10.0.1.0/24"  # back to run 1's
    r3 = write_run(store, "r3", snapshot(estate), day=3)

    assert count(store, t.resource_versions) == 5  # a new version row ...
    assert count(store, t.blobs) == 4  # ... pointing at run 1's blob
    key = (ACCOUNT, REGION, "ec2:subnet", "subnet-1")
    assert store.resource_hashes(r3)[key] == store.resource_hashes(store.run("r1"))[key]


def test_vanished_resource_is_closed_and_kept_in_history(store: Store) -> None:
    estate = base_estate()
    estate[("ec2:subnet", "subnet-2")] = copy.deepcopy(SUBNET_2)
    r1 = write_run(store, "r1", snapshot(estate), day=1)
    del estate[("ec2:subnet", "subnet-2")]
    r2 = write_run(store, "r2", snapshot(estate), day=2)

    v = t.resource_versions
    with store.engine.connect() as conn:
        until = conn.execute(
            sa.select(v.c.until_seq).where(v.c.resource_id == "subnet-2")
        ).scalar_one()
    assert until == r2.seq
    assert store.snapshot(r2).get(ACCOUNT, REGION, "ec2:subnet", "subnet-2") is None
    kept = store.snapshot(r1).get(ACCOUNT, REGION, "ec2:subnet", "subnet-2")
    assert kept is not None
    assert kept.data["CidrBlock"] == "10.0.2.0/24"
    assert count(store, t.resource_versions) == 4


def test_changed_finding_closes_its_version(store: Store) -> None:
    r1 = write_run(
        store, "r1", snapshot(base_estate()), [finding("a", "ec2:vpc", "vpc-1", Status.PASS)], day=1
    )
    r2 = write_run(
        store, "r2", snapshot(base_estate()), [finding("a", "ec2:vpc", "vpc-1", Status.FAIL)], day=2
    )
    assert count(store, t.finding_versions) == 2
    assert [f.status for f in store.findings(r1)] == [Status.PASS]
    assert [f.status for f in store.findings(r2)] == [Status.FAIL]


# -- 3. SQL views -----------------------------------------------------------------------


def test_findings_view_counts_a_runs_findings(store: Store) -> None:
    r1 = write_run(
        store,
        "r1",
        snapshot(base_estate()),
        [
            finding("a", "ec2:vpc", "vpc-1", Status.FAIL),
            finding("b", "ec2:vpc", "vpc-1", Status.FAIL),
            finding("c", "ec2:subnet", "subnet-1", Status.PASS),
        ],
        day=1,
    )
    r2 = write_run(
        store,
        "r2",
        snapshot(base_estate()),
        [
            finding("a", "ec2:vpc", "vpc-1", Status.PASS),
            finding("b", "ec2:vpc", "vpc-1", Status.FAIL),
            finding("c", "ec2:subnet", "subnet-1", Status.PASS),
            finding("d", "ec2:subnet", "subnet-1", Status.ERROR),
        ],
        day=2,
    )
    query = "SELECT status, count(*) FROM findings WHERE run_id = :id GROUP BY status"
    for row in (r1, r2):
        counts = {status: n for status, n in sql(store, query, id=row.id)}
        assert row.counts is not None
        assert counts == {s: n for s, n in row.counts["by_status"].items() if n}
    assert {s: n for s, n in sql(store, query, id="r2")} == {"PASS": 2, "FAIL": 1, "ERROR": 1}
    one = sql(
        store, "SELECT rule_id, run_status FROM findings WHERE run_id = 'r2' AND rule_id = 'b'"
    )
    assert [tuple(r) for r in one] == [("b", "incomplete")]  # r2 has an ERROR


def test_run_resources_view_lists_a_runs_resources(store: Store) -> None:
    estate = base_estate()
    r1 = write_run(store, "r1", snapshot(estate), day=1)
    estate[("ec2:subnet", "subnet-3")] = copy.deepcopy(SUBNET_3)
    del estate[("ec2:vpc-endpoint", "vpce-1")]
    r2 = write_run(store, "r2", snapshot(estate), day=2)

    query = (
        "SELECT resource_type, resource_id, content_hash FROM run_resources "
        "WHERE run_id = :id ORDER BY resource_type, resource_id"
    )
    for row in (r1, r2):
        listed = [tuple(r) for r in sql(store, query, id=row.id)]
        expected = sorted((k[2], k[3], h) for k, h in store.resource_hashes(row).items())
        assert listed == expected
    assert [r[1] for r in sql(store, query, id="r2")] == ["subnet-1", "subnet-3", "vpc-1"]


def test_failed_run_has_no_rows_in_the_views(store: Store) -> None:
    write_run(
        store, "r1", snapshot(base_estate()), [finding("a", "ec2:vpc", "vpc-1", Status.FAIL)], day=1
    )
    failed_run(store, "r2", day=2)

    for view, in_r1 in (("findings", 1), ("run_resources", 3)):
        rows = {
            r[0]: r[1] for r in sql(store, f"SELECT run_id, count(*) FROM {view} GROUP BY run_id")
        }
        assert rows == {"r1": in_r1}


# -- 4. statuses --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.INTERRUPTED])
def test_end_run_records_status_and_error(store: Store, status: RunStatus) -> None:
    with store.writing(mode="refuse"):
        begin(store, "r1", day=1)
        store.end_run("r1", status, "why " + "x" * 3000)
    row = store.run("r1")
    assert row.status is status
    assert row.error is not None
    assert row.error.startswith("why x")
    assert len(row.error) == 2000
    assert row.finished_at is not None
    assert row.seq is None
    assert not row.finished
    assert store.latest() is None
    with pytest.raises(StoreError, match="stored no snapshot"):
        store.snapshot(row)


def test_end_run_leaves_a_finished_run_alone(store: Store) -> None:
    row = write_run(store, "r1", snapshot(base_estate()), day=1)
    store.end_run("r1", RunStatus.FAILED, "late failure")
    again = store.run("r1")
    assert (again.status, again.error, again.chain_digest) == (
        RunStatus.COMPLETE,
        None,
        row.chain_digest,
    )


def test_latest_skips_failed_and_interrupted_runs(store: Store) -> None:
    r1 = write_run(store, "r1", snapshot(base_estate()), day=1)
    r2 = write_run(store, "r2", snapshot(base_estate()), day=2)
    failed_run(store, "r3", day=3)
    assert store.latest() == r2
    assert store.latest(before=r2) == r1
    assert store.latest(before=r1) is None


def test_writing_without_the_lock_is_refused(store: Store) -> None:
    with pytest.raises(RuntimeError, match="writer lock"):
        begin(store, "r1", day=1)
    assert store.runs() == []


def test_dead_writers_run_reads_interrupted_after_open(
    open_store: Callable[[], Store],
) -> None:
    dead = open_store()
    with dead.writing(mode="refuse"):
        begin(dead, "r1", day=1)
    # the "process" is gone: its lock is released, its row still says running
    assert dead.run("r1").status is RunStatus.RUNNING

    fresh = open_store()
    row = fresh.run("r1")
    assert row.status is RunStatus.INTERRUPTED
    assert row.error is not None
    assert "stopped before it finished" in row.error
    assert fresh.reconcile() == []


def test_reconcile_leaves_a_running_run_while_its_writer_holds_the_lock(
    open_store: Callable[[], Store],
) -> None:
    writer, other = open_store(), open_store()
    with writer.writing(mode="refuse"):
        begin(writer, "r1", day=1)
        late = open_store()  # opening reconciles too
        assert late.run("r1").status is RunStatus.RUNNING
        assert other.reconcile() == []
        assert other.run("r1").status is RunStatus.RUNNING
    assert other.reconcile() == ["r1"]
    assert other.run("r1").status is RunStatus.INTERRUPTED


# -- 5. the writer lock -------------------------------------------------------------------


def test_second_store_is_refused_naming_the_running_run(
    open_store: Callable[[], Store],
) -> None:
    first, second = open_store(), open_store()
    with first.writing(mode="refuse"):
        begin(first, "run-holding", day=1)
        with pytest.raises(StoreBusy) as refused, second.writing(mode="refuse"):
            pytest.fail("the second store got the lock")
        assert "run-holding" in str(refused.value)
        assert "refuse" in str(refused.value)
        with (
            pytest.raises(StoreBusy, match=r"waited 0\.5 s") as waited,
            second.writing(mode="wait", timeout=0.5),
        ):
            pytest.fail("the second store got the lock")
        assert "run-holding" in str(waited.value)
        assert not second.lock.held
        with pytest.raises(RuntimeError):
            begin(second, "r2", day=2)
    # released: the second store gets it
    with second.writing(mode="refuse"):
        assert second.lock.held
        assert second.run("run-holding").status is RunStatus.INTERRUPTED
    assert not second.lock.held


def test_lock_is_given_back_when_the_block_raises(open_store: Callable[[], Store]) -> None:
    first, second = open_store(), open_store()
    with pytest.raises(KeyError), first.writing(mode="refuse"):
        raise KeyError("boom")
    assert not first.lock.held
    with second.writing(mode="refuse"):
        assert second.lock.held


def _wait_for_line(proc: subprocess.Popen[str], timeout: float) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        return ""
    return proc.stdout.readline().strip()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from scanner.history.store import Store
    from scanner.model.finding import Severity

    store = Store.open(sys.argv[1])
    with store.writing(mode="refuse"):
        store.begin_run(
            "run-in-child",
            started_at="2024-03-01T08:00:00Z",
            source="child",
            fail_on=Severity.LOW,
            config_hash="c" * 64,
            rulepack_version="test-pack-1",
        )
        print("locked", flush=True)
        time.sleep(600)
    """
)


def test_killed_writer_process_frees_the_lock_and_is_interrupted(store_url: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, store_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _wait_for_line(proc, 60)
        if line != "locked":
            proc.kill()
            pytest.fail(f"child did not lock: {line!r} {proc.communicate()[1]}")
        with Store.open(store_url) as store:
            assert store.run("run-in-child").status is RunStatus.RUNNING
            with pytest.raises(StoreBusy, match="run-in-child"), store.writing(mode="refuse"):
                pytest.fail("got the lock while the child holds it")
            assert store.reconcile() == []

            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            assert proc.returncode == -signal.SIGKILL
            # PostgreSQL ends the dead session's advisory lock when it notices: wait for it
            with store.writing(mode="wait", timeout=30):
                row = store.run("run-in-child")
        assert row.status is RunStatus.INTERRUPTED
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


# -- 6. verify and prune ------------------------------------------------------------------


SUBNET_V2 = {**SUBNET_1, "Tags": [{"Key": "tier", "Value": "v2"}]}
SUBNET_V3 = {**SUBNET_1, "Tags": [{"Key": "tier", "Value": "v3"}]}


def three_runs(store: Store) -> list[RunRow]:
    """r1; r2 changes the subnet, "a" still FAILs (version from r1), "c" starts FAILing;
    r3 changes the subnet again (r2's subnet version is valid in r2 only)."""
    estate = base_estate()
    r1 = write_run(
        store,
        "r1",
        snapshot(estate, day=1),
        [
            finding("a", "ec2:vpc", "vpc-1", Status.FAIL),
            finding("b", "ec2:vpc-endpoint", "vpce-1", Status.PASS),
            finding("c", "ec2:subnet", "subnet-1", Status.PASS),
        ],
        day=1,
    )
    later = [
        finding("a", "ec2:vpc", "vpc-1", Status.FAIL),
        finding("b", "ec2:vpc-endpoint", "vpce-1", Status.PASS),
        finding("c", "ec2:subnet", "subnet-1", Status.FAIL),
    ]
    estate[("ec2:subnet", "subnet-1")] = copy.deepcopy(SUBNET_V2)
    r2 = write_run(store, "r2", snapshot(estate, day=2), later, day=2)
    estate[("ec2:subnet", "subnet-1")] = copy.deepcopy(SUBNET_V3)
    r3 = write_run(store, "r3", snapshot(estate, day=3), later, day=3)
    return [r1, r2, r3]


def test_verify_passes_on_a_clean_store(store: Store) -> None:
    r1, r2, r3 = three_runs(store)
    result = verify(store)
    assert result.ok, result.problems
    assert result.first_bad_run is None
    assert result.runs_checked == 3
    assert result.head_run_id == "r3"
    assert result.head_digest == r3.chain_digest
    assert r3.chain_digest not in (r1.chain_digest, r2.chain_digest)


@pytest.mark.parametrize(("rule", "starts"), [("a", "r1"), ("c", "r2")])
def test_verify_catches_an_edited_finding_status(store: Store, rule: str, starts: str) -> None:
    runs = three_runs(store)
    assert [f.status for f in store.findings(runs[1]) if f.rule_id == rule] == [Status.FAIL]
    changed = sql(
        store,
        "UPDATE finding_versions SET status = 'PASS' "
        "WHERE rule_id = :rule AND status = 'FAIL' AND first_seq <= :seq "
        "AND (until_seq IS NULL OR until_seq > :seq) RETURNING first_seq",
        rule=rule,
        seq=runs[1].seq,
    )
    assert len(changed) == 1
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == starts
    assert any(starts in p and "altered" in p for p in result.problems)


def test_verify_names_a_deleted_middle_run(store: Store) -> None:
    three_runs(store)
    sql(store, "DELETE FROM runs WHERE id = 'r2'")
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r2"
    assert any("r2" in p and "missing" in p for p in result.problems)


def test_verify_names_a_deleted_newest_run(store: Store) -> None:
    three_runs(store)
    sql(store, "DELETE FROM runs WHERE id = 'r3'")
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r3"
    assert any("r3" in p and "missing" in p for p in result.problems)


def test_verify_catches_an_edited_blob(store: Store) -> None:
    three_runs(store)
    target = blob_hash("ec2:subnet", "subnet-1", SUBNET_V2)  # r2's subnet only
    forged = zlib.compress(canonical_bytes({"arn": None, "data": {"SubnetId": "subnet-1"}}))
    with store.engine.begin() as conn:
        n = conn.execute(
            sa.update(t.blobs).where(t.blobs.c.hash == target).values(body=forged)
        ).rowcount
    assert n == 1
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r2"
    assert any("r2" in p and "subnet-1" in p for p in result.problems)


def test_verify_catches_edited_counts_of_a_sealed_run(store: Store) -> None:
    _, r2, _ = three_runs(store)
    assert r2.counts is not None
    forged = {**r2.counts, "by_status": {**r2.counts["by_status"], "FAIL": 0}}
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == "r2").values(counts=forged))
    assert store.run("r2").counts == forged
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r2"


def test_verify_catches_a_deleted_finding_version(store: Store) -> None:
    three_runs(store)
    sql(store, "DELETE FROM finding_versions WHERE rule_id = 'b'")
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r1"
    assert any("r1" in p and "findings differ" in p for p in result.problems)


@pytest.mark.parametrize(
    ("column", "forged"),
    [
        # the waiver states a sealed run's reports and evidence pack are regenerated with
        ("waivers", [{"id": "W-1", "state": "active", "matched": 1}]),
        # the threshold its regenerated reports judge FAILs by
        ("fail_on", "critical"),
    ],
)
def test_verify_catches_an_edit_of_what_a_sealed_runs_reports_are_built_from(
    store: Store, column: str, forged: Any
) -> None:
    three_runs(store)
    with store.engine.begin() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == "r2").values({column: forged}))
    record = store.record(store.run("r2"))
    assert (record.waivers, str(record.fail_on)) != ([], "low")  # the edit shows in reports
    result = verify(store)
    assert not result.ok
    assert result.first_bad_run == "r2"


FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def test_prune_keeps_baseline_and_newest_and_verify_still_holds(store: Store) -> None:
    r1, r2, r3 = three_runs(store)
    before = {r.id: store.snapshot(r).to_dict() for r in (r1, r3)}
    before_findings = {r.id: dicts(store.findings(r)) for r in (r1, r3)}
    store.set_baseline("audit", r1, "shown to the auditor")
    v2_blob = blob_hash("ec2:subnet", "subnet-1", SUBNET_V2)
    kept_blobs = {
        blob_hash("ec2:subnet", "subnet-1", SUBNET_1),
        blob_hash("ec2:subnet", "subnet-1", SUBNET_V3),
    }
    assert v2_blob in store.blobs([v2_blob])

    with store.writing(mode="refuse"):
        pruned = store.prune(1, now=FUTURE)

    assert pruned == ["r2"]
    assert [r.id for r in store.runs()] == ["r3", "r1"]
    assert store.tombstones() == {"r2": r2.chain_digest}
    assert store.blobs([v2_blob]) == {}  # the orphan went
    assert set(store.blobs(kept_blobs)) == kept_blobs
    assert count(store, t.resource_versions) == 4  # vpc, endpoint, subnet v1 and v3
    for r in (r1, r3):
        assert store.snapshot(r).to_dict() == before[r.id]
        assert dicts(store.findings(r)) == before_findings[r.id]
    result = verify(store)
    assert result.ok, result.problems


def test_prune_without_baseline_keeps_only_the_newest(store: Store) -> None:
    r1, r2, r3 = three_runs(store)
    failed_run(store, "r4", day=4)  # newer, but failed: not "the newest run" to keep
    snap3 = store.snapshot(r3).to_dict()

    with store.writing(mode="refuse"):
        pruned = store.prune(1, now=FUTURE)

    assert sorted(pruned) == ["r1", "r2", "r4"]
    assert [r.id for r in store.runs()] == ["r3"]
    assert store.tombstones() == {"r1": r1.chain_digest, "r2": r2.chain_digest, "r4": None}
    assert store.snapshot(r3).to_dict() == snap3
    assert count(store, t.resource_versions) == 3
    # every blob left is used, and only r3's content is left
    with store.engine.connect() as conn:
        hashes = set(conn.execute(sa.select(t.blobs.c.hash)).scalars())
    used = set(store.resource_hashes(r3).values())
    with store.engine.connect() as conn:
        used |= set(conn.execute(sa.select(t.finding_versions.c.detail_hash)).scalars())
    assert hashes == used
    result = verify(store)
    assert result.ok, result.problems


def test_prune_keeps_runs_inside_the_retention(store: Store) -> None:
    three_runs(store)
    with store.writing(mode="refuse"):
        assert store.prune(1, now=datetime(2024, 3, 3, tzinfo=UTC)) == ["r1"]
    assert [r.id for r in store.runs()] == ["r3", "r2"]
    assert verify(store).ok


# -- 7. baselines -------------------------------------------------------------------------


def test_baseline_set_replace_and_resolve(store: Store) -> None:
    r1 = write_run(store, "20240301-aaa", snapshot(base_estate()), day=1)
    r2 = write_run(store, "20240302-bbb", snapshot(base_estate()), day=2)

    first = store.set_baseline("audit", r1, "Q1")
    assert (first.name, first.run_id, first.note) == ("audit", r1.id, "Q1")
    row, base = store.resolve("audit")
    assert row == r1
    assert base is not None
    assert base.run_id == r1.id

    store.set_baseline("audit", r2, None)
    row, base = store.resolve("audit")
    assert row == r2
    assert base is not None
    assert (base.run_id, base.note) == (r2.id, None)
    assert [b.name for b in store.baselines()] == ["audit"]

    row, base = store.resolve("20240301")  # a unique run id prefix
    assert (row, base) == (r1, None)
    with pytest.raises(StoreError, match="ambiguous"):
        store.run("2024030")


def test_baseline_refuses_a_failed_run(store: Store) -> None:
    row = failed_run(store, "r1", day=1)
    with pytest.raises(StoreError, match="r1 is failed"):
        store.set_baseline("audit", row, None)
    assert store.baselines() == []


def test_resolve_unknown_ref_names_it(store: Store) -> None:
    write_run(store, "r1", snapshot(base_estate()), day=1)
    with pytest.raises(StoreError, match="'nope'"):
        store.resolve("nope")


# -- 8. drift -----------------------------------------------------------------------------


def transition(before: Finding | None, after: Finding | None, **extra: Any) -> dict[str, Any]:
    """One entry of a drift document's findings lists, as drift.py documents it."""
    cur = after or before
    assert cur is not None
    return {
        "fingerprint": cur.fingerprint,
        "rule_id": cur.rule_id,
        "status": str(cur.status),
        "severity": str(cur.severity),
        "account_id": cur.account_id,
        "region": cur.region,
        "resource_type": cur.resource_type,
        "resource_id": cur.resource_id,
        "message": cur.message,
        "waived": cur.waived,
        "from": str(before.status) if before else None,
        "to": str(after.status) if after else None,
        **extra,
    }


def changed(
    rtype: str, rid: str, change: str, paths: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "account_id": ACCOUNT,
        "region": REGION,
        "resource_type": rtype,
        "resource_id": rid,
        "change": change,
        "paths": paths or [],
    }


def test_drift_between_two_runs(store: Store) -> None:
    estate = base_estate()
    estate[("ec2:subnet", "subnet-2")] = copy.deepcopy(SUBNET_2)
    f = {
        "regress0": finding("r.regress", "ec2:vpc", "vpc-1", Status.PASS),
        "regress1": finding("r.regress", "ec2:vpc", "vpc-1", Status.FAIL),
        "fix0": finding("r.fix", "ec2:vpc-endpoint", "vpce-1", Status.FAIL),
        "fix1": finding("r.fix", "ec2:vpc-endpoint", "vpce-1", Status.PASS),
        "new1": finding("r.new", "ec2:subnet", "subnet-1", Status.FAIL),
        "err0": finding("r.err", "ec2:subnet", "subnet-1", Status.PASS),
        "err1": finding("r.err", "ec2:subnet", "subnet-1", Status.ERROR),
        "still0": finding("r.still", "ec2:vpc", "vpc-1", Status.FAIL),
        "still1": finding("r.still", "ec2:vpc", "vpc-1", Status.FAIL),
        "gone0": finding("r.subnet", "ec2:subnet", "subnet-2", Status.FAIL),
        "added1": finding("r.subnet", "ec2:subnet", "subnet-3", Status.PASS),
    }
    before = write_run(
        store,
        "r1",
        snapshot(estate),
        [f["regress0"], f["fix0"], f["err0"], f["still0"], f["gone0"]],
        day=1,
    )
    estate[("ec2:vpc", "vpc-1")]["EnableDnsHostnames"] = False
    del estate[("ec2:subnet", "subnet-2")]
    estate[("ec2:subnet", "subnet-3")] = copy.deepcopy(SUBNET_3)
    after = write_run(
        store,
        "r2",
        snapshot(estate),
        [f["regress1"], f["fix1"], f["new1"], f["err1"], f["still1"], f["added1"]],
        day=2,
    )

    doc = drift(store, Side(before, "audit"), Side(after))

    assert doc["from"] == {"run": "r1", "at": stamp(1), "status": "complete", "baseline": "audit"}
    # r2 has an ERROR finding: incomplete
    assert doc["to"] == {"run": "r2", "at": stamp(2), "status": "incomplete"}
    assert doc["resources"] == [
        changed("ec2:subnet", "subnet-2", "removed"),
        changed("ec2:subnet", "subnet-3", "added"),
        changed(
            "ec2:vpc",
            "vpc-1",
            "modified",
            [{"path": "EnableDnsHostnames", "before": True, "after": False}],
        ),
    ]
    assert doc["findings"] == {
        "new": [transition(None, f["new1"])],
        "resolved": [
            transition(f["fix0"], f["fix1"]),
            transition(f["gone0"], None, reason="resource gone"),
        ],
        "regressed": [transition(f["regress0"], f["regress1"])],
        "still_failing": 1,
        "error_changes": [transition(f["err0"], f["err1"])],
        "not_seen": [],
    }
    assert doc["unknown_scopes"] == []
    counts = summary(doc)
    assert counts["resources"] == {"added": 1, "removed": 1, "modified": 1}
    assert counts["findings"] == {
        "new": 1,
        "resolved": 2,
        "regressed": 1,
        "still_failing": 1,
        "error_changes": 1,
        "not_seen": 0,
    }


def test_drift_of_identical_runs_is_empty(store: Store) -> None:
    findings = [finding("a", "ec2:vpc", "vpc-1", Status.FAIL)]
    r1 = write_run(store, "r1", snapshot(base_estate()), findings, day=1)
    r2 = write_run(store, "r2", snapshot(base_estate()), findings, day=2)
    doc = drift(store, Side(r1), Side(r2))
    assert doc["resources"] == []
    assert doc["findings"] == {
        "new": [],
        "resolved": [],
        "regressed": [],
        "still_failing": 1,
        "error_changes": [],
        "not_seen": [],
    }


def test_drift_of_runs_without_findings(store: Store) -> None:
    r1 = write_run(store, "r1", snapshot(base_estate()), [], day=1)
    estate = base_estate()
    estate[("ec2:vpc", "vpc-1")]["EnableDnsHostnames"] = False
    r2 = write_run(store, "r2", snapshot(estate), [], day=2)
    doc = drift(store, Side(r1), Side(r2))
    assert [r["resource_id"] for r in doc["resources"]] == ["vpc-1"]
    assert doc["findings"] == {
        "new": [],
        "resolved": [],
        "regressed": [],
        "still_failing": 0,
        "error_changes": [],
        "not_seen": [],
    }


def endpoint_runs(store: Store) -> tuple[RunRow, dict[str, Finding]]:
    """r1 with two endpoints: "r.vpce" FAILs on vpce-1 and PASSes on vpce-2."""
    estate = base_estate()
    estate[("ec2:vpc-endpoint", "vpce-2")] = copy.deepcopy(ENDPOINT_2)
    f = {
        "fail1": finding("r.vpce", "ec2:vpc-endpoint", "vpce-1", Status.FAIL),
        "pass2": finding("r.vpce", "ec2:vpc-endpoint", "vpce-2", Status.PASS),
        "vpc": finding("r.vpc", "ec2:vpc", "vpc-1", Status.PASS),
    }
    return write_run(store, "r1", snapshot(estate), list(f.values()), day=1), f


def test_drift_never_guesses_about_a_scope_the_later_run_could_not_see(store: Store) -> None:
    before, f = endpoint_runs(store)
    estate = {k: v for k, v in base_estate().items() if k[0] != "ec2:vpc-endpoint"}
    # what the engine reports for a scope whose collector failed: one ERROR, resource "*"
    scope_error = finding("r.vpce", "ec2:vpc-endpoint", "*", Status.ERROR)
    after = write_run(
        store,
        "r2",
        snapshot(estate, status={"ec2:vpc-endpoint": OutcomeStatus.ERROR}),
        [scope_error, f["vpc"]],
        day=2,
    )
    doc = drift(store, Side(before), Side(after))

    assert doc["resources"] == []
    assert doc["findings"]["resolved"] == []
    assert doc["findings"]["not_seen"] == [
        transition(f["fail1"], None, reason="the later run could not look at it")
    ]
    assert doc["findings"]["error_changes"] == [transition(None, scope_error)]
    assert doc["unknown_scopes"] == [
        {
            "account_id": ACCOUNT,
            "region": REGION,
            "resource_type": "ec2:vpc-endpoint",
            "run": "r2",
            "status": "error",
            "reason": "collector vpc-endpoint error: UnauthorizedOperation on DescribeVpcEndpoints",
        }
    ]


def test_drift_reports_a_removed_endpoint_of_a_scope_seen_completely(store: Store) -> None:
    # the control of the test above: the collector is ok and vpce-1 is gone
    before, f = endpoint_runs(store)
    estate = base_estate()
    del estate[("ec2:vpc-endpoint", "vpce-1")]
    estate[("ec2:vpc-endpoint", "vpce-2")] = copy.deepcopy(ENDPOINT_2)
    after = write_run(store, "r2", snapshot(estate), [f["pass2"], f["vpc"]], day=2)
    doc = drift(store, Side(before), Side(after))

    assert doc["resources"] == [changed("ec2:vpc-endpoint", "vpce-1", "removed")]
    assert doc["findings"]["resolved"] == [transition(f["fail1"], None, reason="resource gone")]
    assert doc["findings"]["not_seen"] == []
    assert doc["unknown_scopes"] == []


def test_drift_resolves_the_fail_of_the_last_endpoint_deleted(store: Store) -> None:
    # Every endpoint is gone and the endpoint collector read every page: the rule had
    # nothing to evaluate, so the later run has no "r.vpce" finding at all.  drift.py's
    # docstring: resolved is also "FAIL whose resource is gone in a scope the later run saw
    # completely"; not_seen is "a FAIL the later run could not look at".
    before, f = endpoint_runs(store)
    estate = {k: v for k, v in base_estate().items() if k[0] != "ec2:vpc-endpoint"}
    after = write_run(store, "r2", snapshot(estate), [f["vpc"]], day=2)
    doc = drift(store, Side(before), Side(after))

    assert doc["unknown_scopes"] == []
    assert doc["resources"] == [
        changed("ec2:vpc-endpoint", "vpce-1", "removed"),
        changed("ec2:vpc-endpoint", "vpce-2", "removed"),
    ]
    assert doc["findings"]["not_seen"] == []
    assert doc["findings"]["resolved"] == [transition(f["fail1"], None, reason="resource gone")]


def test_drift_never_reports_added_what_the_earlier_run_could_not_see(store: Store) -> None:
    estate = base_estate()
    del estate[("ec2:vpc-endpoint", "vpce-1")]  # its collector failed: nothing listed
    before = write_run(
        store, "r1", snapshot(estate, status={"ec2:vpc-endpoint": OutcomeStatus.ERROR}), day=1
    )
    estate[("ec2:vpc-endpoint", "vpce-1")] = copy.deepcopy(ENDPOINT_1)
    estate[("ec2:vpc-endpoint", "vpce-2")] = copy.deepcopy(ENDPOINT_2)
    after = write_run(store, "r2", snapshot(estate), day=2)
    doc = drift(store, Side(before), Side(after))
    assert doc["resources"] == []
    assert [(u["resource_type"], u["run"], u["status"]) for u in doc["unknown_scopes"]] == [
        ("ec2:vpc-endpoint", "r1", "error")
    ]
