"""Flags and setup shared by every subcommand, so a nightly job and a person type the same.

Every command that reads or writes history takes ``--store URL`` (or ``SCANNER_STORE``);
without it, config ``store.url``, else ``<output.dir>/history.db`` relative to the current
directory, so ``scanner scan`` then ``scanner drift`` work with no config file.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scanner.config import ALL_FORMATS, DEFAULT_FORMATS, Config, load_config
from scanner.inert import block_text, one_line
from scanner.model.finding import Severity
from scanner.progress import LogProgress, NullProgress, Progress, RichProgress

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


def echo(text: str, *, err: bool = False) -> None:
    """``click.echo`` of one line that carries data (resource ids, messages, errors from AWS or
    a ticket tracker): escape sequences, control characters and newlines from the data are
    made inert (:func:`scanner.inert.one_line`), so a tag cannot recolour, retitle or clear
    the terminal, or forge a line of a listing that someone greps."""
    click.echo(one_line(text), err=err)


def echo_block(text: str, *, err: bool = False) -> None:
    """:func:`echo` for text whose newlines are meant (an error naming several problems)."""
    click.echo(block_text(text), err=err)


def shown(value: object) -> str:
    """A data value for ``rich`` output with markup on: inert as for :func:`echo`, and its
    square brackets escaped, so a tag ``[bold red]`` or ``[link=...]`` prints as typed
    instead of being read as rich markup."""
    from rich.markup import escape

    return escape(one_line(str(value)))


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


def formats_option(func: F) -> F:
    """``--format LIST``: the report formats of ``scanner scan`` and ``scanner report``."""
    return click.option(
        "--format",
        "formats",
        default=None,
        metavar="LIST",
        help=f"Comma-separated report formats: {','.join(ALL_FORMATS)} "
        f"(default: config output.formats, else {','.join(DEFAULT_FORMATS)}).",
    )(func)


def report_options(func: F) -> F:
    func = click.option(
        "--output",
        "output_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Directory for reports; each run writes DIR/<run-id>/. Default: config output.dir.",
    )(func)
    func = formats_option(func)
    return click.option(
        "--fail-on",
        type=click.Choice(SEVERITIES, case_sensitive=False),
        default=None,
        help="Lowest severity whose FAIL makes the exit status 1 (default: low).",
    )(func)


def setup(config_path: Path | None, log_format: str | None, verbose: bool) -> Config:
    from scanner.logs import setup_logging

    setup_logging(log_format or "text", verbose)
    config = load_config(config_path)
    if log_format is not None:
        # The flag wins over the file; everything after reads config.log_format only.
        config = config.model_copy(update={"log_format": log_format})
    setup_logging(config.log_format, verbose, config.log_level)
    return config


def progress_for(config: Config) -> Progress:
    if config.log_format == "json":
        return LogProgress()
    if sys.stderr.isatty():
        return RichProgress()
    return NullProgress()


def store_option(func: F) -> F:
    return click.option(
        "--store",
        "store",
        default=None,
        metavar="URL",
        envvar="SCANNER_STORE",
        help="History store URL (sqlite:///PATH or postgresql+psycopg://...). "
        "Default: config store.url, else <output.dir>/history.db. Env: SCANNER_STORE.",
    )(func)


def format_option(choices: list[str], default: str) -> Callable[[F], F]:
    """``--format`` for listing commands (table for people, json for scripts)."""

    def deco(func: F) -> F:
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help="Output format.",
        )(func)

    return deco


def output_file_option(help_text: str) -> Callable[[F], F]:
    """A required ``--output FILE`` (a snapshot, an evidence pack)."""

    def deco(func: F) -> F:
        return click.option(
            "--output",
            "output",
            type=click.Path(dir_okay=False, path_type=Path),
            required=True,
            help=help_text,
        )(func)

    return deco
