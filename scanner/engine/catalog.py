"""The rule catalog as Markdown, generated from the rule set itself.

The README embeds this table between markers and a test compares the two, so the
documented catalog can never drift from the rules that actually ship.
"""

from __future__ import annotations

from scanner.engine.rules import RuleSet

START = "<!-- rule-catalog:start -->"
END = "<!-- rule-catalog:end -->"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def catalog_markdown(ruleset: RuleSet) -> str:
    """A Markdown table: id, severity, resource type, what it checks, framework mappings."""
    names = {fw.id: fw.title.split(" (")[0] for fw in ruleset.frameworks}
    lines = [
        f"{len(ruleset.rules)} rules. Framework columns list the requirement ids each rule "
        "supports (definitions with their sources: `rules/frameworks/`).",
        "",
        "| rule | severity | resource | checks | " + " | ".join(names.values()) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for rule in ruleset.rules:
        mapped = [", ".join(rule.frameworks.get(fw, [])) or "-" for fw in names]
        lines.append(
            f"| `{rule.id}` | {rule.severity} | `{rule.resource_type}` | "
            f"{_cell(rule.title)} | " + " | ".join(mapped) + " |"
        )
    return "\n".join(lines)
