"""What a notification says, as one neutral structure rendered three ways (:mod:`.render`).

A message leads with what someone must act on tonight: **new public access paths**, the
FAILs of the verdict rules that were not FAIL in the previous run (absent, PASS,
NOT_APPLICABLE or ERROR before).  With no previous run to compare with (the first run, or a
scan without a history store) every FAIL verdict is new.  Then **drift** against the
previous run and the baseline, then **where the report is**.  A status line heads it all:
an incomplete run says so loudly, since nothing marked ERROR was checked.

Everything is read from the record and ``record.drift`` (the summaries of
``scanner.history.drift.summary``); nothing is recomputed, so the message agrees with the
scan's own closing summary and its reports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.model.finding import Finding, Status
from scanner.model.record import RunRecord
from scanner.model.verdict import VERDICT_RULES, is_public_path

DRIFT_ITEMS = 10
"""New and regressed findings listed per drift side (the counts are always totals)."""
PATHS_PER_FINDING = 5
"""Access paths named per public finding (``paths_total`` counts all of them)."""
FAILED_COLLECTORS = 5
"""Failed collectors named in the status (``collectors_failed`` counts all of them)."""


@dataclass(frozen=True)
class PathLine:
    """One access path of a verdict finding: its kind, what it is and what closes it."""

    kind: str
    label: str
    summary: str
    close: str


@dataclass(frozen=True)
class PublicPath:
    """A verdict finding that is newly FAIL: one resource with new public access."""

    rule_id: str
    target: str
    account_id: str
    region: str
    resource_type: str
    resource_id: str
    resource_arn: str | None
    severity: str
    waived: bool
    was: str | None
    """Its status in the previous run: None when absent there (or no previous run)."""
    paths: tuple[PathLine, ...]
    paths_total: int


@dataclass(frozen=True)
class DriftLine:
    """One new or regressed finding of a drift side, in short."""

    fingerprint: str
    rule_id: str
    severity: str
    account_id: str
    region: str
    resource_id: str
    was: str | None
    now: str | None


@dataclass(frozen=True)
class DriftSide:
    """Drift against one earlier run: counts, and the first new and regressed findings."""

    against_run: str
    baseline: str | None
    at: str | None
    findings: Mapping[str, int]
    resources: Mapping[str, int]
    unknown_scopes: int
    new: tuple[DriftLine, ...]
    regressed: tuple[DriftLine, ...]

    @property
    def changed(self) -> bool:
        """Findings appeared, regressed or were resolved since that run."""
        return any(self.findings.get(k, 0) for k in ("new", "regressed", "resolved"))


@dataclass(frozen=True)
class Message:
    """Everything one notification says, whatever it is rendered as."""

    run_id: str
    status: str
    complete: bool
    exit_code: int
    started_at: str
    finished_at: str
    counts: Mapping[str, int]
    failed_collectors: tuple[str, ...]
    public_paths: tuple[PublicPath, ...]
    first_run: bool
    """No previous run to compare with: every FAIL verdict counts as new."""
    previous: DriftSide | None
    baseline: DriftSide | None
    drift_notes: tuple[str, ...]
    report_dir: str | None
    report_html: str | None

    @property
    def problems(self) -> bool:
        """What makes the scan itself exit non-zero: unwaived FAILs at or above ``fail_on``,
        or an incomplete run (exit 3; a waived or below-threshold FAIL is accepted)."""
        return self.exit_code != 0

    @property
    def changed(self) -> bool:
        """Something is different since the previous run.  On a first run everything is new,
        so any FAIL is a change; an incomplete run always is (what it could not see may
        have changed)."""
        if self.public_paths or not self.complete:
            return True
        if self.first_run:
            return self.counts.get("FAIL", 0) > 0
        return self.previous is not None and self.previous.changed


def skip_reason(message: Message, when: str) -> str | None:
    """Why a target with ``when`` gets no message for this run (None: send it)."""
    if when == "problems" and not message.problems:
        return "when: problems, and the run is complete with nothing failing"
    if when == "changes" and not message.changed:
        return "when: changes, and nothing changed since the previous run"
    return None


# -- building ----------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def path_line(item: Mapping[str, Any]) -> PathLine:
    """One entry of a verdict's ``evidence.paths``.  Network and DNS paths carry a
    ``summary``; IAM paths name who can do what instead, and are summarised from that."""
    kind = _text(item.get("kind"))
    summary = _text(item.get("summary"))
    if not summary and item.get("principal"):
        summary = f"{item['principal']} can call {_text(item.get('action'))}"
        if item.get("description"):
            summary += f" ({item['description']})"
    close = _text(item.get("close") or item.get("remediation"))
    return PathLine(kind, _text(item.get("kind_label")) or kind, summary, close)


def public_path(finding: Finding, was: str | None) -> PublicPath:
    items = [p for p in finding.evidence.get("paths") or [] if isinstance(p, Mapping)]
    total = finding.evidence.get("paths_total")
    return PublicPath(
        rule_id=finding.rule_id,
        target=VERDICT_RULES[finding.rule_id],
        account_id=finding.account_id,
        region=finding.region,
        resource_type=finding.resource_type,
        resource_id=finding.resource_id,
        resource_arn=finding.resource_arn,
        severity=str(finding.severity),
        waived=finding.waived,
        was=was,
        paths=tuple(path_line(p) for p in items[:PATHS_PER_FINDING]),
        paths_total=int(total) if isinstance(total, int) else len(items),
    )


def new_public_paths(record: RunRecord, previous: Mapping[str, Any] | None) -> list[PublicPath]:
    """FAIL verdicts that were not FAIL in the previous run.

    Drift names them: *new* (absent or NOT_APPLICABLE before), *regressed* (PASS before),
    and an *error change* into FAIL (ERROR before: nobody knew, so it is news too).
    Without a previous run every FAIL verdict is new.
    """
    failing = {f.fingerprint: f for f in record.findings if is_public_path(f)}
    chosen: list[tuple[Finding, str | None]]
    if previous is None:
        chosen = [(f, None) for f in failing.values()]
    else:
        was: dict[str, str | None] = {}
        for key in ("new", "regressed", "error_changes"):
            for item in previous.get(key) or []:
                fp = item.get("fingerprint")
                if fp in failing and item.get("to") == str(Status.FAIL):
                    was.setdefault(fp, item.get("from"))
        chosen = [(failing[fp], w) for fp, w in was.items()]
    out = [public_path(f, w) for f, w in chosen]
    out.sort(key=lambda p: (p.rule_id, p.account_id, p.region, p.resource_id))
    return out


def _drift_line(item: Mapping[str, Any]) -> DriftLine:
    return DriftLine(
        fingerprint=_text(item.get("fingerprint")),
        rule_id=_text(item.get("rule_id")),
        severity=_text(item.get("severity")),
        account_id=_text(item.get("account_id")),
        region=_text(item.get("region")),
        resource_id=_text(item.get("resource_id")),
        was=item.get("from"),
        now=item.get("to"),
    )


def drift_side(summary: Mapping[str, Any] | None) -> DriftSide | None:
    """One side of ``record.drift`` (a ``scanner.history.drift.summary``), or None."""
    if summary is None:
        return None
    origin = summary.get("from") or {}
    return DriftSide(
        against_run=_text(origin.get("run")),
        baseline=origin.get("baseline"),
        at=origin.get("at"),
        findings={k: int(v) for k, v in (summary.get("findings") or {}).items()},
        resources={k: int(v) for k, v in (summary.get("resources") or {}).items()},
        unknown_scopes=len(summary.get("unknown_scopes") or []),
        new=tuple(_drift_line(x) for x in (summary.get("new") or [])[:DRIFT_ITEMS]),
        regressed=tuple(_drift_line(x) for x in (summary.get("regressed") or [])[:DRIFT_ITEMS]),
    )


def _counts(record: RunRecord) -> dict[str, int]:
    summary = record.summary()
    out = {"findings": int(summary["findings"])}
    out |= {s.value: int(summary["by_status"][s.value]) for s in Status}
    out["waived"] = int(summary["waived"])
    out["failing"] = len(record.failing)
    out["collectors_failed"] = int(summary["collector_errors"])
    return out


def _failed_collectors(record: RunRecord) -> tuple[str, ...]:
    out = []
    for o in record.collector_errors[:FAILED_COLLECTORS]:
        line = f"{o['collector']} in {o['account_id']}/{o['region']}: {o['status']}"
        if o.get("error_code"):
            line += f" {o['error_code']}"
        if o.get("operation"):
            line += f" on {o['operation']}"
        out.append(line)
    return tuple(out)


def build_message(record: RunRecord, *, report_dir: Path | None = None) -> Message:
    """The message for one finished run.  ``report_dir`` defaults to the record's own."""
    drift = record.drift
    previous = drift.get("previous") if drift else None
    notes = []
    if drift is None:
        notes.append("no history store: nothing to compare with")
    elif previous is None:
        notes.append("first run in this store: nothing to compare with")
    if drift and drift.get("baseline_error"):
        notes.append(str(drift["baseline_error"]))
    directory = report_dir if report_dir is not None else record.output_dir
    html = record.reports.get("html")
    counts = _counts(record)
    paths = new_public_paths(record, previous)
    counts["new_public_paths"] = len(paths)
    return Message(
        run_id=record.run_id,
        status=str(record.status),
        complete=record.complete,
        exit_code=int(record.exit_code),
        started_at=record.started_at,
        finished_at=record.finished_at,
        counts=counts,
        failed_collectors=_failed_collectors(record),
        public_paths=tuple(paths),
        first_run=previous is None,
        previous=drift_side(previous),
        baseline=drift_side(drift.get("baseline") if drift else None),
        drift_notes=tuple(notes),
        report_dir=str(directory) if directory is not None else None,
        report_html=str(html) if html is not None else None,
    )
