"""``scanner scan``, ``scanner collect`` and ``scanner demo``: the commands that look at AWS."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from scanner.aws.errors import CREDENTIALS_ADVICE, ErrorKind, kind_for_code
from scanner.cli.common import (
    EPILOG,
    config_option,
    echo,
    log,
    logging_options,
    output_file_option,
    progress_for,
    region_option,
    report_options,
    setup,
    shown,
    store_option,
)
from scanner.config import Config
from scanner.errors import ExitCode
from scanner.model.finding import Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome


def _run_scan(
    config: Config,
    *,
    regions: tuple[str, ...],
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    snapshot: Path | None,
    store: str | None,
    use_store: bool = True,
) -> RunRecord:
    from scanner.reporting import parse_formats
    from scanner.run import RunOptions, run

    return run(
        RunOptions(
            config=config,
            regions=list(regions) or None,
            snapshot_path=snapshot,
            output_dir=output_dir,
            formats=parse_formats(formats) if formats else None,
            fail_on=Severity(fail_on.lower()) if fail_on else None,
            progress=progress_for(config),
            store=store,
            use_store=use_store,
        )
    )


def describe_failure(outcome: CollectorOutcome) -> str:
    """One line naming a failed collector, its scope and the error."""
    return (
        f"{outcome.collector} {outcome.account_id}/{outcome.region}: "
        f"{outcome.error_code} {outcome.error_message}"
    )


def credential_lines(failed: list[CollectorOutcome]) -> list[str]:
    """One line per account whose credentials AWS rejected (expired, unknown key): the codes
    seen, how many collectors that left unread, and what to do.  Each of those collectors
    failed on its own operation (or was not called at all), and a line apiece would bury
    the one thing the user must fix."""
    by_account: dict[str, list[CollectorOutcome]] = {}
    for o in failed:
        if kind_for_code(o.error_code or "") is ErrorKind.CREDENTIALS:
            by_account.setdefault(o.account_id, []).append(o)
    return [
        f"account {account}: credentials expired or invalid "
        f"({', '.join(sorted({str(o.error_code) for o in members}))}): {len(members)} "
        f"collector run(s) got no data; {CREDENTIALS_ADVICE}"
        for account, members in by_account.items()
    ]


def failure_lines(failed: list[CollectorOutcome]) -> list[str]:
    """The failed collectors, one line each, except that the collectors of one account that
    failed alike (a role that cannot be assumed fails them all) share one line naming the
    account, the operation and AWS's reason, and rejected credentials get one line per
    account (:func:`credential_lines`), first."""
    lines = credential_lines(failed)
    groups: dict[tuple[str, str | None, str | None, str | None], list[CollectorOutcome]] = {}
    for o in failed:
        if kind_for_code(o.error_code or "") is ErrorKind.CREDENTIALS:
            continue
        groups.setdefault((o.account_id, o.operation, o.error_code, o.error_message), []).append(o)
    for (account, operation, code, message), members in groups.items():
        if len(members) == 1:
            lines.append(describe_failure(members[0]))
            continue
        regions = sorted({o.region for o in members})
        lines.append(
            f"account {account}: {len(members)} collectors in {', '.join(regions)} failed"
            + (f" on {operation}" if operation else "")
            + f": {code} {message}"
        )
    return lines


def print_summary(record: RunRecord, config: Config) -> None:
    """Human summary on stdout (or one JSON log line for the nightly job).  Rejected
    credentials are also logged as an error (stderr), in either format."""
    summary = record.summary()
    failed = record.snapshot.failed_outcomes()
    for line in credential_lines(failed):
        log.error(line)
    if config.log_format == "json":
        log.info(
            "scan finished",
            extra={
                "run_id": record.run_id,
                "summary": summary,
                "drift": drift_counts(record),
                "reports": {k: str(v) for k, v in record.reports.items()},
            },
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    counts = summary["by_status"]
    console.print(
        f"[bold]Run {record.run_id}[/bold]: {summary['findings']} findings — "
        f"[red]{counts['FAIL']} FAIL[/red], [magenta]{counts['ERROR']} ERROR[/magenta], "
        f"[green]{counts['PASS']} PASS[/green], {counts['NOT_APPLICABLE']} NOT_APPLICABLE"
    )
    problems = sorted(
        (f for f in record.findings if f.status in (Status.FAIL, Status.ERROR)),
        key=lambda f: (str(f.status), f.rule_id, f.resource_id),
    )
    if problems and console.is_terminal:
        table = Table(show_lines=False)
        for col in ("status", "severity", "rule", "resource", "message"):
            table.add_column(col, overflow="fold")
        for f in problems:
            table.add_row(
                str(f.status),
                str(f.severity),
                shown(f.rule_id),
                shown(f.resource_id),
                shown(f.message),
            )
        console.print(table)
    else:
        # Piped or logged: one greppable line per problem, never wrapped mid-word.
        for f in problems:
            console.print(
                f"{f.status} {f.severity} {shown(f.rule_id)} {shown(f.resource_id)}: "
                f"{shown(f.message)}",
                soft_wrap=True,
            )
    if not record.complete:
        console.print(
            "[bold magenta]INCOMPLETE:[/bold magenta] some data could not be collected or "
            "evaluated; see the ERROR findings. Nothing marked ERROR was checked."
        )
        for line in failure_lines(failed):
            console.print(f"  {shown(line)}", soft_wrap=True)
    print_waivers(console, record)
    print_drift(console, record.drift)
    for fmt, path in record.reports.items():
        console.print(f"{fmt.upper():5} report: {shown(path)}")


def drift_counts(record: RunRecord) -> dict[str, Any] | None:
    """The drift counts of a stored run (None with ``--no-store``)."""
    if record.drift is None:
        return None
    return {
        side: {"from": d["from"], "resources": d["resources"], "findings": d["findings"]}
        if d
        else None
        for side, d in record.drift.items()
        if side in ("previous", "baseline")
    }


def print_waivers(console: Any, record: RunRecord) -> None:
    """Waivers that need attention: expired ones and ones that matched nothing."""
    waived = sum(1 for f in record.findings if f.waived)
    if waived:
        console.print(f"{waived} FAIL finding(s) waived (accepted risk; still FAIL in reports)")
    for w in record.waivers:
        if w["state"] == "expired":
            console.print(
                f"[yellow]waiver expired[/yellow] {shown(w['id'])}: {shown(w['rule_id'])} on "
                f"{shown(w['resource'])} (owner {shown(w['owner'])}, expired {w['expires']}): "
                "no longer applied"
            )
        elif w["state"] == "unused":
            console.print(
                f"[yellow]waiver unused[/yellow] {shown(w['id'])}: {shown(w['rule_id'])} on "
                f"{shown(w['resource'])} "
                "matches no FAIL finding"
            )


def print_drift(console: Any, drift: dict[str, Any] | None) -> None:
    """One screen of drift: against the previous run and the baseline (summaries as made by
    :func:`scanner.history.drift.summary`)."""
    if drift is None:
        return
    for side, label in (("previous", "previous run"), ("baseline", "baseline")):
        d = drift.get(side)
        if d is None:
            if side == "previous" and "previous" in drift:
                console.print("Drift: first run in this store, nothing to compare with")
            continue
        name = d["from"].get("baseline") or d["from"]["run"]
        r, f = d["resources"], d["findings"]
        console.print(
            f"[bold]Drift since {label} {shown(name)}[/bold]: resources +{r['added']} "
            f"-{r['removed']} ~{r['modified']}; findings {f['new']} new, "
            f"{f['regressed']} regressed, {f['resolved']} resolved, "
            f"{f['still_failing']} still failing, {f['error_changes']} ERROR changes"
        )
        for item in d["new"][:10] + d["regressed"][:10]:
            console.print(
                f"  {item['to']} {item['severity']} {shown(item['rule_id'])} "
                f"{shown(item['resource_id'])}"
                f" (was {item['from'] or 'absent'})"
            )
        _print_unknown(console, d["unknown_scopes"])
    if drift.get("baseline_error"):
        console.print(f"[yellow]{shown(drift['baseline_error'])}[/yellow]")


@click.command(epilog=EPILOG)
@config_option
@region_option
@report_options
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Evaluate a stored snapshot (from 'scanner collect') instead of calling AWS.",
)
@store_option
@click.option("--no-store", is_flag=True, help="Keep no history for this run (reports only).")
@logging_options
def scan(
    config_path: Path | None,
    regions: tuple[str, ...],
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    snapshot: Path | None,
    store: str | None,
    no_store: bool,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Collect (or load) a snapshot, evaluate every rule, store the run, write reports.

    Writes DIR/<run-id>/findings.json, findings.csv, report.html and the snapshot used,
    records the run in the history store and ends with drift against the previous run and
    the baseline (see 'scanner drift').
    """
    config = setup(config_path, log_format, verbose)
    record = _run_scan(
        config,
        regions=regions,
        output_dir=output_dir,
        formats=formats,
        fail_on=fail_on,
        snapshot=snapshot,
        store=store,
        use_store=not no_store,
    )
    print_summary(record, config)
    sys.exit(int(record.exit_code))


