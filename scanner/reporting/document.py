"""The report document: the ``run`` object and findings list every format is built from.

``findings.json`` is this document; the HTML report embeds the same ``run`` object, so the
two never disagree about a run's counts, completeness, drift or waivers.
"""

from __future__ import annotations

from typing import Any

from scanner.model.record import RunRecord


def run_document(record: RunRecord) -> dict[str, Any]:
    """The ``run`` object of ``findings.json``."""
    snap = record.snapshot
    doc: dict[str, Any] = {
        "id": record.run_id,
        "status": str(record.status),
        "tool_version": record.tool_version,
        "rulepack_version": record.rulepack_version,
        "config_hash": record.config_hash,
        "started_at": record.started_at,
        "finished_at": record.finished_at,
        "snapshot_schema_version": snap.schema_version,
        "snapshot_started_at": snap.started_at,
        "accounts": snap.accounts,
        "regions": snap.regions,
        "fail_on": str(record.fail_on),
        "complete": record.complete,
        "exit_code": int(record.exit_code),
        "summary": record.summary(),
        "collectors": [o.to_dict() for o in snap.collectors],
        "collector_errors": record.collector_errors,
        "waivers": record.waivers,
    }
    if record.drift is not None:
        doc["drift"] = record.drift
    return doc


def findings_document(record: RunRecord) -> dict[str, Any]:
    """The whole JSON document: ``{"run": {...}, "findings": [...]}``."""
    return {
        "run": run_document(record),
        "findings": [f.to_dict() for f in record.findings],
    }
