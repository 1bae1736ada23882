"""Core value types shared by every stage: statuses, severities and findings.

Findings are plain, immutable records so they serialise identically to JSON, CSV and the
database later on.  The fingerprint depends only on *what* was checked (rule and resource),
never on the outcome or the time, so the same rule on the same resource has the same
fingerprint in every run: drift detection and ticket de-duplication key on it.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any


class Status(StrEnum):
    """Outcome of one rule on one resource."""

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"


class Severity(StrEnum):
    """Rule severity, ordered from most to least severe by :data:`SEVERITY_RANK`."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


SEVERITY_RANK: dict[Severity, int] = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


def at_or_above(severity: Severity, threshold: Severity) -> bool:
    """True when ``severity`` is as severe as ``threshold`` or more."""
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]


def fingerprint(
    rule_id: str, account_id: str, region: str, resource_type: str, resource_id: str
) -> str:
    """Stable identity of "this rule on this resource", independent of outcome and time."""
    key = "\x1f".join((rule_id, account_id, region, resource_type, resource_id))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Finding:
    """One rule evaluated on one resource (or on one scope, when collection failed)."""

    rule_id: str
    status: Status
    severity: Severity
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    title: str
    message: str
    resource_arn: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    frameworks: dict[str, list[str]] = field(default_factory=dict)
    remediation: dict[str, Any] = field(default_factory=dict)
    # The waiver in force for this finding (accepted risk), as the waiver's own fields plus
    # its ``id``.  A waived finding keeps its real status; only ``--fail-on`` ignores it.
    waiver: dict[str, Any] | None = None

    @property
    def waived(self) -> bool:
        """True when an unexpired waiver covers this finding."""
        return self.waiver is not None

    @cached_property
    def fingerprint(self) -> str:
        """See :func:`fingerprint` (computed once: reports read it several times)."""
        return fingerprint(
            self.rule_id, self.account_id, self.region, self.resource_type, self.resource_id
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the fingerprint included."""
        out = asdict(self)
        out["status"] = str(self.status)
        out["severity"] = str(self.severity)
        out["fingerprint"] = self.fingerprint
        out["waived"] = self.waived
        return out

    def flat(self) -> dict[str, Any]:
        """The scalar fields as plain values: one row of a table (the store's finding
        columns, the drift frame), without evidence, remediation or frameworks."""
        return {
            "fingerprint": self.fingerprint,
            "rule_id": self.rule_id,
            "status": str(self.status),
            "severity": str(self.severity),
            "account_id": self.account_id,
            "region": self.region,
            "resource_type": self.resource_type,
            "resource_id": self.resource_id,
            "resource_arn": self.resource_arn,
            "title": self.title,
            "message": self.message,
            "waived": self.waived,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of :meth:`to_dict` (derived keys are recomputed, not trusted)."""
        return cls(
            rule_id=data["rule_id"],
            status=Status(data["status"]),
            severity=Severity(data["severity"]),
            account_id=data["account_id"],
            region=data["region"],
            resource_type=data["resource_type"],
            resource_id=data["resource_id"],
            title=data["title"],
            message=data["message"],
            resource_arn=data.get("resource_arn"),
            evidence=data.get("evidence") or {},
            frameworks=data.get("frameworks") or {},
            remediation=data.get("remediation") or {},
            waiver=data.get("waiver"),
        )
