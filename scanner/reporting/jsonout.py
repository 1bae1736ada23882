"""``findings.json``: ``{"run": {...}, "findings": [...]}`` — the machine-readable report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scanner.reporting.atomic import write_text_atomic

if TYPE_CHECKING:
    from scanner.run import RunResult


def findings_document(result: RunResult) -> dict[str, Any]:
    """The whole JSON document (also embedded in the HTML report)."""
    return {
        "run": result.run_document(),
        "findings": [f.to_dict() for f in result.findings],
    }


def write_json(result: RunResult, path: Path) -> Path:
    """Write ``findings.json``."""
    text = json.dumps(findings_document(result), indent=2, sort_keys=True, default=str)
    return write_text_atomic(path, text + "\n")
