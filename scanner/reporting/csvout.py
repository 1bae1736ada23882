"""``findings.csv``: one row per finding, safe to open in a spreadsheet.

Cells that a spreadsheet would execute as a formula (leading ``= + - @``, tab, CR or LF,
or the full-width forms U+FF1D, U+FF0B, U+FF0D, U+FF20 that Excel's East Asian locales
also take) are prefixed with a single quote: resource names and tags come from the
customer's account and must not become formulas in an auditor's Excel (CSV/formula
injection).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from scanner.model.finding import Finding
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic

COLUMNS = [
    "run_id",
    "fingerprint",
    "rule_id",
    "status",
    "severity",
    "account_id",
    "region",
    "resource_type",
    "resource_id",
    "resource_arn",
    "title",
    "message",
    "frameworks",
    "remediation",
    "evidence",
    "waived",
    "waiver",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def sanitize_cell(value: str) -> str:
    """Neutralise spreadsheet formulas (see module docstring), and make every carriage
    return a line feed: Python's csv writer, ending rows with LF, does not quote a field
    for a bare CR, and every CSV reader ends the row there (a CR in a tag split its row in
    two); spreadsheets break lines inside a cell at LF anyway."""
    if value.startswith(_FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n") if "\r" in value else value


def _frameworks(finding: Finding) -> str:
    return "; ".join(f"{fw}:{','.join(reqs)}" for fw, reqs in sorted(finding.frameworks.items()))


def _remediation(finding: Finding) -> str:
    rem: dict[str, Any] = finding.remediation
    parts = [str(v).strip() for v in rem.values() if isinstance(v, str)]
    return "\n".join(p for p in parts if p)


def finding_row(run_id: str, finding: Finding) -> list[str]:
    """One CSV row, sanitised."""
    raw = [
        run_id,
        finding.fingerprint,
        finding.rule_id,
        str(finding.status),
        str(finding.severity),
        finding.account_id,
        finding.region,
        finding.resource_type,
        finding.resource_id,
        finding.resource_arn or "",
        finding.title,
        finding.message,
        _frameworks(finding),
        _remediation(finding),
        json.dumps(finding.evidence, sort_keys=True, default=str),
        "true" if finding.waived else "false",
        json.dumps(finding.waiver, sort_keys=True) if finding.waiver else "",
    ]
    return [sanitize_cell(cell) for cell in raw]


def write_csv(record: RunRecord, path: Path) -> Path:
    """Write ``findings.csv``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for finding in record.findings:
        writer.writerow(finding_row(record.run_id, finding))
    return write_text_atomic(path, buf.getvalue())
