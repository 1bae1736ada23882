"""``findings.json``: ``{"run", "paths", "target_sets", "findings"}`` — the machine-readable
report (each public path once in ``paths``, referenced by id; see
:mod:`scanner.reporting.document`).  Written compact, with sorted keys: it is for machines
(``jq .`` pretty-prints it), and indentation alone was a fifth of its size."""

from __future__ import annotations

import json
from pathlib import Path

from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.document import findings_document


def write_json(record: RunRecord, path: Path) -> Path:
    """Write ``findings.json``."""
    text = json.dumps(findings_document(record), sort_keys=True, separators=(",", ":"), default=str)
    return write_text_atomic(path, text + "\n")
