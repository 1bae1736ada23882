"""A stored snapshot that is silent about a collector never lets its rules PASS."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.collectors import COLLECTORS
from scanner.collectors.completeness import NOT_RECORDED, record_unrecorded
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot
from tests.clikit import run_cli
from tests.snapshots import ACCOUNT, REGION, compliant_snapshot


def with_registry_outcomes(snap: Snapshot, *, missing: str | None = None) -> Snapshot:
    """Replace the test outcomes by one ok outcome per registry collector and scope."""
    snap.collectors = []
    for spec in COLLECTORS.values():
        if spec.name == missing:
            continue
        region = GLOBAL_REGION if spec.is_global else REGION
        snap.record(
            CollectorOutcome(
                spec.name, ACCOUNT, region, list(spec.resource_types), OutcomeStatus.OK
            )
        )
    return snap


def fresh() -> Snapshot:
    snap = compliant_snapshot()
    snap.accounts, snap.regions = [ACCOUNT], [REGION]
    return snap


def test_a_complete_snapshot_is_left_alone() -> None:
    snap = with_registry_outcomes(fresh())
    before = len(snap.collectors)
    assert record_unrecorded(snap) == []
    assert len(snap.collectors) == before


def test_a_missing_outcome_becomes_an_error() -> None:
    snap = with_registry_outcomes(fresh(), missing="vpc-endpoint")
    [added] = record_unrecorded(snap)
    assert (added.collector, added.account_id, added.region) == ("vpc-endpoint", ACCOUNT, REGION)
    assert added.status is OutcomeStatus.ERROR and added.error_code == NOT_RECORDED
    assert added.resource_types == ["ec2:vpc-endpoint"]


def test_offline_scan_of_a_silent_snapshot_is_incomplete(tmp_path: Path) -> None:
    path = with_registry_outcomes(fresh(), missing="vpc-endpoint").save(tmp_path / "s.json.gz")
    proc = run_cli("scan", "--snapshot", str(path), "--output", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    [run_dir] = list((tmp_path / "out").iterdir())
    findings = json.loads((run_dir / "findings.json").read_text())["findings"]
    endpoint = {f["status"] for f in findings if f["rule_id"] == "endpoint-policy-restricted"}
    assert endpoint == {"ERROR"}
    assert "NotRecorded" in proc.stdout
