"""``findings.asff.json``: the findings in the AWS Security Finding Format, ready for Security Hub.

The scanner is read-only and never calls Security Hub: this file is for whoever imports it
(a pipeline with ``securityhub:BatchImportFindings`` rights, in the account of the findings).
``BatchImportFindings`` takes at most 100 findings, all for the product ARN of the account
and region it is called in, so the file is a JSON **list of batches**: each batch a list of
at most 100 findings of one account and region, ready to pass as ``--findings``::

    jq -c '.[]' findings.asff.json | while read -r batch; do
      aws securityhub batch-import-findings --findings "$batch"; done

One finding per scanner finding (every status, so Security Hub also learns what passed),
plus one for each FAIL this run resolved because its resource is gone
(:mod:`scanner.reporting.lifecycle`):

- ``Id``: the fingerprint (the same in every run, so an import updates, never duplicates);
  ``GeneratorId``: the rule; ``ProductArn``: the account's default product
  (``arn:<partition>:securityhub:<region>:<account>:product/<account>/default``);
- ``Types``: ``Software and Configuration Checks/Industry and Regulatory Standards/<X>``,
  with Security Hub's own names (``HIPAA Controls (USA)``, ``PCI-DSS Controls``);
- ``Compliance.Status``: FAIL → FAILED, PASS → PASSED, ERROR → WARNING (information was
  missing), NOT_APPLICABLE and gone → NOT_AVAILABLE; ``RelatedRequirements``:
  ``<framework>/<requirement>``;
- ``RecordState`` / ``Workflow.Status``: FAIL and ERROR → ACTIVE / NEW (SUPPRESSED when
  waived, with the waiver in ``Note``); PASS → ACTIVE / RESOLVED; NOT_APPLICABLE and gone
  → ARCHIVED / RESOLVED;
- ``Severity.Label``: the rule's severity for FAIL and ERROR, INFORMATIONAL otherwise
  (``Severity.Original`` keeps the rule's);
- ``Title`` ≤ 256, ``Description`` ≤ 1024, ``Remediation.Recommendation.Text`` ≤ 512
  characters (cut with "…"), ``Url`` the rule's first reference.

``CreatedAt`` and ``UpdatedAt`` are the run's finish time: a run does not know when a
still-failing finding was first seen.  A global finding (IAM, Organizations) goes to the
first scanned region, one of account ``unknown`` to the first scanned account.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.lifecycle import lifecycle

SCHEMA_VERSION = "2018-10-08"
BATCH_SIZE = 100
PRODUCT = "privatelink-scanner"
STANDARDS = "Software and Configuration Checks/Industry and Regulatory Standards"
FRAMEWORK_TYPES = {
    "hipaa": f"{STANDARDS}/HIPAA Controls (USA)",
    "pci-dss-v4": f"{STANDARDS}/PCI-DSS Controls",
}
NO_FRAMEWORK_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
LABELS = {
    Severity.CRITICAL: "CRITICAL",
    Severity.HIGH: "HIGH",
    Severity.MEDIUM: "MEDIUM",
    Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
COMPLIANCE = {
    Status.FAIL: "FAILED",
    Status.PASS: "PASSED",
    Status.ERROR: "WARNING",
    Status.NOT_APPLICABLE: "NOT_AVAILABLE",
}
# Our resource types with an ASFF counterpart; the others are "Other", with our type in
# Details.Other.
RESOURCE_TYPES = {
    "aws:account": "AwsAccount",
    "ec2:vpc": "AwsEc2Vpc",
    "ec2:subnet": "AwsEc2Subnet",
    "ec2:security-group": "AwsEc2SecurityGroup",
    "ec2:route-table": "AwsEc2RouteTable",
    "iam:user": "AwsIamUser",
    "iam:role": "AwsIamRole",
    "iam:group": "AwsIamGroup",
    "iam:policy": "AwsIamPolicy",
    "sagemaker:notebook-instance": "AwsSageMakerNotebookInstance",
    "cloudtrail:trail": "AwsCloudTrailTrail",
}
LIMITS = {"Title": 256, "Description": 1024, "Text": 512, "Url": 512}
MAX_REQUIREMENTS = 32


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters (cut with an ellipsis)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def asff_time(stamp: str) -> str:
    """An ISO 8601 UTC time in the form Security Hub documents (``...T..:..:...sssZ``)."""
    at = datetime.fromisoformat(stamp)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class Subject:
    """What an ASFF finding is about: a scanner finding, or a resolved one now gone."""

    fingerprint: str
    rule_id: str
    severity: Severity
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    finding: Finding | None


def home_region(record: RunRecord) -> str:
    """Where global findings are imported: the first scanned region."""
    regions = sorted(r for r in record.snapshot.regions if r not in ("global", "unknown"))
    return regions[0] if regions else "us-east-1"


def _region(record: RunRecord, region: str) -> str:
    return home_region(record) if region in ("global", "unknown", "") else region


def _account(record: RunRecord, account_id: str) -> str:
    """An account id Security Hub accepts: a finding of account ``unknown`` (a configured VPC
    not found when several accounts were scanned) goes to the first scanned account."""
    if len(account_id) == 12 and account_id.isdigit():
        return account_id
    return sorted(record.snapshot.accounts)[0] if record.snapshot.accounts else account_id


def _resource_id(s: Subject) -> str:
    arn = s.finding.resource_arn if s.finding else None
    if arn:
        return arn
    if s.resource_type == "aws:account":
        return f"AWS::::Account:{s.account_id}"
    return s.resource_id


def _types(frameworks: dict[str, list[str]]) -> list[str]:
    if not frameworks:
        return [NO_FRAMEWORK_TYPE]
    return sorted({FRAMEWORK_TYPES.get(fw, STANDARDS) for fw in frameworks})


def asff_finding(record: RunRecord, s: Subject) -> dict[str, Any]:
    """One ASFF finding."""
    f = s.finding
    status = f.status if f is not None else None
    is_open = status in (Status.FAIL, Status.ERROR)
    waived = f is not None and f.waived and is_open
    region = _region(record, s.region)
    account = _account(record, s.account_id)
    partition = record.snapshot.partition
    at = asff_time(record.finished_at)
    frameworks = f.frameworks if f is not None else {}
    title = f.title if f is not None else s.rule_id
    description = (f.message or f.title) if f is not None else "No longer found: resolved."
    resource: dict[str, Any] = {
        "Type": RESOURCE_TYPES.get(s.resource_type, "Other"),
        "Id": _resource_id(s),
        "Partition": partition,
        "Region": region,
    }
    if resource["Type"] == "Other":
        resource["Details"] = {"Other": {"scanner_resource_type": s.resource_type}}
    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": s.fingerprint,
        "ProductArn": (f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"),
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
        "GeneratorId": s.rule_id,
        "AwsAccountId": account,
        "Region": region,
        "Types": _types(frameworks),
        "CreatedAt": at,
        "UpdatedAt": at,
        "LastObservedAt": at,
        "Severity": {
            "Label": LABELS[s.severity] if is_open else "INFORMATIONAL",
            "Original": str(s.severity),
        },
        "Title": cut(title, LIMITS["Title"]),
        "Description": cut(description, LIMITS["Description"]),
        "ProductFields": {
            "privatelink-scanner/run_id": record.run_id,
            "privatelink-scanner/status": str(status) if status else "RESOLVED",
            "privatelink-scanner/resource_type": s.resource_type,
        },
        "Resources": [resource],
        "Compliance": {"Status": COMPLIANCE[status] if status else "NOT_AVAILABLE"},
        "RecordState": "ARCHIVED" if status in (None, Status.NOT_APPLICABLE) else "ACTIVE",
        "Workflow": {"Status": "SUPPRESSED" if waived else ("NEW" if is_open else "RESOLVED")},
    }
    related = [f"{fw}/{req}" for fw, reqs in sorted(frameworks.items()) for req in reqs]
    if related:
        out["Compliance"]["RelatedRequirements"] = related[:MAX_REQUIREMENTS]
    if f is not None:
        rec = _recommendation(f.remediation)
        if rec:
            out["Remediation"] = {"Recommendation": rec}
        if waived and f.waiver:
            w = f.waiver
            note = f"Waived ({w.get('id')}): {w.get('reason', '')} (expires {w.get('expires')})"
            out["Note"] = {
                "Text": cut(note, 512),
                "UpdatedBy": cut(str(w.get("owner") or PRODUCT), 512),
                "UpdatedAt": at,
            }
    return out


def _recommendation(rem: dict[str, Any]) -> dict[str, str] | None:
    text = " ".join(str(rem.get("text") or "").split())
    urls = [str(u) for u in rem.get("references") or [] if str(u).startswith("https://")]
    if not text:
        return None
    rec = {"Text": cut(text, LIMITS["Text"])}
    if urls and len(urls[0]) <= LIMITS["Url"]:
        rec["Url"] = urls[0]
    return rec


def subjects(record: RunRecord) -> Iterator[Subject]:
    """Every finding of the run, then the resolved ones whose resource is gone."""
    for f in record.findings:
        yield Subject(
            f.fingerprint,
            f.rule_id,
            f.severity,
            f.account_id,
            f.region,
            f.resource_type,
            f.resource_id,
            f,
        )
    present = {f.fingerprint for f in record.findings}
    for item in lifecycle(record).closed:
        if item["fingerprint"] in present:
            continue  # already above, as the PASS or NOT_APPLICABLE it is now
        yield Subject(
            item["fingerprint"],
            item["rule_id"],
            Severity(item["severity"]),
            item.get("account_id") or "unknown",
            item.get("region") or "unknown",
            item["resource_type"],
            item["resource_id"],
            None,
        )


def asff_batches(record: RunRecord) -> list[list[dict[str, Any]]]:
    """The findings in batches of ≤ 100, each of one account and region."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in subjects(record):
        doc = asff_finding(record, s)
        groups.setdefault((doc["AwsAccountId"], doc["Region"]), []).append(doc)
    batches = []
    for key in sorted(groups):
        docs = sorted(groups[key], key=lambda d: (d["GeneratorId"], d["Id"]))
        batches += [docs[i : i + BATCH_SIZE] for i in range(0, len(docs), BATCH_SIZE)]
    return batches


def write_asff(record: RunRecord, path: Path) -> Path:
    """Write ``findings.asff.json``."""
    text = json.dumps(asff_batches(record), indent=2, sort_keys=True)
    return write_text_atomic(path, text + "\n")
