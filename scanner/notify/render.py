"""A :class:`~.message.Message` as plain text, as a JSON document, and as a Slack payload.

All three put things in the same order: the status line (an incomplete run shouts), new
public access paths, drift against the previous run and the baseline, the report's path.

The JSON document (``format: json`` webhooks) is a stable interface for other programs;
:data:`SCHEMA_VERSION` changes only when a key is removed or changes meaning::

    {"event": "scan.completed", "schema_version": 1, "run_id", "status", "complete",
     "exit_code", "started_at", "finished_at", "subject",
     "counts": {"findings", "PASS", "FAIL", "ERROR", "NOT_APPLICABLE", "waived", "failing",
                "collectors_failed", "new_public_paths"},
     "failed_collectors": [str],
     "new_public_paths": [{"rule_id", "target", "account_id", "region", "resource_type",
                           "resource_id", "resource_arn", "severity", "waived", "was",
                           "paths_total", "paths": [{"kind", "label", "summary", "close"}]}],
     "drift": {"first_run": bool, "notes": [str],
               "previous": null | SIDE, "baseline": null | SIDE},
     "report": {"dir": str | null, "html": str | null}}

    SIDE = {"run", "baseline", "at",
            "findings": {"new", "regressed", "resolved", "still_failing", "error_changes",
                         "not_seen"},
            "resources": {"added", "removed", "modified"}, "unknown_scopes": N,
            "new": [ITEM], "regressed": [ITEM]}
    ITEM = {"fingerprint", "rule_id", "severity", "account_id", "region", "resource_id",
            "from", "to"}

``new`` and ``regressed`` list at most :data:`~.message.DRIFT_ITEMS` each and a public
finding at most :data:`~.message.PATHS_PER_FINDING` paths; the counts are totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from scanner.notify.message import DriftLine, DriftSide, Message, PublicPath

SCHEMA_VERSION = 1
EVENT = "scan.completed"
SUBJECT_PREFIX = "[privatelink-scanner]"
SLACK_SECTION_LIMIT = 3000
"""Slack rejects a section block whose text is longer than this."""
SLACK_TEXT_LIMIT = 40000
"""Slack truncates a message's ``text`` beyond this."""
_ITEM_LIMIT = 1000  # one line of a Slack section, so a single long value cannot fill it


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def incomplete_reason(m: Message) -> str:
    """Why the run is incomplete, in a few words."""
    failed = m.counts.get("collectors_failed", 0)
    if failed:
        return f"{_plural(failed, 'collector')} failed"
    return f"{_plural(m.counts.get('ERROR', 0), 'finding')} ERROR"


def status_line(m: Message) -> str:
    if m.complete:
        return f"Run {m.run_id}: complete"
    return f"Run {m.run_id}: INCOMPLETE: {incomplete_reason(m)}; nothing marked ERROR was checked"


def counts_line(m: Message) -> str:
    c = m.counts
    return (
        f"FAIL {c.get('FAIL', 0)}, ERROR {c.get('ERROR', 0)}, PASS {c.get('PASS', 0)}, "
        f"NOT_APPLICABLE {c.get('NOT_APPLICABLE', 0)} ({c.get('waived', 0)} waived); "
        f"exit status {m.exit_code}"
    )


def subject(m: Message) -> str:
    """The email subject: what changed, in one line."""
    parts = [] if m.complete else [f"INCOMPLETE ({incomplete_reason(m)})"]
    n = len(m.public_paths)
    if n:
        parts.append(f"{_plural(n, 'new public access path')}")
    elif m.first_run:
        parts.append(f"first run, {m.counts.get('FAIL', 0)} FAIL")
    elif m.previous is not None and m.previous.changed:
        f = m.previous.findings
        parts.append(
            f"drift: {f.get('new', 0)} new, {f.get('regressed', 0)} regressed, "
            f"{f.get('resolved', 0)} resolved"
        )
    else:
        parts.append("no change")
    return f"{SUBJECT_PREFIX} {', '.join(parts)} — run {m.run_id}"


