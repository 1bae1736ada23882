"""``findings.ocsf.json``: the open findings as OCSF Detection Findings, for a SIEM or data lake.

OCSF (the Open Cybersecurity Schema Framework) is what security data lakes ingest (Amazon
Security Lake, Splunk, Sentinel ...).  The events are built with ``py-ocsf-models``, the
pydantic models of OCSF 1.5.0 that Prowler uses, so every event has the shape the schema
requires; the file is a JSON array of events, ``None`` fields left out.

One event (``class_uid`` 2004) per FAIL and ERROR finding, plus one *Close* event for each
finding this run resolved (:mod:`scanner.reporting.lifecycle`):

- ``finding_info.uid``: the fingerprint, identical in every run, so the consumer updates
  one record per finding; ``finding_info.analytic``: the rule;
- ``activity_id`` / ``type_uid``: Create (new since the previous run), Update (still open)
  or Close (resolved); ``status_id``: New, In Progress, Resolved, or Suppressed for a waived
  finding (accepted risk); ``status_code``: the scanner's own status (FAIL, ERROR; PASS,
  NOT_APPLICABLE or none on a Close);
- ``severity_id``: the rule's severity (info → Informational ... critical → Critical);
- ``resources``: the resource (ARN, else its id), its type, region and partition;
  ``cloud``: provider AWS, the account and region;
- ``remediation``: the rule's remediation text and CLI, and its references;
- ``evidences[0].data``: the finding's evidence;
- ``unmapped.compliance``: ``{framework: [requirement ids]}`` (a Detection Finding has no
  ``compliance`` object in OCSF 1.5.0; Prowler puts it there too), with the run id and
  the waiver.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.events.findings.detection_finding_type_id import DetectionFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import Account, TypeID
from py_ocsf_models.objects.analytic import Analytic
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails

from scanner.model.finding import Finding, Severity
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.lifecycle import Lifecycle, lifecycle, open_findings

PRODUCT = "privatelink-scanner"
SEVERITY_IDS = {
    Severity.INFO: SeverityID.Informational,
    Severity.LOW: SeverityID.Low,
    Severity.MEDIUM: SeverityID.Medium,
    Severity.HIGH: SeverityID.High,
    Severity.CRITICAL: SeverityID.Critical,
}
TYPE_UIDS = {
    ActivityID.Create: DetectionFindingTypeID.Create,
    ActivityID.Update: DetectionFindingTypeID.Update,
    ActivityID.Close: DetectionFindingTypeID.Close,
}
STATUS_NAMES = {
    StatusID.New: "New",
    StatusID.InProgress: "In Progress",
    StatusID.Suppressed: "Suppressed",
    StatusID.Resolved: "Resolved",
}
ANALYTIC_RULE = 1  # OCSF analytic type_id "Rule"


def epoch_ms(stamp: str) -> int:
    """An ISO 8601 UTC time (``...Z``) as OCSF's epoch milliseconds."""
    return int(datetime.fromisoformat(stamp).timestamp() * 1000)


def _remediation(rem: dict[str, Any]) -> Remediation | None:
    text = str(rem.get("text") or "").strip()
    cli = str(rem.get("cli") or "").strip()
    desc = "\n\n".join(p for p in (text, f"CLI: {cli}" if cli else "") if p)
    refs = [str(r) for r in rem.get("references") or []]
    if not desc:
        return None
    return Remediation(desc=desc, references=refs or None)


def _status_id(activity: ActivityID, waived: bool) -> StatusID:
    if activity is ActivityID.Close:
        return StatusID.Resolved
    if waived:
        return StatusID.Suppressed
    return StatusID.New if activity is ActivityID.Create else StatusID.InProgress


