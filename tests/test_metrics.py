"""The textfile metrics, written to a real file and read back with prometheus_client's own
parser (the format node_exporter's textfile collector reads)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from scanner.metrics import write_metrics
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus
from tests.reportkit import ACCOUNT, finding, result, verdict_finding

P = "privatelink_scanner_"
RUN_LEVEL = {
    P + "last_run_timestamp_seconds",
    P + "last_success_timestamp_seconds",
    P + "run_duration_seconds",
    P + "exit_code",
}
NOTEBOOK_VERDICT = "notebook-no-public-access-path"
STUDIO_VERDICT = "studio-domain-no-public-access-path"
WAIVER = {"id": "w-1", "owner": "alice@example.com", "reason": "accepted", "expires": "2099-01-01"}


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the file: (name, sorted labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def names(path: Path) -> set[str]:
    return {name for name, _ in samples(path)}


def value(path: Path, name: str, **labels: str) -> float:
    return samples(path)[(P + name, tuple(sorted(labels.items())))]


SUCCESS = datetime(2026, 11, 26, 2, 5, tzinfo=UTC)


def write(
    path: Path,
    record: RunRecord | None,
    *,
    duration_seconds: float = 12.5,
    last_success: datetime | None = SUCCESS,
    exit_code: int | None = None,
    tickets: dict[str, bool] | None = None,
) -> None:
    """``write_metrics`` with defaults for what a test does not vary (the exit code is the
    record's own, or 3 without a record)."""
    if exit_code is None:
        exit_code = int(record.exit_code) if record is not None else 3
    write_metrics(
        path,
        record,
        duration_seconds=duration_seconds,
        last_success=last_success,
        exit_code=exit_code,
        tickets=tickets,
    )


def studio_verdict(status: Status) -> Finding:
    return dataclasses.replace(
        verdict_finding("d-1"),
        rule_id=STUDIO_VERDICT,
        resource_type="sagemaker:domain",
        status=status,
    )


def mixed(tmp_path: Path, *, failed_collector: bool = False) -> RunRecord:
    """FAIL, PASS, ERROR and NOT_APPLICABLE at several severities, two notebook verdicts
    FAIL (one waived), one Studio verdict FAIL and one notebook verdict PASS."""
    findings = [
        finding(Status.FAIL, resource_id="nb-1", severity=Severity.HIGH),
        finding(Status.FAIL, resource_id="nb-2", severity=Severity.LOW),
        finding(Status.PASS, resource_id="nb-3", severity=Severity.HIGH),
        finding(Status.ERROR, resource_id="nb-4", severity=Severity.MEDIUM),
        finding(Status.NOT_APPLICABLE, resource_id="nb-5", severity=Severity.INFO),
        verdict_finding("nb-1"),
        dataclasses.replace(verdict_finding("nb-2"), waiver=WAIVER),
        dataclasses.replace(verdict_finding("nb-3"), status=Status.PASS),
        studio_verdict(Status.FAIL),
    ]
    return result(findings, tmp_path, failed_collector=failed_collector)


def test_findings_by_status_and_severity_with_every_pair_present(tmp_path: Path) -> None:
    record = mixed(tmp_path)
    path = tmp_path / "scanner.prom"
    write(path, record)
    expected = Counter((str(f.status), str(f.severity)) for f in record.findings)
    got = {
        dict(labels)["status"] + "/" + dict(labels)["severity"]: v
        for (name, labels), v in samples(path).items()
        if name == P + "findings"
    }
    assert len(got) == len(Status) * len(Severity) == 20
    for status in Status:
        for severity in Severity:
            assert got[f"{status}/{severity}"] == expected[(str(status), str(severity))]
    assert value(path, "findings", status="FAIL", severity="critical") == 3
    assert value(path, "findings", status="FAIL", severity="high") == 1
    assert value(path, "findings", status="PASS", severity="low") == 0  # zeros are written


def test_public_access_paths_count_fail_verdicts_by_rule(tmp_path: Path) -> None:
    path = tmp_path / "scanner.prom"
    write(path, mixed(tmp_path))
    assert value(path, "public_access_paths") == 3  # the waived one too
    assert value(path, "public_access_paths_by_rule", rule=NOTEBOOK_VERDICT) == 2
    assert value(path, "public_access_paths_by_rule", rule=STUDIO_VERDICT) == 1
    assert value(path, "findings_waived") == 1


def test_no_public_path_still_writes_zero_for_each_rule(tmp_path: Path) -> None:
    path = tmp_path / "scanner.prom"
    write(path, result([finding(Status.FAIL)], tmp_path))
    assert value(path, "public_access_paths") == 0
    assert value(path, "public_access_paths_by_rule", rule=NOTEBOOK_VERDICT) == 0
    assert value(path, "public_access_paths_by_rule", rule=STUDIO_VERDICT) == 0


def failed(
    collector: str,
    account: str,
    code: str,
    *,
    operation: str | None = None,
    message: str | None = None,
) -> CollectorOutcome:
    """A failed collector outcome in us-west-2."""
    return CollectorOutcome(
        collector=collector,
        account_id=account,
        region="us-west-2",
        resource_types=["ec2:vpc"],
        status=OutcomeStatus.ERROR,
        error_code=code,
        error_message=message,
        operation=operation,
    )


def test_collectors_failed_and_run_complete(tmp_path: Path) -> None:
    clean, broken = tmp_path / "clean.prom", tmp_path / "broken.prom"
    write(clean, mixed(tmp_path / "a"))
    record = mixed(tmp_path / "b", failed_collector=True)
    record.snapshot.record(failed("ec2.vpcs", ACCOUNT, "Throttling"))
    write(broken, record)
    assert value(clean, "collectors_failed") == 0
    assert value(broken, "collectors_failed") == 2
    # mixed() has an ERROR finding, so neither run is complete; a clean record is.
    assert value(clean, "run_complete") == 0
    done = tmp_path / "done.prom"
    write(done, result([finding(Status.PASS)], tmp_path))
    assert value(done, "run_complete") == 1


@pytest.fixture
def local_time_not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone set to New York, so a naive datetime read as local time
    (the bug) gives a different timestamp from one read as UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_run_level_values(tmp_path: Path, local_time_not_utc: None) -> None:
    path = tmp_path / "scanner.prom"
    record = mixed(tmp_path)
    success = datetime(2026, 11, 26, 2, 5, 7, tzinfo=UTC)
    write(path, record, duration_seconds=42.25, last_success=success, exit_code=3)
    finished = datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC).timestamp()  # record.finished_at
    assert value(path, "last_run_timestamp_seconds") == finished
    assert value(path, "last_success_timestamp_seconds") == success.timestamp()
    assert value(path, "run_duration_seconds") == 42.25
    assert value(path, "exit_code") == 3
    # A naive datetime (as a store may hand back) is UTC.
    write(path, record, last_success=datetime(2026, 11, 26, 2, 5, 7))
    assert value(path, "last_success_timestamp_seconds") == success.timestamp()
    write(path, record, last_success=None)
    assert value(path, "last_success_timestamp_seconds") == 0