# -- pieces shared by text and Slack -------------------------------------------------------


def _was(status: str | None) -> str:
    return status or "absent"


def path_heading(p: PublicPath, first_run: bool) -> str:
    since = "first run" if first_run else f"was {_was(p.was)}"
    waived = ", waived" if p.waived else ""
    return (
        f"{p.target} {p.resource_id} (account {p.account_id}, {p.region}): "
        f"{p.severity}, {_plural(p.paths_total, 'path')}{waived}; {since}"
    )


def path_details(p: PublicPath) -> list[str]:
    lines = []
    for line in p.paths:
        lines.append(f"{line.label}: {line.summary}")
        if line.close:
            lines.append(f"  close: {line.close}")
    hidden = p.paths_total - len(p.paths)
    if hidden > 0:
        lines.append(f"(+{hidden} more)")
    return lines


def side_heading(side: DriftSide, label: str) -> str:
    if side.baseline:
        name = f"baseline {side.baseline} (run {side.against_run})"
    else:
        name = f"{label} {side.against_run}"
    f, r = side.findings, side.resources
    return (
        f"Drift since {name}: findings {f.get('new', 0)} new, {f.get('regressed', 0)} "
        f"regressed, {f.get('resolved', 0)} resolved, {f.get('still_failing', 0)} still "
        f"failing, {f.get('error_changes', 0)} ERROR changes, {f.get('not_seen', 0)} not "
        f"seen; resources +{r.get('added', 0)} -{r.get('removed', 0)} ~{r.get('modified', 0)}"
    )


def drift_item(d: DriftLine) -> str:
    return (
        f"{d.now} {d.severity} {d.rule_id} {d.resource_id} "
        f"({d.account_id}/{d.region}; was {_was(d.was)})"
    )


def side_items(side: DriftSide) -> tuple[list[str], int]:
    """The listed new and regressed findings, and how many more there are."""
    listed = [drift_item(d) for d in (*side.new, *side.regressed)]
    total = side.findings.get("new", 0) + side.findings.get("regressed", 0)
    return listed, max(0, total - len(listed))


def _sides(m: Message) -> list[tuple[DriftSide, str]]:
    sides = [(m.previous, "the previous run"), (m.baseline, "the baseline")]
    return [(s, label) for s, label in sides if s is not None]


# -- plain text ----------------------------------------------------------------------------


def text(m: Message) -> str:
    """The email body (and the Slack ``text`` fallback)."""
    out = [status_line(m), counts_line(m)]
    out += [f"  failed: {c}" for c in m.failed_collectors]
    hidden = m.counts.get("collectors_failed", 0) - len(m.failed_collectors)
    if hidden > 0:
        out.append(f"  (+{hidden} more)")
    out += ["", f"New public access paths: {len(m.public_paths) or 'none'}"]
    for p in m.public_paths:
        out.append(f"  * {path_heading(p, m.first_run)}")
        out += [f"      {line}" for line in path_details(p)]
    out.append("")
    for side, label in _sides(m):
        out.append(side_heading(side, label))
        items, more = side_items(side)
        out += [f"  {item}" for item in items]
        if more:
            out.append(f"  (+{more} more)")
        if side.unknown_scopes:
            out.append(f"  {_plural(side.unknown_scopes, 'scope')} not compared (not seen)")
    out += [f"Drift: {note}" for note in m.drift_notes]
    out += ["", f"Report: {m.report_dir or 'not written'}"]
    if m.report_html:
        out.append(f"HTML report: {m.report_html}")
    return "\n".join(out) + "\n"


# -- JSON --------------------------------------------------------------------------------


