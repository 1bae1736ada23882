"""The report document: the ``run`` object and findings list every format is built from.

``findings.json`` is this document; the HTML report embeds the same ``run`` object, so the
two never disagree about a run's counts, completeness, drift or waivers.

Public paths are stored once.  A principal's finding lists its paths and every notebook or
domain verdict the principal reaches lists the same path again; in an account where 1,800
principals reach 200 notebooks that repetition was most of a 55 MB ``findings.json``.  So
the document carries a top-level ``paths`` table (id → path) and each finding's
``evidence.paths`` holds the ids; the notebook lists paths share (every notebook of the
account, for a role allowed on ``*``) are in ``target_sets``.  Size follows what was found,
not findings times paths.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
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
        "unreachable_accounts": record.unreachable_accounts,
        "waivers": record.waivers,
    }
    if record.drift is not None:
        doc["drift"] = record.drift
    return doc


def path_id(path: Any) -> str:
    """A path's (or target list's) id: the first 16 hex digits of the SHA-256 of its
    canonical JSON, so the same path gets the same id in every finding, format and run."""
    text = json.dumps(path, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_TARGET_LISTS = ("notebooks", "user_profiles")
"""Keys of a path that list the notebooks or user profiles it reaches: a role allowed on
``*`` names every notebook of its account, and thousands of paths share that one list."""


def dedup_paths(
    findings: Iterable[dict[str, Any]],
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(paths, findings)``: every ``evidence.paths`` item moved into the ``paths`` table
    and replaced by its id.  The input dicts are not modified."""
    paths: dict[str, Any] = {}
    out: list[dict[str, Any]] = []
    for finding in findings:
        listed = (finding.get("evidence") or {}).get("paths")
        if not isinstance(listed, list) or not listed:
            out.append(finding)
            continue
        ids = []
        for path in listed:
            pid = path_id(path)
            paths.setdefault(pid, path)
            ids.append(pid)
        out.append({**finding, "evidence": {**finding["evidence"], "paths": ids}})
    return paths, out


def share_target_lists(
    paths: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """``(paths, target_sets)``: every notebook or user-profile list of more than one ARN in
    a path moved into ``target_sets`` (the path keeps ``<key>_set``, the list's id).  Path
    ids stay those of the full paths.  The input is not modified."""
    sets: dict[str, list[Any]] = {}
    out: dict[str, Any] = {}
    for pid, path in paths.items():
        if isinstance(path, dict):
            path = dict(path)
            for key in _TARGET_LISTS:
                arns = path.get(key)
                if isinstance(arns, list) and len(arns) > 1:
                    sid = path_id(arns)
                    sets.setdefault(sid, arns)
                    path[f"{key}_set"] = sid
                    del path[key]
        out[pid] = path
    return out, sets


def resolve_paths(document: dict[str, Any], finding: dict[str, Any]) -> list[Any]:
    """A finding's paths from a ``findings.json`` document: ids looked up in ``paths`` and
    target-set ids in ``target_sets``, so each path reads as the finding had it."""
    table = document.get("paths") or {}
    sets = document.get("target_sets") or {}
    out = []
    for pid in (finding.get("evidence") or {}).get("paths") or []:
        path = dict(table[pid])
        for key in _TARGET_LISTS:
            sid = path.pop(f"{key}_set", None)
            if sid is not None:
                path[key] = sets[sid]
        out.append(path)
    return out


def findings_document(record: RunRecord) -> dict[str, Any]:
    """The whole JSON document: ``{"run": {...}, "paths": {...}, "findings": [...]}``."""
    paths, findings = dedup_paths(f.to_dict() for f in record.findings)
    paths, sets = share_target_lists(paths)
    return {
        "run": run_document(record),
        "paths": paths,
        "target_sets": sets,
        "findings": findings,
    }
