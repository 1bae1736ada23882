"""``scanner schedule``: the nightly job as a daemon, as one cycle (``--once``), and its status."""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import click

from scanner import cancel
from scanner.cli.common import (
    config_option,
    echo,
    logging_options,
    progress_for,
    setup,
    store_option,
)
from scanner.config import Config

SCHEDULE_EPILOG = """\b
Exit status of 'scanner schedule --once' (as 'scanner scan'):
  0  complete, no FAIL at or above fail_on
  1  complete, with such FAILs
  2  usage or configuration error; store busy with store.lock: refuse
  3  incomplete: some data could not be collected or a rule could not be evaluated
  130  stopped by SIGTERM or SIGINT (the run is recorded interrupted)
The daemon exits 0 when stopped idle, 130 when it stopped a running scan.
"""


def _stop_cooperatively(signum: int, _frame: FrameType | None) -> None:
    """First SIGTERM/SIGINT: the scan stops at its next safe point (no new AWS call) and
    records itself interrupted.  A second one stops at once."""
    if cancel.requested():
        raise KeyboardInterrupt(f"signal {signum}")
    cancel.request(f"{signal.Signals(signum).name} received")


@click.group(invoke_without_command=True, epilog=SCHEDULE_EPILOG)
@config_option
@store_option
@click.option(
    "--once",
    is_flag=True,
    help="Run exactly one cycle now and exit with the scan's status (for cron, systemd "
    "timers, Kubernetes CronJobs, ECS scheduled tasks).",
)
@click.option(
    "--metrics-file",
    default=None,
    metavar="PATH",
    help="Prometheus textfile written after each cycle, for node_exporter's textfile "
    "collector (default: config schedule.metrics_file).",
)
@logging_options
@click.pass_context
def schedule(
    ctx: click.Context,
    config_path: Path | None,
    store: str | None,
    once: bool,
    metrics_file: str | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Run the nightly job: scan on config schedule.cron, store, report, sync tickets, notify.

    Without --once, a long-running APScheduler daemon: its job lives in the history store
    (a restart neither loses nor repeats a run), two daemons on one store never both run
    a cycle, and SIGTERM stops it gracefully. Each cycle is 'scanner scan' plus drift, the
    reports/latest link, ticket sync (with tickets: targets), notifications and metrics.

    \b
    scanner schedule --config config.yaml            the daemon
    scanner schedule --once --config config.yaml     one cycle (cron / CronJob)
    scanner schedule status --config config.yaml     did last night's scan run?
    """
    if ctx.invoked_subcommand is not None:
        if once or metrics_file:
            raise click.UsageError("--once and --metrics-file belong to the cycle, not to status")
        return
    config = setup(config_path, log_format, verbose)
    from scanner.cli.config_cmd import check_secrets_or_fail

    check_secrets_or_fail(config)
    if once:
        _once(config, store, metrics_file)
    from scanner.schedule.daemon import Daemon

    daemon = Daemon(config, config_path=config_path, store=store, metrics_file=metrics_file)
    sys.exit(daemon.serve())


def _once(config: Config, store: str | None, metrics_file: str | None) -> None:
    from scanner.cli.scan import print_summary
    from scanner.schedule.cycle import run_cycle

    cancel.reset()
    signal.signal(signal.SIGTERM, _stop_cooperatively)
    signal.signal(signal.SIGINT, _stop_cooperatively)
    result = run_cycle(
        config,
        store=store,
        metrics_file=Path(metrics_file) if metrics_file else None,
        progress=progress_for(config),
    )
    if result.record is not None:
        print_summary(result.record, config)
    elif result.error:
        echo(f"error: {result.error}", err=True)
    for target in result.tickets.results if result.tickets else []:
        if not target.ok:
            echo(f"ticket target {target.name} failed: {'; '.join(target.errors)}", err=True)
    for delivery in result.deliveries:
        if not delivery.ok and delivery.error:
            echo(f"notification {delivery.name} failed: {delivery.error}", err=True)
    sys.exit(result.exit_code)


@schedule.command("status", epilog="Exit status: 0 healthy, 1 stale or no run, 2 bad config.")
@config_option
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json for monitors (next_fire_time in ISO 8601 with its zone).",
)
@logging_options
def status(
    config_path: Path | None, store: str | None, fmt: str, log_format: str | None, verbose: bool
) -> None:
    """Did the nightly scan run? The last run, its age and outcome, the next fire time.

    Exits 0 when the newest complete run is younger than schedule.max_age_hours, 1 when it
    is older, when there is none, or when no store exists yet, so a monitor can alert.
    It only reads, and answers while the daemon scans.
    """
    from scanner.history.database import mask, store_url
    from scanner.schedule.status import schedule_status

    config = setup(config_path, log_format, verbose)
    url = store_url(config, store)
    result = schedule_status(config, url, mask(url), datetime.now(UTC))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_status(result.to_dict())
    sys.exit(0 if result.healthy else 1)


def _print_status(doc: dict[str, object]) -> None:
    word = "healthy" if doc["healthy"] else "STALE"
    click.echo(f"{word}: {doc['reason']}")
    for label, key in (("last run", "last_run"), ("last complete run", "last_complete_run")):
        run = doc[key]
        if isinstance(run, dict):
            click.echo(
                f"{label}: {run['id']} {run['status']} (started {run['started_at']}, "
                f"finished {run['finished_at'] or '-'}, exit {run['exit_code']})"
            )
        else:
            click.echo(f"{label}: none")
    source = "the daemon's job store" if doc["scheduled"] else "config (no daemon has registered)"
    click.echo(f"next fire time: {doc['next_fire_time'] or 'none'} (from {source})")
    click.echo(f"store: {doc['store']}")
