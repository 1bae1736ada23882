"""``findings.xlsx``: one workbook for auditors, who work in Excel rather than in CSV files.

Sheets:

- **Summary**: the run (id, status, times, versions, accounts, regions), the findings by
  status and the FAILs by severity, and each framework's pass rate: the share of its
  requirement-by-resource rows that PASS, of those evaluated (NOT_APPLICABLE rows left out);
- **one sheet per framework** (``hipaa``, ``pci-dss-v4``): the rows of
  ``compliance-<framework>.csv``, same columns;
- **All findings**: the rows of ``findings.csv``, same columns.

Written by pandas through openpyxl.  Account data (names, tags, ids) must not become
formulas in an auditor's Excel, and openpyxl stores any string starting with ``=`` as one:
every string cell gets the formula guard of ``findings.csv`` (a leading ``'``), after the
control characters XML cannot hold are removed (so a hidden ``\\x01=...`` cannot slip
past the guard) and cut to Excel's 32,767 characters per cell.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl.worksheet.worksheet import Worksheet

from scanner.model.finding import Severity, Status
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_bytes_atomic
from scanner.reporting.compliance import (
    COLUMNS as COMPLIANCE_COLUMNS,
)
from scanner.reporting.compliance import (
    compliance_rows,
    pass_rate,
    shipped_frameworks,
)
from scanner.reporting.csvout import COLUMNS as FINDING_COLUMNS
from scanner.reporting.csvout import finding_row, sanitize_cell

SUMMARY_SHEET = "Summary"
ALL_SHEET = "All findings"
SUMMARY_COLUMNS = ["section", "item", "value", "detail"]
CELL_LIMIT = 32_767
# Characters XML 1.0 cannot carry (openpyxl refuses them).
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def cell(value: Any) -> Any:
    """A safe cell: strings cleaned, guarded and cut; numbers and booleans as they are."""
    if not isinstance(value, str):
        return value
    text = sanitize_cell(_ILLEGAL.sub("", value))
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"


def sheet_name(framework: str, taken: set[str]) -> str:
    """A valid, unique sheet name (≤ 31 characters, none of ``[]:*?/\\``)."""
    base = _SHEET_BAD.sub("_", framework)[:31] or "framework"
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"~{n}"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def summary_rows(record: RunRecord) -> list[list[Any]]:
    """The Summary sheet, one ``[section, item, value, detail]`` row per fact."""
    s = record.summary()
    rows: list[list[Any]] = [
        ["run", "run id", record.run_id, ""],
        ["run", "status", str(record.status), "incomplete: some data could not be looked at"]
        if not record.complete
        else ["run", "status", str(record.status), ""],
        ["run", "started at", record.started_at, ""],
        ["run", "finished at", record.finished_at, ""],
        ["run", "tool version", record.tool_version, ""],
        ["run", "rule-pack version", record.rulepack_version, ""],
        ["run", "accounts", ", ".join(record.snapshot.accounts), ""],
        ["run", "regions", ", ".join(record.snapshot.regions), ""],
        ["run", "exit status", int(record.exit_code), ""],
        ["findings", "total", s["findings"], ""],
    ]
    rows += [["findings by status", st.value, s["by_status"][st.value], ""] for st in Status]
    rows.append(["findings by status", "waived", s["waived"], "FAIL findings under a waiver"])
    rows += [
        ["FAIL by severity", sev.value, s["fail_by_severity"][sev.value], ""] for sev in Severity
    ]
    catalog = shipped_frameworks()
    for fw, reqs in compliance_rows(record.findings).items():
        passed, evaluated = pass_rate(reqs)
        title = catalog[fw].title if fw in catalog else fw
        rate = round(100 * passed / evaluated, 1) if evaluated else "n/a"
        not_applicable = len(reqs) - evaluated
        detail = (
            f"{title}: {passed} of {evaluated} requirement-by-resource rows PASS"
            f" ({not_applicable} NOT_APPLICABLE)"
        )
        rows.append(["framework pass rate (%)", fw, rate, detail])
    return rows


def sheets(record: RunRecord) -> dict[str, pd.DataFrame]:
    """Sheet name → its table, in workbook order."""
    taken = {SUMMARY_SHEET.lower(), ALL_SHEET.lower()}
    out = {SUMMARY_SHEET: pd.DataFrame(summary_rows(record), columns=SUMMARY_COLUMNS)}
    for fw, rows in compliance_rows(record.findings).items():
        out[sheet_name(fw, taken)] = pd.DataFrame(
            [r.values() for r in rows], columns=COMPLIANCE_COLUMNS
        )
    out[ALL_SHEET] = pd.DataFrame(
        [finding_row(record.run_id, f) for f in record.findings], columns=FINDING_COLUMNS
    )
    return out


def _auditor_view(sheet: Worksheet) -> None:
    """The header row frozen and a filter on every column, so an auditor can sort and
    narrow a 20,000-row sheet without first formatting it."""
    sheet.freeze_panes = "A2"
    if sheet.max_row > 1:
        sheet.auto_filter.ref = sheet.dimensions


def write_xlsx(record: RunRecord, path: Path) -> Path:
    """Write ``findings.xlsx`` (pandas writes the cells, openpyxl the sheet settings)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as book:
        for name, frame in sheets(record).items():
            safe = frame.map(cell) if not frame.empty else frame
            safe.to_excel(book, sheet_name=name, index=False)
            _auditor_view(book.sheets[name])
    return write_bytes_atomic(path, buf.getvalue())
