"""The one command-line interface: ``scanner`` (also ``python -m scanner``).

Every subcommand takes the same core flags (``--config``, ``--region``, ``--log-format``,
``--verbose``) so a nightly job and a person type the same thing.  User mistakes end with a
one-line message naming the file, line and problem, and exit status 2 — never a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from scanner import __version__
from scanner.config import Config, load_config
from scanner.errors import ExitCode, ScannerError
from scanner.model.finding import Severity, Status
from scanner.model.snapshot import CollectorOutcome
from scanner.progress import LogProgress, NullProgress, Progress, RichProgress

if TYPE_CHECKING:
    from scanner.model.record import RunRecord

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("scanner")

SEVERITIES = [s.value for s in Severity]
EPILOG = """\b
Exit status:
  0  complete, no FAIL at or above --fail-on
  1  complete, with such FAILs
  2  usage or configuration error (message names file and line)
  3  incomplete: some data could not be collected or a rule could not be evaluated
"""


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="config.yaml to use (see README, Configuration). Defaults apply without one.",
    )(func)


def region_option(func: F) -> F:
    return click.option(
        "--region",
        "regions",
        multiple=True,
        metavar="REGION",
        help="Region to scan; repeat for several. Default: config 'regions', else all enabled.",
    )(func)


def logging_options(func: F) -> F:
    func = click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        default=None,
        help="Log lines as text (default) or one JSON object per line (for the nightly job).",
    )(func)
    return click.option("-v", "--verbose", is_flag=True, help="Debug logging.")(func)


def report_options(func: F) -> F:
    func = click.option(
        "--output",
        "output_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory for reports; each run writes DIR/<run-id>/. Default: config output.dir.",
    )(func)
    func = click.option(
        "--format",
        "formats",
        default=None,
        metavar="LIST",
        help="Comma-separated report formats: csv,html,json (default: all).",
    )(func)
    return click.option(
        "--fail-on",
        type=click.Choice(SEVERITIES, case_sensitive=False),
        default=None,
        help="Lowest severity whose FAIL makes the exit status 1 (default: low).",
    )(func)


def _setup(config_path: Path | None, log_format: str | None, verbose: bool) -> Config:
    from scanner.logs import setup_logging

    setup_logging(log_format or "text", verbose)
    config = load_config(config_path)
    if log_format is not None:
        # The flag wins over the file; everything after reads config.log_format only.
        config = config.model_copy(update={"log_format": log_format})
    elif config.log_format == "json":
        setup_logging("json", verbose)
    return config


def _progress(config: Config) -> Progress:
    if config.log_format == "json":
        return LogProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return NullProgress()


def _run_scan(
    config: Config,
    *,
    regions: tuple[str, ...],
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    snapshot: Path | None,
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
            progress=_progress(config),
        )
    )


def describe_failure(outcome: CollectorOutcome) -> str:
    """One line naming a failed collector, its scope and the error."""
    return (
        f"{outcome.collector} {outcome.account_id}/{outcome.region}: "
        f"{outcome.error_code} {outcome.error_message}"
    )


def print_summary(result: RunRecord, config: Config) -> None:
    """Human summary on stdout (or one JSON log line for the nightly job)."""
    summary = result.summary()
    if config.log_format == "json":
        log.info(
            "scan finished",
            extra={
                "run_id": result.run_id,
                "summary": summary,
                "reports": {k: str(v) for k, v in result.reports.items()},
            },
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    counts = summary["by_status"]
    console.print(
        f"[bold]Run {result.run_id}[/bold]: {summary['findings']} findings — "
        f"[red]{counts['FAIL']} FAIL[/red], [magenta]{counts['ERROR']} ERROR[/magenta], "
        f"[green]{counts['PASS']} PASS[/green], {counts['NOT_APPLICABLE']} NOT_APPLICABLE"
    )
    problems = sorted(
        (f for f in result.findings if f.status in (Status.FAIL, Status.ERROR)),
        key=lambda f: (str(f.status), f.rule_id, f.resource_id),
    )
    if problems and console.is_terminal:
        table = Table(show_lines=False)
        for col in ("status", "severity", "rule", "resource", "message"):
            table.add_column(col, overflow="fold")
        for f in problems:
            table.add_row(str(f.status), str(f.severity), f.rule_id, f.resource_id, f.message)
        console.print(table)
    else:
        # Piped or logged: one greppable line per problem, never wrapped mid-word.
        for f in problems:
            console.print(
                f"{f.status} {f.severity} {f.rule_id} {f.resource_id}: {f.message}",
                soft_wrap=True,
            )
    if not result.complete:
        console.print(
            "[bold magenta]INCOMPLETE:[/bold magenta] some data could not be collected or "
            "evaluated; see the ERROR findings. Nothing marked ERROR was checked."
        )
        for outcome in result.snapshot.failed_outcomes():
            console.print(f"  {describe_failure(outcome)}")
    for fmt, path in result.reports.items():
        console.print(f"{fmt.upper():5} report: {path}")


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="privatelink-scanner")
def cli() -> None:
    """Prove that SageMaker notebooks are reachable only over AWS PrivateLink.

    \b
    Quick start:
      scanner demo                       scan an embedded demo account (moto)
      scanner scan --region us-west-2    scan the account of your AWS credentials
      scanner collect --output s.json.gz snapshot only (no evaluation)
      scanner scan --snapshot s.json.gz  re-evaluate a stored snapshot offline
      scanner rules list                 the rule catalog
    """


@cli.command(epilog=EPILOG)
@config_option
@region_option
@report_options
@click.option(
    "--snapshot",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Evaluate a stored snapshot (from 'scanner collect') instead of calling AWS.",
)
@logging_options
def scan(
    config_path: Path | None,
    regions: tuple[str, ...],
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    snapshot: Path | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Collect (or load) a snapshot, evaluate every rule, write reports.

    Writes DIR/<run-id>/findings.json, findings.csv, report.html and the snapshot used.
    """
    config = _setup(config_path, log_format, verbose)
    result = _run_scan(
        config,
        regions=regions,
        output_dir=output_dir,
        formats=formats,
        fail_on=fail_on,
        snapshot=snapshot,
    )
    print_summary(result, config)
    sys.exit(int(result.exit_code))


