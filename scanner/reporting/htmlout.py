"""``report.html``: one self-contained page for people.

Offline by construction: no CDN, no external fonts or scripts, so it opens in an air-gapped
network.  Rows are rendered server-side (works with scripts disabled); a few lines of
inline script add filtering.  Jinja2 autoescaping keeps account data (tags, names) inert.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from scanner.model.finding import SEVERITY_RANK, Finding, Status
from scanner.model.record import RunRecord
from scanner.reporting.atomic import write_text_atomic
from scanner.reporting.document import run_document

_STATUS_ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.PASS: 2, Status.NOT_APPLICABLE: 3}


def sort_key(finding: Finding) -> tuple[int, int, str, str]:
    """ERROR first (we could not look), then FAIL by severity, then the rest."""
    return (
        _STATUS_ORDER[finding.status],
        -SEVERITY_RANK[finding.severity],
        finding.rule_id,
        finding.resource_id,
    )


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("scanner.reporting", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_html(record: RunRecord) -> str:
    """Render the report page as a string."""
    template = environment().get_template("report.html.j2")
    context: dict[str, Any] = {
        "run": run_document(record),
        "summary": record.summary(),
        "findings": sorted(record.findings, key=sort_key),
        "collector_errors": record.collector_errors,
    }
    return template.render(**context)


def write_html(record: RunRecord, path: Path) -> Path:
    """Write ``report.html``."""
    return write_text_atomic(path, render_html(record))
