"""``scanner config``: check a config before the nightly job trips over it, and its reference.

``config check`` fails on everything a scan (or the scheduler's first cycle) would refuse
before collecting anything: the file itself, rule packs and ``disabled_rules``, collector
names, waivers, the store URL, and the secrets the notify and ticket targets name.  A mistake the
nightly job finds is found at 2 a.m. with nobody watching; found here, it names the file and
line.  It then prints the settings in effect, defaults included, so nobody has to work out
what an absent key means.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import yaml

from scanner.cli.common import config_option, logging_options, setup, store_option
from scanner.config import Config
from scanner.errors import ExitCode, InputError

if TYPE_CHECKING:
    from scanner.secrets import SecretCheck

CHECK_EPILOG = """\b
Exit status:
  0  valid: a scan would start with these settings
  2  not valid: each problem names the file and line (a missing secret names
     its environment variable or file, never a value)

\b
Examples:
  scanner config check config.yaml
  scanner config check config.yaml --format text   # which keys are defaults
  scanner config check config.yaml --format json | jq .settings.schedule
"""


def secret_problems(config: Config, checks: list[SecretCheck]) -> list[InputError]:
    """The checks that failed (what the daemon refuses to start on), each located at its
    target's key in the config file (at the target, for a problem of the whole target)."""
    located = []
    for check in checks:
        if check.problem:
            where: tuple[str | int, ...] = (check.section, "targets", check.index)
            if check.key:
                where = (*where, check.key)
            located.append(config.error_at(check.problem, *where))
    return located


def check_secrets_or_fail(
    config: Config, sections: tuple[str, ...] | None = None, targets: tuple[str, ...] = ()
) -> None:
    """Refuse to start when a target's secret cannot be read: better now than at 02:00
    with nobody watching.  The first problem is the error, at its file and line
    (``scanner config check`` lists them all).  ``sections`` and ``targets`` narrow the check
    to what the command will use."""
    from scanner.secrets import secret_checks

    checks = [
        c
        for c in secret_checks(config)
        if (sections is None or c.section in sections) and (not targets or c.target in targets)
    ]
    problems = secret_problems(config, checks)
    if len(problems) > 1:
        click.echo(f"{len(problems)} secret problems; the others:", err=True)
        for problem in problems[1:]:
            click.echo(f"  {problem}", err=True)
    if problems:
        raise problems[0]


@click.group("config")
def config() -> None:
    """Validate a config file and show the settings it leads to.

    \b
      scanner config check config.yaml   validate it, print every effective setting
      scanner config reference           every key, its type, default and meaning
    """


@config.command("check", epilog=CHECK_EPILOG)
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "text", "json"]),
    default="yaml",
    show_default=True,
    help="yaml: the effective settings as a config file would spell them; text: one "
    "'key value' line per setting, marking the defaults; json: for scripts "
    "(settings, secrets, problems).",
)
@logging_options
def check(
    file: Path | None,
    config_path: Path | None,
    store: str | None,
    fmt: str,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Check FILE as a scan would, then print the settings in effect.

    FILE is the config to check (the same as --config). Without one, the defaults are
    checked: what every command uses when given no --config (a config.yaml in the current
    directory is not read implicitly, by this command or any other).

    Besides the file itself this loads the rule packs and checks disabled_rules, collector
    names, waivers (waivers_file too) and the store URL (--store or SCANNER_STORE, else
    store.url, else <output.dir>/history.db; shown with any password masked). Every secret a
    notify or ticket target names must be usable, as the scheduler requires at start-up: each *_env
    variable set, each *_file readable, neither empty, a webhook URL http(s). They are
    reported by variable or file name, and their values are never printed.
    """
    from scanner.collectors.collect import disabled_collectors
    from scanner.configdoc import effective_settings, explicit_keys, settings_text
    from scanner.engine import load_config_ruleset
    from scanner.history.database import mask, parse_url, store_url
    from scanner.secrets import secret_checks

    if file is not None and config_path is not None and file != config_path:
        raise click.UsageError("give the config as FILE or as --config, not both")
    path = file or config_path
    if path is None and Path("config.yaml").is_file():
        click.echo(
            "note: checking the defaults; ./config.yaml is only used when named: "
            "scanner config check config.yaml",
            err=True,
        )
    cfg = setup(path, log_format, verbose)
    ruleset = load_config_ruleset(cfg)
    disabled_collectors(cfg)
    waivers = cfg.all_waivers()
    url = mask(parse_url(store_url(cfg, store)))
    refs = secret_checks(cfg)
    problems = secret_problems(cfg, refs)
    shown: dict[tuple[str | int, ...], str] = {
        (r.section, "targets", r.index, r.reference_key): f"{r.reference} ({r.status})"
        for r in refs
    }

    source = str(path) if path else "<defaults>"
    if fmt == "json":
        document = {
            "file": str(path) if path else None,
            "valid": not problems,
            "problems": [str(p) for p in problems],
            "rules": len(ruleset.rules),
            "waivers": len(waivers),
            "settings": effective_settings(cfg, url),
            "secrets": [
                {
                    "key": f"{r.section}.targets.{r.index}.{r.reference_key}",
                    "target": r.target,
                    "reference": r.reference,
                    "status": r.status,
                }
                for r in refs
            ],
        }
        click.echo(json.dumps(document, indent=2))
    elif fmt == "text":
        explicit = explicit_keys(cfg)
        notes = {"store.url": "--store / SCANNER_STORE"} if store else {}
        settings = effective_settings(cfg, url, shown)
        click.echo(settings_text(settings, explicit, notes))
    else:
        settings = effective_settings(cfg, url, shown)
        click.echo(f"# effective settings of {source}, defaults included")
        click.echo(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True), nl=False)

    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        click.echo(f"{source}: not valid: {len(problems)} secret problem(s)", err=True)
        sys.exit(int(ExitCode.USAGE))
    click.echo(
        f"{source}: valid ({len(ruleset.rules)} rules, {len(waivers)} waiver(s), "
        f"{len(cfg.notify.targets)} notify target(s), {len(cfg.tickets.targets)} ticket "
        "target(s))",
        err=True,
    )


@config.command("reference")
def reference() -> None:
    """Print the configuration reference as Markdown: every key, its type and limits, its
    default and its meaning, generated from the config model itself.

    The README's Configuration table is this output pasted between its
    config-reference markers; a test fails when the two differ.
    """
    from scanner.configdoc import reference_markdown

    click.echo(reference_markdown())