@cli.command(epilog=EPILOG)
@config_option
@region_option
@click.option(
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Where to write the snapshot (gzip JSON, e.g. snap.json.gz).",
)
@logging_options
def collect(
    config_path: Path | None,
    regions: tuple[str, ...],
    output: Path,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Collect a snapshot of the estate without evaluating it.

    Exit status is 3 when any collector failed (the snapshot records which and why).
    """
    from scanner.collectors import collect as do_collect

    config = _setup(config_path, log_format, verbose)
    snap = do_collect(config, regions=list(regions) or None, progress=_progress(config))
    snap.save(output)
    failed = snap.failed_outcomes()
    click.echo(
        f"snapshot written: {output} ({len(snap.collectors)} collector runs, {len(failed)} failed)"
    )
    for outcome in failed:
        click.echo(f"  failed: {describe_failure(outcome)}")
    sys.exit(int(ExitCode.INCOMPLETE if failed else ExitCode.OK))


@cli.command(epilog=EPILOG)
@config_option
@report_options
@logging_options
def demo(
    config_path: Path | None,
    output_dir: Path | None,
    formats: str | None,
    fail_on: str | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Start an embedded demo account (moto's server on 127.0.0.1), seed it, and scan it.

    The account mirrors the AWS PrivateLink setup for SageMaker notebooks, with a handful of
    deliberate mistakes for the scanner to find. Nothing leaves this machine.
    Exits 0 when the demo ran (its FAILs are intended), 3 if the scan was incomplete.
    """
    from scanner.demo.runner import run_demo

    config = _setup(config_path, log_format, verbose)
    result = run_demo(
        config,
        lambda cfg: _run_scan(
            cfg,
            regions=(),
            output_dir=output_dir,
            formats=formats,
            fail_on=fail_on,
            snapshot=None,
        ),
    )
    print_summary(result, config)
    html = result.reports.get("html")
    if html is not None:
        click.echo(f"Open the HTML report: {html.resolve()}")
    sys.exit(int(ExitCode.INCOMPLETE if not result.complete else ExitCode.OK))


@cli.group()
def rules() -> None:
    """Inspect the rule catalog."""


@rules.command("list")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "markdown"]),
    default="table",
    help="table (default), json, or markdown (the README's rule catalog).",
)
def rules_list(config_path: Path | None, fmt: str) -> None:
    """List every rule (shipped packs plus those added in config)."""
    from scanner.engine import load_config_ruleset
    from scanner.engine.catalog import catalog_markdown

    config = load_config(config_path)
    ruleset = load_config_ruleset(config)
    if fmt == "markdown":
        click.echo(catalog_markdown(ruleset))
        return
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "severity": str(r.severity),
            "resource_type": r.resource_type,
            "title": r.title,
            "check": r.check_kind,
            "frameworks": r.frameworks,
        }
        for r in ruleset.rules
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} rules")
    for col in ("id", "severity", "resource type", "title"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["id"], row["severity"], row["resource_type"], row["title"])
    Console().print(table)


@cli.group()
def iam() -> None:
    """IAM policy evaluation tools."""


@iam.command("evaluate")
@click.argument("cases", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def iam_evaluate(cases: Path) -> None:
    """Evaluate a CASES.json file of IAM requests and print decisions as JSON.

    Each case gives a request (principal, action, resource, context) and the identity,
    resource, boundary, session and SCP policies; the output names the deciding statements.
    """
    from scanner.iam.cases import evaluate_cases_file

    click.echo(json.dumps(evaluate_cases_file(cases), indent=2, default=str))


def main() -> None:
    """Console-script entry point: ScannerErrors become a message and their exit status."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except ScannerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
