"""``findings.json``: ``{"run": {...}, "findings": [...]}`` — the machine-readable report."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.document import findings_document


def write_json(record: RunRecord, path: Path) -> Path:
    """Write ``findings.json``."""
    text = json.dumps(findings_document(record), indent=2, sort_keys=True, default=str)
    return write_text_atomic(path, text + "\n")
