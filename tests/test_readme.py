"""The README stays true: its rule catalog is the shipped rule set, its commands exist.

Its configuration reference is tested in test_config_reference.py."""

from __future__ import annotations

import json

from scanner.engine import load_ruleset
from scanner.engine.catalog import END, START, catalog_markdown
from tests.clikit import run_cli
from tests.readmekit import README, replace_marked


def test_readme_rule_catalog_matches_the_shipped_rules() -> None:
    text = README.read_text()
    expected = replace_marked(text, START, END, catalog_markdown(load_ruleset()))
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
