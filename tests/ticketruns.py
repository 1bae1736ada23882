"""Seeded runs for the ticket tests: a store holding the runs a nightly job would leave.

The ticket sync reads stored runs only, so its tests write runs straight into a real
store (SQLite or PostgreSQL) through the store's public API, as ``scanner.run`` does, with
the findings each night should have: a problem appears, persists, is fixed, comes back.
Each night is a dict of resource id -> status; a resource missing from it is *gone* (not
in the snapshot), and ``errors`` names resource types whose collector failed that night.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scanner.history.store import RunRow, Store
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.storekit import store_record

ACCOUNT = "123456789012"
REGION = "us-west-2"
NOTEBOOK = "sagemaker:notebook-instance"


@dataclass(frozen=True)
class Check:
    """A rule on a resource of the seeded estate."""

    rule_id: str
    resource_id: str
    severity: Severity = Severity.HIGH
    resource_type: str = NOTEBOOK
    account_id: str = ACCOUNT
    frameworks: dict[str, list[str]] = field(
        default_factory=lambda: {"hipaa": ["164.312(e)(1)"], "pci-dss-v4": ["1.3.1"]}
    )

    def finding(self, status: Status, *, waived: bool = False, message: str = "") -> Finding:
        return Finding(
            rule_id=self.rule_id,
            status=status,
            severity=self.severity,
            account_id=self.account_id,
            region=REGION,
            resource_type=self.resource_type,
            resource_id=self.resource_id,
            title=f"{self.rule_id} holds",
            message=message or f"{self.rule_id} is {status} on {self.resource_id}",
            resource_arn=f"arn:aws:sagemaker:{REGION}:{self.account_id}:notebook-instance/"
            f"{self.resource_id}",
            frameworks=self.frameworks,
            remediation={
                "text": f"fix {self.rule_id}",
                "cli": "aws sagemaker ...",
                "references": [],
            },
            waiver={"id": "w1", "owner": "sec", "reason": "accepted", "expires": "2099-01-01"}
            if waived
            else None,
        )


def stamp(day: int, minute: int = 0) -> str:
    return f"2026-11-{day:02d}T02:{minute:02d}:00.000000Z"


def snapshot(
    findings: Iterable[Finding], *, errors: Iterable[str] = (), accounts: Iterable[str] = ()
) -> Snapshot:
    """The snapshot behind ``findings``: each finding's resource exists; each resource type
    has one collector outcome, OK unless named in ``errors``."""
    found = list(findings)
    failed = set(errors)
    account_ids = sorted({ACCOUNT, *accounts, *(f.account_id for f in found)})
    snap = Snapshot(
        accounts=account_ids,
        regions=[REGION],
        started_at=stamp(1),
        finished_at=stamp(1, 5),
        tool_version="0.0.test",
    )
    for f in found:
        snap.add(f.account_id, REGION, f.resource_type, f.resource_id, {"id": f.resource_id})
    types = sorted({NOTEBOOK, *(f.resource_type for f in found), *failed})
    for account in account_ids:
        for rtype in types:
            bad = rtype in failed
            snap.record(
                CollectorOutcome(
                    collector=rtype.split(":")[-1],
                    account_id=account,
                    region=REGION,
                    resource_types=[rtype],
                    status=OutcomeStatus.ERROR if bad else OutcomeStatus.OK,
                    resource_count=sum(1 for f in found if f.resource_type == rtype),
                    error_code="AccessDenied" if bad else None,
                    error_message="denied" if bad else None,
                    operation="ListNotebookInstances" if bad else None,
                )
            )
    return snap


def write_run(
    store: Store,
    run_id: str,
    day: int,
    findings: Iterable[Finding],
    *,
    errors: Iterable[str] = (),
) -> RunRow:
    """Store one whole run through the public API, as ``scanner.run`` does."""
    found = list(findings)
    record = RunRecord(
        run_id=run_id,
        snapshot=snapshot(found, errors=errors),
        findings=found,
        started_at=stamp(day),
        finished_at=stamp(day, 10),
        fail_on=Severity.LOW,
        rulepack_version="test",
        config_hash="c" * 16,
    )
    return store_record(store, record)


def config_dict(targets: list[dict[str, Any]], **tickets: Any) -> dict[str, Any]:
    """A ``tickets:`` section for Config(...)."""
    return {"tickets": {"min_severity": "high", **tickets, "targets": targets}}
