"""Drift reports: ``drift.json``, ``drift.csv`` and ``drift.html`` from a drift document.

The document comes from :mod:`scanner.history.drift` (its docstring gives the shape); these
writers only render it, so every format says the same thing.  CSV cells get the same
formula guard as ``findings.csv``; the HTML is one offline page, autoescaped.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from scanner.reporting import parse_formats
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.csvout import sanitize_cell
from scanner.reporting.htmlout import environment

DRIFT_FORMATS = ("json", "csv", "html")
CSV_COLUMNS = [
    "kind",
    "change",
    "account_id",
    "region",
    "resource_type",
    "resource_id",
    "rule_id",
    "fingerprint",
    "path",
    "before",
    "after",
]
TRANSITIONS = ("new", "resolved", "regressed", "error_changes", "not_seen")


def parse_drift_formats(text: str | None) -> list[str]:
    """``--format`` of ``scanner drift`` (default: json only)."""
    return parse_formats(text or "json", DRIFT_FORMATS, "drift")


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return sanitize_cell(text if value is not None else "")


def csv_rows(doc: dict[str, Any]) -> Iterator[list[str]]:
    """One row per changed resource path and per finding transition."""
    for r in doc["resources"]:
        where = [r["account_id"], r["region"], r["resource_type"], r["resource_id"]]
        for p in r["paths"] or [{"path": "", "before": None, "after": None}]:
            yield ["resource", r["change"], *where, "", "", p["path"], p["before"], p["after"]]
    for kind in TRANSITIONS:
        for f in doc["findings"][kind]:
            where = [f["account_id"], f["region"], f["resource_type"], f["resource_id"]]
            yield ["finding", kind, *where, f["rule_id"], f["fingerprint"], "", f["from"], f["to"]]


def write_drift(doc: dict[str, Any], out_dir: Path, formats: Sequence[str]) -> dict[str, Path]:
    """Write the requested drift formats into ``out_dir``; returns format -> path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    if "json" in formats:
        text = json.dumps(doc, indent=2, sort_keys=True, default=str) + "\n"
        written["json"] = write_text_atomic(out_dir / "drift.json", text)
    if "csv" in formats:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in csv_rows(doc):
            writer.writerow([_cell(v) for v in row])
        written["csv"] = write_text_atomic(out_dir / "drift.csv", buf.getvalue())
    if "html" in formats:
        page = environment().get_template("drift.html.j2").render(doc=doc, kinds=TRANSITIONS)
        written["html"] = write_text_atomic(out_dir / "drift.html", page)
    return written
