"""Builders for report tests: a RunRecord with hand-made findings (no AWS, no rules)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from scanner.reporting.htmlout import unpack_findings

ACCOUNT = "111122223333"


def finding(
    status: Status,
    *,
    rule_id: str = "notebook-root-access-disabled",
    resource_id: str = "nb-1",
    severity: Severity = Severity.HIGH,
    message: str = "RootAccess is Enabled; expected Disabled",
) -> Finding:
    return Finding(
        rule_id=rule_id,
        status=status,
        severity=severity,
        account_id=ACCOUNT,
        region="us-west-2",
        resource_type="sagemaker:notebook-instance",
        resource_id=resource_id,
        title="Notebook root access is disabled",
        message=message,
        evidence={"RootAccess": "Enabled"},
        frameworks={"hipaa": ["164.312(a)(1)"], "pci-dss-v4.0": ["7.2.1"]},
        remediation={
            "text": "Disable root access.",
            "cli": "aws sagemaker update-notebook-instance",
        },
    )


def result(findings: list[Finding], tmp_path: Path, *, failed_collector: bool = False) -> RunRecord:
    snap = Snapshot(accounts=[ACCOUNT], regions=["us-west-2"])
    if failed_collector:
        snap.record(
            CollectorOutcome(
                collector="sagemaker.notebooks",
                account_id=ACCOUNT,
                region="us-west-2",
                resource_types=["sagemaker:notebook-instance"],
                status=OutcomeStatus.ERROR,
                error_code="AccessDenied",
                error_message="not authorized",
                operation="ListNotebookInstances",
            )
        )
    return RunRecord(
        run_id="20261127T000000Z-abcdef",
        snapshot=snap,
        findings=findings,
        output_dir=tmp_path,
        reports={},
        started_at="2026-11-27T00:00:00Z",
        finished_at="2026-11-27T00:00:01Z",
        fail_on=Severity.LOW,
    )


def html_findings(page: Path) -> list[dict[str, Any]]:
    """The findings a ``report.html`` embeds, as ``findings.json`` spells them (the page's
    data block unpacked; rows are drawn from it by the page's script)."""
    match = re.search(
        r'<script type="application/json" id="data">(.*?)</script>', page.read_text(), re.S
    )
    assert match is not None, "no data block in the report"
    return unpack_findings(json.loads(match.group(1)))


def verdict_finding(resource_id: str = "nb-1") -> Finding:
    iam = {
        "kind": "iam_inbound",
        "kind_label": "inbound through IAM",
        "principal": "arn:aws:iam::111122223333:user/bob",
        "principal_kind": "user",
        "action": "sagemaker:CreatePresignedNotebookInstanceUrl",
        "grant": {
            "policy": "sagemaker-full",
            "policy_kind": "inline",
            "via": "user",
            "statement_index": 0,
            "sid": None,
        },
        "description": "no aws:SourceVpce (public internet)",
        "remediation": "add Condition StringEquals aws:SourceVpce [vpce-1] to statement #0",
        "unmodelled_keys": [],
        "fix_cli": "aws iam put-user-policy --user-name bob --policy-name sagemaker-full",
    }
    net = {
        "kind": "internet_outbound",
        "kind_label": "outbound to the internet",
        "summary": "DirectInternetAccess is Enabled",
        "close": "recreate the notebook with --direct-internet-access Disabled",
    }
    return dataclasses.replace(
        finding(
            Status.FAIL,
            rule_id="notebook-no-public-access-path",
            resource_id=resource_id,
            severity=Severity.CRITICAL,
            message=f"2 public access path(s) to notebook {resource_id}",
        ),
        evidence={
            "paths": [net, iam],
            "paths_total": 2,
            "paths_by_kind": {"iam_inbound": 1, "internet_outbound": 1, "public_internet": 0},
            "closed": [],
        },
    )