@click.command(epilog=EPILOG)
@config_option
@region_option
@output_file_option("Where to write the snapshot (gzip JSON, e.g. snap.json.gz).")
@logging_options
def collect(
    config_path: Path | None,
    regions: tuple[str, ...],
    output: Path,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Collect a snapshot of the estate without evaluating or storing it.

    Exit status is 3 when any collector failed (the snapshot records which and why).
    """
    from scanner.collectors import collect as do_collect

    config = setup(config_path, log_format, verbose)
    snap = do_collect(config, regions=list(regions) or None, progress=progress_for(config))
    snap.save(output)
    failed = snap.failed_outcomes()
    echo(
        f"snapshot written: {output} ({len(snap.collectors)} collector runs, {len(failed)} failed)"
    )
    for line in failure_lines(failed):
        echo(f"  failed: {line}")
    sys.exit(int(ExitCode.INCOMPLETE if failed else ExitCode.OK))


@click.command(epilog=EPILOG)
@config_option
@report_options
@store_option
@logging_options
def demo(
    config_path: Path | None,
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    store: str | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Start an embedded demo account (moto's server on 127.0.0.1), seed it, and scan it.

    The account mirrors the AWS PrivateLink setup for SageMaker notebooks, with a handful of
    deliberate mistakes for the scanner to find. Nothing leaves this machine. The run is
    kept in the history store like any scan.
    Exits 0 when the demo ran (its FAILs are intended), 3 if the scan was incomplete.
    """
    from scanner.demo.runner import run_demo

    config = setup(config_path, log_format, verbose)
    record = run_demo(
        config,
        lambda cfg: _run_scan(
            cfg,
            regions=(),
            output_dir=output_dir,
            formats=formats,
            fail_on=fail_on,
            snapshot=None,
            store=store,
        ),
    )
    print_summary(record, config)
    html = record.reports.get("html")
    if html is not None:
        click.echo(f"Open the HTML report: {html.resolve()}")
    sys.exit(int(ExitCode.INCOMPLETE if not record.complete else ExitCode.OK))


def _print_unknown(console: Any, scopes: list[dict[str, Any]]) -> None:
    """Name the scopes drift could not compare: failures first, and a count of those
    turned off or legitimately unreadable (disabled collectors, SCPs from a member account),
    which are the same every night."""
    quiet = ("disabled", "not_collected")
    loud = sorted(
        {
            shown(f"{u['resource_type']} {u['account_id']}/{u['region']} ({u['reason']})")
            for u in scopes
            if u["status"] not in quiet
        }
    )
    rest = len(
        {(u["account_id"], u["region"], u["resource_type"]) for u in scopes if u["status"] in quiet}
    )
    if loud:
        console.print(
            f"  [magenta]not compared[/magenta] (not fully seen): {'; '.join(loud[:8])}"
            + (f" (+{len(loud) - 8} more)" if len(loud) > 8 else "")
        )
    if rest:
        console.print(f"  {rest} scope(s) disabled or not collected in either run: not compared")
