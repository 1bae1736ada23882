"""Reporters: turn a run's findings into files.  One module per format, one entry point.

The writer contract: ``WRITERS`` maps a format to ``(name, writer)``, and
``writer(record, out_dir / name)`` writes the report and returns its path.  A format of
several files (``compliance``: one CSV per framework) is registered under a glob
(``compliance-*.csv``): its writer writes every file matching the glob into ``out_dir`` and
returns ``out_dir``; :func:`report_files` lists the files of any format.  So
``write_reports`` still returns one path per format (what the store and ``scanner scan``
record), and a single-file writer is unchanged.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner import cancel
from scanner.errors import InputError
from scanner.model.record import RunRecord
from scanner.reporting.csvout import write_csv
from scanner.reporting.htmlout import write_html
from scanner.reporting.jsonout import write_json

Writer = Callable[[RunRecord, Path], Path]


def _on_demand(module: str, function: str) -> Writer:
    """A writer whose module is imported when a report of its format is written: the OCSF
    models and openpyxl cost ~0.3 s of start-up that a scan writing the default formats
    (csv, html, json) should not pay."""

    def write(record: RunRecord, path: Path) -> Path:
        writer: Writer = getattr(importlib.import_module(module), function)
        return writer(record, path)

    write.__name__ = function
    return write


WRITERS: dict[str, tuple[str, Writer]] = {
    "json": ("findings.json", write_json),
    "csv": ("findings.csv", write_csv),
    "html": ("report.html", write_html),
    "compliance": (
        "compliance-*.csv",
        _on_demand("scanner.reporting.compliance", "write_compliance"),
    ),
    "ocsf": ("findings.ocsf.json", _on_demand("scanner.reporting.ocsf", "write_ocsf")),
    "asff": ("findings.asff.json", _on_demand("scanner.reporting.asff", "write_asff")),
    "xlsx": ("findings.xlsx", _on_demand("scanner.reporting.xlsx", "write_xlsx")),
}


def parse_formats(
    text: str, choices: Collection[str] = tuple(WRITERS), what: str = "report"
) -> list[str]:
    """``"csv,html"`` → ``["csv", "html"]``, rejecting names outside ``choices``."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in choices]
    if unknown or not names:
        raise InputError(
            f"unknown {what} format(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(choices)}"
        )
    return names


def write_reports(
    record: RunRecord,
    out_dir: Path,
    formats: Sequence[str],
    *,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write each requested format into ``out_dir``; returns format → path (``out_dir``
    itself for a format of several files, see the module docstring)."""
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    written: dict[str, Path] = {}
    for fmt in formats:
        cancel.check()  # stop between files, never inside one
        filename, writer = WRITERS[fmt]
        if fmt == "html":  # ``context``: extra HTML inputs, e.g. ``trend`` (trend_for)
            written[fmt] = write_html(record, out_dir / filename, **(context or {}))
        else:
            written[fmt] = writer(record, out_dir / filename)
    return written


def report_files(fmt: str, out_dir: Path) -> list[Path]:
    """The files format ``fmt`` wrote into ``out_dir`` (several for a glob name)."""
    name = WRITERS[fmt][0]
    if "*" in name:
        return sorted(out_dir.glob(name))
    path = out_dir / name
    return [path] if path.exists() else []
