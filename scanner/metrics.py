"""Prometheus metrics of the nightly job, for node_exporter's textfile collector.

Each cycle rewrites one ``.prom`` file atomically (:func:`scanner.private.write_atomic`: a
temporary ``.NAME.*.tmp`` beside it, which the collector skips, flushed and renamed over
the old one), so the collector never reads half a file.  The file is mode 0644
whatever the umask: node_exporter usually runs as another user and must read it, and it
holds only counts, never a resource name (``prometheus_client.write_to_textfile`` would
leave it 0666 under umask 000: anyone could forge the metrics).  The registry is private to each write: nothing accumulates in the
process between cycles, and no default process metrics leak in.

Every gauge is written on every cycle that has a record, zeros included (each status x
severity pair, each verdict rule), so an alert compares a value and never has to detect a
series that is absent.  A cycle that failed before it had a record writes only the run-level
gauges (the first four).

Gauges (prefix ``privatelink_scanner_``):

- ``last_run_timestamp_seconds``: end of the last cycle (the run's finished time, else when
  the file was written);
- ``last_success_timestamp_seconds``: end of the last complete run (0: none yet);
- ``run_duration_seconds``: the last cycle's duration;
- ``exit_code``: its exit status (0 clean, 1 FAILs, 3 incomplete, ...);
- ``run_complete``: 1 when every collector ran and no rule said ERROR, else 0;
- ``findings{status,severity}``: findings by status and severity;
- ``public_access_paths``: FAILs of the two verdict rules (waived ones too: a waiver
  accepts a path, it does not close it); ``public_access_paths_by_rule{rule}``: the same
  per verdict rule;
- ``collectors_failed``: failed collector outcomes;
- ``findings_waived``: findings under an unexpired waiver;
- ``ticket_sync_ok{target}``: 1 when the cycle synced that ticket target, 0 when it failed
  (written only when ``tickets:`` has targets and the cycle reached the sync).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from scanner.model.finding import Severity, Status
from scanner.model.record import RunRecord
from scanner.model.verdict import VERDICT_RULES, is_public_path
from scanner.private import write_atomic

PREFIX = "privatelink_scanner_"
TEXTFILE_MODE = 0o644


def _epoch(value: datetime | str) -> float:
    """Unix seconds of a datetime or an ISO-8601 text (naive means UTC, as the store
    writes it)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _gauge(registry: CollectorRegistry, name: str, doc: str, value: float) -> None:
    Gauge(PREFIX + name, doc, registry=registry).set(value)


def registry_for(
    record: RunRecord | None,
    *,
    duration_seconds: float,
    last_success: datetime | None,
    exit_code: int,
    tickets: dict[str, bool] | None = None,
) -> CollectorRegistry:
    """The metrics of one cycle (module docstring), in a registry of their own."""
    registry = CollectorRegistry(auto_describe=True)
    ended = _epoch(record.finished_at) if record is not None else time.time()
    _gauge(registry, "last_run_timestamp_seconds", "End of the last scan cycle.", ended)
    _gauge(
        registry,
        "last_success_timestamp_seconds",
        "End of the last complete run (0: none yet).",
        _epoch(last_success) if last_success is not None else 0.0,
    )
    _gauge(registry, "run_duration_seconds", "Duration of the last cycle.", duration_seconds)
    _gauge(registry, "exit_code", "Exit status of the last cycle.", exit_code)
    if record is None:
        return registry
    summary = record.summary()
    _gauge(registry, "run_complete", "1 when the last run saw everything.", int(record.complete))
    findings = Gauge(
        PREFIX + "findings",
        "Findings of the last run by status and severity.",
        ["status", "severity"],
        registry=registry,
    )
    counts = Counter((str(f.status), str(f.severity)) for f in record.findings)
    for status in Status:
        for severity in Severity:
            findings.labels(str(status), str(severity)).set(counts[(str(status), str(severity))])
    public = Counter(f.rule_id for f in record.findings if is_public_path(f))
    _gauge(
        registry,
        "public_access_paths",
        "FAIL findings of the public-access-path verdict rules in the last run.",
        sum(public.values()),
    )
    by_rule = Gauge(
        PREFIX + "public_access_paths_by_rule",
        "FAIL findings of each public-access-path verdict rule in the last run.",
        ["rule"],
        registry=registry,
    )
    for rule in VERDICT_RULES:
        by_rule.labels(rule).set(public[rule])
    _gauge(
        registry,
        "collectors_failed",
        "Failed collector outcomes in the last run.",
        summary["collector_errors"],
    )
    _gauge(
        registry,
        "accounts_scanned",
        "Accounts the last run covered (reached or not).",
        len(record.snapshot.accounts),
    )
    _gauge(
        registry,
        "accounts_unreachable",
        "Accounts of the last run in which nothing could be read (a role not assumed).",
        len(record.unreachable_accounts),
    )
    _gauge(
        registry,
        "findings_waived",
        "Findings under an unexpired waiver in the last run.",
        summary["waived"],
    )
    if tickets:
        synced = Gauge(
            PREFIX + "ticket_sync_ok",
            "1 when the last cycle synced the ticket target, 0 when it failed.",
            ["target"],
            registry=registry,
        )
        for name, ok in tickets.items():
            synced.labels(name).set(int(ok))
    return registry


def write_metrics(
    path: Path,
    record: RunRecord | None,
    *,
    duration_seconds: float,
    last_success: datetime | None,
    exit_code: int,
    tickets: dict[str, bool] | None = None,
) -> None:
    """Replace ``path`` with this cycle's metrics, atomically.  ``record`` is None when the
    cycle failed before a record existed; ``last_success`` comes from the store."""
    registry = registry_for(
        record,
        duration_seconds=duration_seconds,
        last_success=last_success,
        exit_code=exit_code,
        tickets=tickets,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, generate_latest(registry), mode=TEXTFILE_MODE)