def _side_doc(side: DriftSide | None) -> dict[str, Any] | None:
    if side is None:
        return None

    def item(d: DriftLine) -> dict[str, Any]:
        doc = asdict(d)
        doc["from"], doc["to"] = doc.pop("was"), doc.pop("now")
        return doc

    return {
        "run": side.against_run,
        "baseline": side.baseline,
        "at": side.at,
        "findings": dict(side.findings),
        "resources": dict(side.resources),
        "unknown_scopes": side.unknown_scopes,
        "new": [item(d) for d in side.new],
        "regressed": [item(d) for d in side.regressed],
    }


def json_document(m: Message) -> dict[str, Any]:
    """The generic webhook's body (module docstring): keys in reading order."""
    return {
        "event": EVENT,
        "schema_version": SCHEMA_VERSION,
        "run_id": m.run_id,
        "status": m.status,
        "complete": m.complete,
        "exit_code": m.exit_code,
        "started_at": m.started_at,
        "finished_at": m.finished_at,
        "subject": subject(m),
        "counts": dict(m.counts),
        "failed_collectors": list(m.failed_collectors),
        "new_public_paths": [asdict(p) for p in m.public_paths],
        "drift": {
            "first_run": m.first_run,
            "notes": list(m.drift_notes),
            "previous": _side_doc(m.previous),
            "baseline": _side_doc(m.baseline),
        },
        "report": {"dir": m.report_dir, "html": m.report_html},
    }


# -- Slack ---------------------------------------------------------------------------------


def _esc(value: str) -> str:
    """Slack's three control characters (mrkdwn reads ``<...>`` as a link or mention)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def fit(head: str, items: Sequence[str], hidden: int = 0, limit: int = SLACK_SECTION_LIMIT) -> str:
    """``head`` then one line per item, as many as fit in ``limit`` characters; the rest
    (and ``hidden`` more not even listed) become ``(+N more)``."""
    head = _clip(head, limit // 2)
    lines, used, shown = [head], len(head), 0
    for i, raw in enumerate(items):
        item = _clip(raw, _ITEM_LIMIT)
        after = len(items) - i - 1 + hidden
        tail = len(f"\n(+{after} more)") if after else 0
        if used + 1 + len(item) + tail > limit:
            break
        lines.append(item)
        used += 1 + len(item)
        shown += 1
    rest = len(items) - shown + hidden
    if rest:
        lines.append(f"(+{rest} more)")
    return "\n".join(lines)


def _section(body: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": body}}


def slack_payload(m: Message) -> dict[str, Any]:
    """``text`` (the plain rendering, for notifications) and ``blocks`` (mrkdwn sections,
    each within Slack's 3000-character limit)."""
    head = f"*{_esc(status_line(m))}*\n{_esc(counts_line(m))}"
    hidden = m.counts.get("collectors_failed", 0) - len(m.failed_collectors)
    blocks = [_section(fit(head, [f"• failed: {_esc(c)}" for c in m.failed_collectors], hidden))]
    items = []
    for p in m.public_paths:
        lines = [f"• *{_esc(path_heading(p, m.first_run))}*"] + [
            f"    {_esc(x)}" for x in path_details(p)
        ]
        items.append("\n".join(lines))
    n = len(m.public_paths)
    blocks.append(_section(fit(f"*New public access paths: {n or 'none'}*", items)))
    for side, label in _sides(m):
        listed, more = side_items(side)
        body = fit(f"*{_esc(side_heading(side, label))}*", [f"• {_esc(x)}" for x in listed], more)
        blocks.append(_section(body))
    if m.drift_notes:
        blocks.append(_section(fit("*Drift*", [_esc(n) for n in m.drift_notes])))
    report = [f"Report: `{_esc(m.report_dir or 'not written')}`"]
    if m.report_html:
        report.append(f"HTML report: `{_esc(m.report_html)}`")
    blocks.append(_section(fit(report[0], report[1:])))
    return {"text": _clip(text(m), SLACK_TEXT_LIMIT), "blocks": blocks}
