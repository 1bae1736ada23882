"""``scanner tickets``: push findings into ticketing systems and show the ledger.

``sync`` is the only command that changes anything outside this machine besides a
notification, and it changes only tickets: never the AWS account.  It reads a stored run
(the scan is not repeated), so it can be re-run, dry-run or run later against any run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scanner.cli.common import (
    config_option,
    echo,
    format_option,
    logging_options,
    setup,
    store_option,
)
from scanner.cli.history import open_store
from scanner.errors import ExitCode

if TYPE_CHECKING:
    from scanner.tickets.sync import SyncReport

SYNC_EPILOG = """\b
Exit status:
  0  every target synced (or, with --dry-run, was planned)
  2  usage or configuration error (a bad config, an unknown --target, no such run)
  3  a target failed (named on stderr): the ledger stays consistent and the next
     sync catches up

\b
Examples:
  scanner tickets sync --config config.yaml --dry-run     what it would do
  scanner tickets sync --config config.yaml               sync the latest run
  scanner tickets sync --config config.yaml --target sec-jira --run 20261201T0200
  scanner tickets list --config config.yaml --state open
"""


@click.group("tickets")
def tickets() -> None:
    """Findings into Jira, ServiceNow, GitHub Issues, webhooks or a Jira CSV file.

    One ticket per problem (per finding, or per rule per account with
    tickets.group_by: rule-account), never a duplicate: the ledger in the history store
    remembers each problem's ticket. A resolved problem's ticket is commented on and
    closed, a problem that comes back reopens the same ticket, an ERROR never closes one.
    Configure targets under `tickets:` (README, "Tickets"); the nightly job syncs after
    each scan.
    """


@tickets.command("sync", epilog=SYNC_EPILOG)
@config_option
@store_option
@click.option(
    "--run",
    "run_ref",
    default=None,
    metavar="RUN",
    help="Run id (or unique prefix) or baseline name to sync to. Default: the latest finished run.",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="NAME",
    help="Sync only this target (repeat for several). Default: every target.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="List each create, update, close and reopen it would make (ticket, rule, "
    "resource) from the run and the ledger alone: nothing is sent, nothing is written.",
)
@format_option(["text", "json"], "text")
@logging_options
def sync_cmd(
    config_path: Path | None,
    store: str | None,
    run_ref: str | None,
    targets: tuple[str, ...],
    dry_run: bool,
    fmt: str,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Make each target's tickets match a stored run."""
    from scanner.cli.config_cmd import check_secrets_or_fail
    from scanner.tickets import sync

    config = setup(config_path, log_format, verbose)
    if not config.tickets.targets:
        raise click.UsageError(
            "no ticket targets configured: add a `tickets:` section (README, Tickets)"
        )
    if not dry_run:
        check_secrets_or_fail(config, sections=("tickets",), targets=targets)
    with open_store(config, store) as st, st.writing(config.store.lock, config.store.lock_timeout):
        report = sync(config, st, run_ref=run_ref, target_names=targets, dry_run=dry_run)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
    failed = [r.name for r in report.results if not r.ok]
    if failed:
        echo(f"ticket sync failed for: {', '.join(failed)}", err=True)
        sys.exit(int(ExitCode.INCOMPLETE))


def _print(report: SyncReport) -> None:
    verb = "would sync" if report.dry_run else "synced"
    echo(f"run {report.run_id}: {verb} {len(report.results)} target(s)")
    for result in report.results:
        state = "ok" if result.ok else "FAILED"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items()) if v) or "nothing"
        click.echo()
        echo(f"{result.name} ({result.kind}): {state}; {counts}")
        for action in result.actions:
            if action["action"] == "wait" and not report.dry_run:
                continue
            where = action["resource_id"] or f"account {action['account_id']}"
            outcome = "" if report.dry_run else f" [{action['outcome']}]"
            echo(
                f"  {action['action']:<16} {action['ticket'] or '-':<14} "
                f"{action['rule_id']}  {where}  ({action['reason']}){outcome}"
            )
        for error in result.errors:
            echo(f"  error: {error}", err=True)


@tickets.command("list")
@config_option
@store_option
@click.option("--target", "target", default=None, metavar="NAME", help="Only this target.")
@click.option(
    "--state",
    type=click.Choice(["creating", "open", "closed"]),
    default=None,
    help="Only tickets in this state (creating: a create whose outcome is not known yet).",
)
@format_option(["table", "json"], "table")
def list_cmd(
    config_path: Path | None, store: str | None, target: str | None, state: str | None, fmt: str
) -> None:
    """The ticket ledger: each problem's ticket per target, and its state."""
    from scanner.config import load_config
    from scanner.tickets.ledger import all_rows

    config = load_config(config_path)
    with open_store(config, store) as st:
        rows = [r for r in all_rows(st, target) if state is None or r.state == state]
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    for r in rows:
        key = r.ticket.key if r.ticket else "-"
        where = r.remembered.resource_id or f"account {r.remembered.account_id}"
        error = f"  last error: {r.last_error}" if r.last_error else ""
        echo(f"{r.target:<14} {r.state:<9} {key:<14} {r.remembered.rule_id}  {where}{error}")
    click.echo(f"{len(rows)} ticket(s)", err=True)
