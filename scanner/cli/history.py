"""History commands: ``drift``, ``runs``, ``baseline``, ``evidence``, ``report`` and ``waivers``.

None of them calls AWS.  Each finds the store the way ``scanner scan`` does (``--store``,
else config ``store.url``, else ``<output.dir>/history.db`` from the current directory), so
they need no config file when run where the scans ran.  Reading commands never create a
store: a missing one is an error naming the path.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from scanner.cli.common import (
    config_option,
    echo,
    format_option,
    formats_option,
    output_file_option,
    shown,
    store_option,
)
from scanner.config import Config, load_config
from scanner.errors import ExitCode
from scanner.history.database import StoreError, store_url
from scanner.history.store import RunRow, Store


def open_store(config: Config, store: str | None, *, create: bool = False) -> Store:
    """The store these commands read (never created by a reading command)."""
    return Store.open(store_url(config, store), create_missing=create)


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def _latest(store: Store) -> RunRow:
    row = store.latest()
    if row is None:
        raise StoreError(f"the store {store.display_url} has no finished run yet")
    return row


# -- drift ------------------------------------------------------------------------------


@click.command("drift")
@config_option
@store_option
@click.option(
    "--from",
    "from_ref",
    default=None,
    metavar="RUN|BASELINE",
    help="Compare from this run id (or unique prefix) or baseline name. "
    "Default: the finished run before --to.",
)
@click.option(
    "--to", "to_ref", default=None, metavar="RUN", help="Compare to this run. Default: latest."
)
@click.option(
    "--format", "formats", default="json", metavar="LIST", help="json,csv,html (default json)."
)
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory for drift.json (and drift.csv, drift.html). Default: <output.dir>/drift.",
)
def drift(
    config_path: Path | None,
    store: str | None,
    from_ref: str | None,
    to_ref: str | None,
    formats: str,
    output_dir: Path | None,
) -> None:
    """What changed between two stored runs: resources (field by field) and findings.

    \b
    Examples:
      scanner drift                              latest run vs the one before it
      scanner drift --from audit-2026-10         latest run vs a baseline
      scanner drift --from RUN_A --to RUN_B --format json,html

    Failed and interrupted runs are skipped by default.  Scopes that either run could
    not see completely are named and never reported as removed or resolved.
    """
    # Drift (pandas) and its writers load only for this command, not for every history one.
    from scanner.cli.scan import print_drift
    from scanner.history.drift import Side, summary
    from scanner.history.drift import drift as compute_drift
    from scanner.reporting.driftout import parse_drift_formats, write_drift

    config = load_config(config_path)
    wanted = parse_drift_formats(formats)
    with open_store(config, store) as st:
        after = Side(st.run(to_ref) if to_ref else _latest(st))
        if not after.run.finished:
            raise StoreError(f"run {after.run.id} is {after.run.status}: it has nothing to compare")
        if from_ref:
            run, base = st.resolve(from_ref)
            before = Side(run, base.name if base else None)
        else:
            prev = st.latest(before=after.run)
            if prev is None:
                raise StoreError(f"run {after.run.id} has no earlier finished run to compare with")
            before = Side(prev)
        doc = compute_drift(st, before, after)
    out = output_dir or Path(config.output.dir) / "drift"
    written = write_drift(doc, out, wanted)
    console = _console()
    print_drift(console, {"baseline" if before.baseline else "previous": summary(doc)})
    for fmt, path in written.items():
        console.print(f"{fmt.upper():5} drift: {shown(path)}")


# -- runs -------------------------------------------------------------------------------


@click.group("runs")
def runs() -> None:
    """List, show and verify stored runs."""


@runs.command("list")
@config_option
@store_option
@format_option(["table", "json"], "table")
def runs_list(config_path: Path | None, store: str | None, fmt: str) -> None:
    """Every stored run, newest first (json: an array of objects)."""
    with open_store(load_config(config_path), store) as st:
        rows = st.runs()
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} runs")
    for col in ("id", "status", "started", "finished", "accounts", "regions", "FAIL", "ERROR"):
        table.add_column(col, overflow="fold")
    for r in rows:
        by = (r.counts or {}).get("by_status", {})
        cells = (
            r.id,
            r.status,
            r.started_at,
            r.finished_at or "",
            ",".join(r.accounts),
            ",".join(r.regions),
            by.get("FAIL", ""),
            by.get("ERROR", ""),
        )
        table.add_row(*map(shown, cells))
    _console().print(table)


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@config_option
@store_option
@format_option(["text", "json"], "text")
def runs_show(run_ref: str, config_path: Path | None, store: str | None, fmt: str) -> None:
    """One run: status, versions, counts, collector outcomes, digests, reports."""
    with open_store(load_config(config_path), store) as st:
        row, _ = st.resolve(run_ref)
        pinned = [b.name for b in st.baselines() if b.run_id == row.id]
    doc = {**row.to_dict(), "baselines": pinned, "collectors": row.collectors}
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    for key in ("id", "status", "started_at", "finished_at", "source", "tool_version"):
        echo(f"{key:18} {doc[key]}")
    echo(f"{'rulepack_version':18} {row.rulepack_version}")
    echo(f"{'accounts':18} {', '.join(row.accounts)}")
    echo(f"{'regions':18} {', '.join(row.regions)}")
    if row.counts:
        echo(f"{'findings':18} {json.dumps(row.counts.get('by_status'))}")
    if row.error:
        echo(f"{'error':18} {row.error}")
    failed = [o for o in row.collectors if o["status"] == "error"]
    for o in failed:
        echo(
            f"collector failed   {o['collector']} {o['account_id']}/{o['region']}: "
            f"{o['error_code']} {o['error_message']}"
        )
    if pinned:
        echo(f"{'baselines':18} {', '.join(pinned)}")
    for fmt_name, path in row.reports.items():
        echo(f"{fmt_name + ' report':18} {path}")
    echo(f"{'chain_digest':18} {row.chain_digest or '(not sealed)'}")


@runs.command("verify")
@config_option
@store_option
@format_option(["text", "json"], "text")
def runs_verify(config_path: Path | None, store: str | None, fmt: str) -> None:
    """Recompute every digest; exit 0 when the chain holds, 1 naming the first run altered
    or missing."""
    from scanner.history.verify import verify

    with open_store(load_config(config_path), store) as st:
        result = verify(st)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    elif result.ok:
        echo(
            f"ok: {result.runs_checked} stored run(s) match their digests; head "
            f"{result.head_run_id} {result.head_digest}"
        )
    else:
        echo(f"FAILED: first run altered or missing: {result.first_bad_run}")
        for problem in result.problems:
            echo(f"  {problem}")
    sys.exit(int(ExitCode.OK if result.ok else ExitCode.FINDINGS))


# -- baselines --------------------------------------------------------------------------


@click.group("baseline")
def baseline() -> None:
    """Name a run as a baseline ("the state we showed the auditor") and list them."""


@baseline.command("set")
@click.argument("run_ref", metavar="[RUN]", required=False)
@click.option("--name", required=True, help="Baseline name, e.g. audit-2026-10-01.")
@click.option("--note", default=None, help="Why this run is the baseline.")
@config_option
@store_option
def baseline_set(
    run_ref: str | None, name: str, note: str | None, config_path: Path | None, store: str | None
) -> None:
    """Pin RUN (default: the latest finished run) as baseline NAME.

    A baseline's run is never pruned by store.retention_days; 'scanner drift --from NAME'
    compares against it, and every scan reports drift against the newest baseline (or
    config store.baseline).
    """
    with open_store(load_config(config_path), store) as st:
        row = st.run(run_ref) if run_ref else _latest(st)
        base = st.set_baseline(name, row, note)
    echo(f"baseline {base.name} -> run {base.run_id} ({row.status}, {row.started_at})")


@baseline.command("list")
@config_option
@store_option
@format_option(["table", "json"], "table")
def baseline_list(config_path: Path | None, store: str | None, fmt: str) -> None:
    """Every baseline, newest first."""
    with open_store(load_config(config_path), store) as st:
        items = st.baselines()
    docs = [
        {"name": b.name, "run_id": b.run_id, "note": b.note, "created_at": b.created_at}
        for b in items
    ]
    if fmt == "json":
        click.echo(json.dumps(docs, indent=2))
        return
    for d in docs:
        echo(f"{d['name']}  run {d['run_id']}  set {d['created_at']}  {d['note'] or ''}")
    if not docs:
        echo("no baselines (scanner baseline set --name NAME)")


# -- evidence ---------------------------------------------------------------------------


@click.group("evidence")
def evidence() -> None:
    """Evidence packs for auditors."""


@evidence.command("export")
@click.argument("run_ref", metavar="RUN")
@output_file_option("The zip file to write.")
@config_option
@store_option
def evidence_export(
    run_ref: str, output: Path, config_path: Path | None, store: str | None
) -> None:
    """Write RUN's evidence pack: snapshot, findings, reports, drift against the baseline,
    rule-pack versions, digests and a manifest, all readable offline."""
    from scanner.evidence import export_evidence

    config = load_config(config_path)
    with open_store(config, store) as st:
        row, _ = st.resolve(run_ref)
        manifest = export_evidence(st, row, output, config)
    echo(f"evidence pack written: {output} ({len(manifest['files'])} files)")


# -- report -----------------------------------------------------------------------------


@click.command("report")
@click.argument("run_ref", metavar="RUN")
@formats_option
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Directory to write the reports into. Default: <output.dir>/<run-id>/.",
)
@config_option
@store_option
def report(
    run_ref: str,
    formats: str | None,
    output_dir: Path | None,
    config_path: Path | None,
    store: str | None,
) -> None:
    """Regenerate a stored run's reports from the history store, in any format, with no
    AWS call.  RUN: a run id, a unique prefix, a baseline name or 'latest'.

    \b
    Examples:
      scanner report latest --format ocsf,asff
      scanner report 20261127T0200 --format xlsx,compliance --output audit/
    """
    from scanner.evidence import regenerate_reports
    from scanner.reporting import parse_formats, report_files

    config = load_config(config_path)
    wanted = parse_formats(formats) if formats else list(config.output.formats)
    with open_store(config, store) as st:
        row, _ = st.resolve(run_ref)
        out = output_dir or Path(config.output.dir) / row.id
        written = regenerate_reports(st, row, out, wanted, config.store.baseline)
    echo(f"Reports of run {row.id} ({row.status}) regenerated from {st.display_url}:")
    for fmt in written:
        for path in report_files(fmt, out):
            echo(f"{fmt.upper():10} {path}")


# -- waivers ----------------------------------------------------------------------------


@click.group("waivers")
def waivers() -> None:
    """Accepted risks (config 'waivers' and 'waivers_file')."""


@waivers.command("list")
@config_option
@store_option
@format_option(["table", "json"], "table")
def waivers_list(config_path: Path | None, store: str | None, fmt: str) -> None:
    """Each configured waiver: in force or expired today, and what it matched in the latest
    stored run (active, unused)."""
    from datetime import UTC, datetime

    config = load_config(config_path)
    today = datetime.now(UTC).date()
    last: dict[str, dict[str, Any]] = {}
    try:
        with open_store(config, store) as st:
            row = st.latest()
            last = {w["id"]: w for w in (row.waivers if row else [])}
    except StoreError:
        last = {}
    docs = []
    for w in config.all_waivers():
        seen = last.get(w.id)
        state = "expired" if w.expired(today) else (seen["state"] if seen else "not yet scanned")
        docs.append({**w.to_dict(), "state": state, "matched": seen["matched"] if seen else None})
    if fmt == "json":
        click.echo(json.dumps(docs, indent=2, default=str))
        return
    if not docs:
        echo("no waivers configured")
    for d in docs:
        echo(
            f"{d['state']:16} {d['id']}  {d['rule_id']} on {d['resource']}"
            f"{' in ' + d['account'] if d.get('account') else ''}"
            f"  owner {d['owner']}  expires {d['expires']}"
            f"{'  ticket ' + d['ticket'] if d.get('ticket') else ''}"
            f"{'  matched ' + str(d['matched']) if d['matched'] is not None else ''}"
        )