def event(
    record: RunRecord,
    activity: ActivityID,
    *,
    fingerprint: str,
    rule_id: str,
    severity: Severity,
    account_id: str,
    region: str,
    resource_type: str,
    resource_id: str,
    finding: Finding | None,
    title: str,
) -> DetectionFinding:
    """One Detection Finding (``finding`` is None for a Close of a finding now gone)."""
    when = epoch_ms(record.finished_at)
    waived = finding is not None and finding.waived and activity is not ActivityID.Close
    status_id = _status_id(activity, waived)
    unmapped: dict[str, Any] = {"run_id": record.run_id}
    if finding is not None:
        unmapped["compliance"] = finding.frameworks
        if finding.waiver:
            unmapped["waiver"] = finding.waiver
    return DetectionFinding(
        metadata=Metadata(
            product=Product(
                name=PRODUCT, vendor_name=PRODUCT, uid=PRODUCT, version=record.tool_version
            ),
            event_code=rule_id,
            uid=f"{record.run_id}-{fingerprint}",
            correlation_uid=record.run_id,
            profiles=["cloud", "datetime"],
        ),
        activity_id=activity,
        activity_name=activity.name,
        type_uid=TYPE_UIDS[activity],
        type_name=f"Detection Finding: {activity.name}",
        severity_id=SEVERITY_IDS[severity],
        severity=SEVERITY_IDS[severity].name,
        status_id=status_id,
        status=STATUS_NAMES[status_id],
        status_code=str(finding.status) if finding is not None else None,
        status_detail=finding.message if finding is not None else "no longer found",
        message=finding.message if finding is not None else None,
        time=when,
        time_dt=datetime.fromtimestamp(when / 1000, tz=UTC),
        finding_info=FindingInformation(
            uid=fingerprint,
            title=title,
            desc=finding.message if finding is not None else None,
            analytic=Analytic(
                uid=rule_id,
                name=rule_id,
                type="Rule",
                type_id=ANALYTIC_RULE,
                version=record.rulepack_version or None,
            ),
            created_time=when if activity is ActivityID.Create else None,
            last_seen_time=when if activity is not ActivityID.Close else None,
            modified_time=when,
        ),
        resources=[
            ResourceDetails(
                uid=(finding.resource_arn if finding else None) or resource_id,
                name=resource_id,
                type=resource_type,
                region=region,
                cloud_partition=record.snapshot.partition,
            )
        ],
        cloud=Cloud(
            provider="AWS",
            region=region,
            account=Account(
                uid=account_id, name=account_id, type="AWS Account", type_id=TypeID.AWS_Account
            ),
        ),
        remediation=_remediation(finding.remediation) if finding is not None else None,
        evidences=[EvidenceArtifacts(name="evidence", data=finding.evidence)]
        if finding is not None and finding.evidence
        else None,
        unmapped=unmapped,
    )


def _of(record: RunRecord, f: Finding, activity: ActivityID) -> DetectionFinding:
    return event(
        record,
        activity,
        fingerprint=f.fingerprint,
        rule_id=f.rule_id,
        severity=f.severity,
        account_id=f.account_id,
        region=f.region,
        resource_type=f.resource_type,
        resource_id=f.resource_id,
        finding=f,
        title=f.title,
    )


def _closed(record: RunRecord, item: dict[str, Any]) -> DetectionFinding:
    """A Close event from a drift item: the finding as this run saw it (PASS or
    NOT_APPLICABLE), or the item alone when its resource is gone."""
    current = next((f for f in record.findings if f.fingerprint == item["fingerprint"]), None)
    if current is not None:
        return _of(record, current, ActivityID.Close)
    title = next((f.title for f in record.findings if f.rule_id == item["rule_id"]), None)
    return event(
        record,
        ActivityID.Close,
        fingerprint=item["fingerprint"],
        rule_id=item["rule_id"],
        severity=Severity(item["severity"]),
        account_id=item.get("account_id") or "unknown",
        region=item.get("region") or "unknown",
        resource_type=item["resource_type"],
        resource_id=item["resource_id"],
        finding=None,
        title=title or item["rule_id"],
    )


def ocsf_events(record: RunRecord, life: Lifecycle | None = None) -> list[DetectionFinding]:
    """Every event of the file: open findings first, then the Close events."""
    life = life or lifecycle(record)
    events = [
        _of(record, f, ActivityID.Create if life.is_created(f) else ActivityID.Update)
        for f in open_findings(record)
    ]
    events += [_closed(record, item) for item in life.closed]
    return events


def write_ocsf(record: RunRecord, path: Path) -> Path:
    """Write ``findings.ocsf.json``."""
    docs = [e.model_dump(mode="json", exclude_none=True) for e in ocsf_events(record)]
    return write_text_atomic(path, json.dumps(docs, indent=2, sort_keys=True) + "\n")
