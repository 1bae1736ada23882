"""``scanner rules`` and ``scanner iam``: the rule catalog and the IAM evaluator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from scanner.cli.common import config_option
from scanner.config import load_config


@click.group()
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


@click.group()
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
