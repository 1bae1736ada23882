"""Bad rule packs: each problem is an InputError naming the file and the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.engine import load_ruleset
from scanner.errors import InputError

GOOD = """\
rules:
  - id: my-rule
    title: t
    description: d
    severity: low
    resource_type: sagemaker:notebook-instance
    check:
      jmespath: RootAccess
      on_missing: {assume: Enabled, because: AWS default}
      pass_when: "@ == 'Disabled'"
    remediation: {text: fix, cli: aws sagemaker update-notebook-instance}
    references: [https://docs.aws.amazon.com/sagemaker/]
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> InputError:
    with pytest.raises(InputError) as exc:
        load_ruleset([write(tmp_path, text)])
    return exc.value


def test_good_pack_loads_next_to_the_shipped_ones(tmp_path: Path) -> None:
    rs = load_ruleset([write(tmp_path, GOOD)])
    rule = rs.get("my-rule")
    assert rule is not None and rule.source.endswith("pack.yaml") and rule.line == 2
    assert rs.get("notebook-in-vpc") is not None


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("    title: t\n", "    title: t\n    colour: red\n", 4, "unknown key"),
        ("pass_when: \"@ == 'Disabled'\"", 'pass_when: "@ == "', 10, "bad jmespath"),
        ("jmespath: RootAccess", "jmespath: lowr(RootAccess)", 8, "unknown function"),
        ("sagemaker:notebook-instance", "sagemaker:notebook", 6, "unknown resource type"),
        ("severity: low", "severity: urgent", 5, "severity"),
        ("      on_missing: {assume: Enabled, because: AWS default}\n", "", 7, "on_missing"),
        (
            "on_missing: {assume: Enabled, because: AWS default}",
            "on_missing: {assume: Enabled}",
            9,
            "because",
        ),
        (
            "on_missing: {assume: Enabled, because: AWS default}",
            "on_missing: {assume: x, status: FAIL, because: y}",
            9,
            "exactly one",
        ),
        (
            "references: [https://docs.aws.amazon.com/sagemaker/]",
            "references: []",
            12,
            "references",
        ),
        (
            "remediation: {text: fix, cli: aws sagemaker update-notebook-instance}",
            "remediation: {text: fix}",
            11,
            "cli",
        ),
        ("  - id: my-rule", "  - id: My_Rule", 2, "id"),
    ],
)
def test_bad_pack_names_file_and_line(
    tmp_path: Path, old: str, new: str, line: int, words: str
) -> None:
    assert old in GOOD
    err = error_for(tmp_path, GOOD.replace(old, new))
    assert err.path is not None and err.path.endswith("pack.yaml")
    assert err.line == line
    assert words in err.problem


def test_unknown_builtin(tmp_path: Path) -> None:
    text = GOOD.replace(
        "      jmespath: RootAccess\n      on_missing: {assume: Enabled, because: AWS default}\n"
        "      pass_when: \"@ == 'Disabled'\"\n",
        "      builtin: no_such_check\n",
    )
    err = error_for(tmp_path, text)
    assert (err.line, "unknown builtin" in err.problem) == (8, True)


def test_builtin_and_jmespath_together_rejected(tmp_path: Path) -> None:
    text = GOOD.replace(
        "      jmespath: RootAccess\n",
        "      jmespath: RootAccess\n      builtin: vpc_dns_attributes\n",
    )
    err = error_for(tmp_path, text)
    assert "cannot also set" in err.problem and err.line == 7


def test_duplicate_id_within_and_across_packs(tmp_path: Path) -> None:
    twice = GOOD + GOOD.replace("rules:\n", "")
    err = error_for(tmp_path, twice)
    assert err.line == 13 and "duplicate rule id 'my-rule'" in err.problem

    shipped = GOOD.replace("id: my-rule", "id: notebook-in-vpc")
    err = error_for(tmp_path, shipped)
    assert err.line == 2 and "privatelink.yaml" in err.problem


def test_unknown_requires_type(tmp_path: Path) -> None:
    err = error_for(
        tmp_path,
        GOOD.replace("    severity: low\n", "    severity: low\n    requires: [ec2:vpcs]\n"),
    )
    assert err.line == 6 and "ec2:vpcs" in err.problem


def test_not_a_mapping_and_invalid_yaml(tmp_path: Path) -> None:
    assert "mapping" in error_for(tmp_path, "- a\n- b\n").problem
    err = error_for(tmp_path, "rules: [\n")
    assert err.line is not None and "invalid YAML" in err.problem


def test_unknown_disabled_rule_id_is_an_error() -> None:
    with pytest.raises(InputError, match="nope"):
        load_ruleset(disabled=["nope"])


def test_missing_pack_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        load_ruleset([tmp_path / "absent.yaml"])
