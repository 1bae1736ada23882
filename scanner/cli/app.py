"""The one command-line interface: ``scanner`` (also ``python -m scanner``).

Every subcommand takes the same core flags (``--config``, ``--region``, ``--store``,
``--log-format``, ``--verbose``) so a nightly job and a person type the same thing.  User
mistakes end with a one-line message naming the file, line and problem, and exit status 2,
never a traceback.  SIGTERM stops a scan the way Ctrl-C does, so its run is recorded
``interrupted`` in the history store.
"""

from __future__ import annotations

import importlib
import signal
import sys
from types import FrameType

import click

from scanner import __version__, cancel
from scanner.cli.common import EPILOG, echo_block
from scanner.errors import ExitCode, ScannerError

# Subcommand -> (module, attribute).  A command's module is imported only when that command
# runs (or --help lists them all): `scanner runs verify` must not pay for boto3, pandas and
# every report writer, and the nightly job's health check stays cheap.
COMMANDS: dict[str, tuple[str, str]] = {
    "scan": ("scanner.cli.scan", "scan"),
    "collect": ("scanner.cli.scan", "collect"),
    "demo": ("scanner.cli.scan", "demo"),
    "drift": ("scanner.cli.history", "drift"),
    "runs": ("scanner.cli.history", "runs"),
    "baseline": ("scanner.cli.history", "baseline"),
    "evidence": ("scanner.cli.history", "evidence"),
    "report": ("scanner.cli.history", "report"),
    "waivers": ("scanner.cli.history", "waivers"),
    "schedule": ("scanner.cli.schedule", "schedule"),
    "tickets": ("scanner.cli.tickets", "tickets"),
    "rules": ("scanner.cli.tools", "rules"),
    "iam": ("scanner.cli.tools", "iam"),
    "config": ("scanner.cli.config_cmd", "config"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name on first use (click's documented
    lazy-loading pattern), so start-up costs only what the invoked command needs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module, attr = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):  # a wrong table entry, not a user error
            raise TypeError(f"{module}.{attr} is not a click command")
        self.add_command(command, cmd_name)
        return command


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="privatelink-scanner")
def cli() -> None:
    """Prove that SageMaker notebooks are reachable only over AWS PrivateLink.

    \b
    Quick start:
      scanner demo                       scan an embedded demo account (moto)
      scanner scan --region us-west-2    scan the account of your AWS credentials
      scanner drift                      what changed since the previous scan
      scanner report RUN --format xlsx   a stored run's reports, regenerated
      scanner runs list                  every stored run
      scanner schedule --once            one nightly cycle (the daemon: no --once)
      scanner schedule status            did last night's scan run? (exit 1 if stale)
      scanner tickets sync --dry-run     what ticket sync would create, close, reopen
      scanner baseline set --name audit  pin the latest run as a baseline
      scanner collect --output s.json.gz snapshot only (no evaluation)
      scanner scan --snapshot s.json.gz  re-evaluate a stored snapshot offline
      scanner rules list                 the rule catalog
      scanner config check config.yaml   validate a config, print every setting
    """


def _terminate(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM: unwind like Ctrl-C, so the running scan records itself ``interrupted``; the
    stop request also reaches the collector threads, which send no further AWS call."""
    cancel.request(f"signal {signum}")
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Console-script entry point: ScannerErrors become a message and their exit status."""
    signal.signal(signal.SIGTERM, _terminate)
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
        echo_block(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
