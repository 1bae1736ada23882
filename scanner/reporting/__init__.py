"""Reporters: turn a run's findings into files.  One module per format, one entry point."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from pathlib import Path

from scanner.errors import InputError
from scanner.model.record import RunRecord
from scanner.reporting.csvout import write_csv
from scanner.reporting.htmlout import write_html
from scanner.reporting.jsonout import write_json

Writer = Callable[[RunRecord, Path], Path]

WRITERS: dict[str, tuple[str, Writer]] = {
    "json": ("findings.json", write_json),
    "csv": ("findings.csv", write_csv),
    "html": ("report.html", write_html),
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


def write_reports(record: RunRecord, out_dir: Path, formats: Sequence[str]) -> dict[str, Path]:
    """Write each requested format into ``out_dir``; returns format → path."""
    written: dict[str, Path] = {}
    for fmt in formats:
        filename, writer = WRITERS[fmt]
        written[fmt] = writer(record, out_dir / filename)
    return written