def test_no_record_writes_the_run_level_metrics_only(tmp_path: Path) -> None:
    path = tmp_path / "scanner.prom"
    before = time.time()
    write(path, None, duration_seconds=3.0, exit_code=2)
    after = time.time()
    assert names(path) == RUN_LEVEL
    assert value(path, "exit_code") == 2
    assert value(path, "run_duration_seconds") == 3.0
    assert before <= value(path, "last_run_timestamp_seconds") <= after


def test_the_file_is_replaced_atomically(tmp_path: Path) -> None:
    directory = tmp_path / "textfile"
    path = directory / "scanner.prom"
    write(path, mixed(tmp_path), exit_code=1)
    first = os.stat(path).st_ino
    write(path, None, exit_code=3)
    # A new file renamed over the old one (a rewrite in place would keep the inode), and
    # no temporary file left beside it for the collector to read.
    assert os.stat(path).st_ino != first
    assert sorted(p.name for p in directory.iterdir()) == ["scanner.prom"]
    assert value(path, "exit_code") == 3
    assert names(path) == RUN_LEVEL


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "scanner.prom"
    target.mkdir()  # the rename onto a directory fails
    with pytest.raises(OSError):
        write(target, None)
    assert [p.name for p in tmp_path.iterdir()] == ["scanner.prom"]
    assert list(target.iterdir()) == []


def test_ticket_sync_per_target_only_when_tickets_are_configured(tmp_path: Path) -> None:
    synced, plain = tmp_path / "synced.prom", tmp_path / "plain.prom"
    write(synced, mixed(tmp_path / "a"), tickets={"sec-jira": True, "snow": False})
    write(plain, mixed(tmp_path / "b"))
    assert value(synced, "ticket_sync_ok", target="sec-jira") == 1
    assert value(synced, "ticket_sync_ok", target="snow") == 0
    assert P + "ticket_sync_ok" not in names(plain)


def test_accounts_scanned_and_unreachable(tmp_path: Path) -> None:
    """An account whose every collector failed on AssumeRole counts as unreachable; one
    failed collector elsewhere does not make its account unreachable."""
    record = mixed(tmp_path / "a")
    record.snapshot.accounts = [ACCOUNT, "222233334444"]
    for collector in ("vpc", "iam"):
        record.snapshot.record(
            failed(
                collector,
                "222233334444",
                "AccessDenied",
                operation="AssumeRole",
                message="could not assume arn:aws:iam::222233334444:role/Audit",
            )
        )
    record.snapshot.record(failed("subnet", ACCOUNT, "Throttling", operation="DescribeSubnets"))
    path = tmp_path / "scanner.prom"
    write(path, record)
    assert value(path, "accounts_scanned") == 2
    assert value(path, "accounts_unreachable") == 1
    assert [a["account_id"] for a in record.unreachable_accounts] == ["222233334444"]
