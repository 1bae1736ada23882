"""The README stays true: its rule catalog is the shipped rule set, its commands exist."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from scanner.config import Config
from scanner.engine import load_ruleset
from scanner.engine.catalog import END, START, catalog_markdown, replace_catalog
from tests.clikit import run_cli

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_rule_catalog_matches_the_shipped_rules() -> None:
    text = README.read_text()
    expected = replace_catalog(text, catalog_markdown(load_ruleset()))
    assert text == expected, (
        "README rule catalog is stale: regenerate with "
        "`.venv/bin/scanner rules list --format markdown` and paste it between the markers"
    )
    assert START in text and END in text


def test_every_shipped_rule_id_is_in_the_readme() -> None:
    text = README.read_text()
    for rule in load_ruleset().rules:
        assert f"`{rule.id}`" in text


def test_rules_list_json_and_markdown() -> None:
    proc = run_cli("rules", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["id"]: row for row in json.loads(proc.stdout)}
    assert rows["notebook-direct-internet-access-disabled"]["check"] == "jmespath"
    assert rows["endpoint-policy-restricted"]["check"].startswith("builtin:")
    md = run_cli("rules", "list", "--format", "markdown")
    assert md.returncode == 0 and "| `notebook-in-vpc` |" in md.stdout


def test_quickstart_is_two_make_targets() -> None:
    text = README.read_text()
    assert "make demo" in text and "make test" in text
    makefile = (README.parent / "Makefile").read_text()
    assert "\ndemo:" in makefile and "\ntest:" in makefile


def _config_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += _config_keys(ann, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_config_key_is_in_the_readme_configuration_table() -> None:
    table = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    keys = _config_keys(Config)
    assert "store.lock" in keys and "waivers" in keys  # the walk itself reaches nested keys
    missing = [
        k for k in keys if f"`{k}`" not in table and f"`{k.rsplit('.', 1)[-1]}`" not in table
    ]
    assert missing == [], f"configuration keys missing from the README table: {missing}"
