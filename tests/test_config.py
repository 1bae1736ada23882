"""Config validation: every mistake names the file and the line, and nothing is guessed."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import DEFAULT_IAM_ACTIONS, Config, load_config
from scanner.errors import InputError
from scanner.model.finding import Severity

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    cfg = load_config(None)
    assert cfg.regions == []
    assert cfg.fail_on is Severity.LOW
    assert cfg.iam.actions == DEFAULT_IAM_ACTIONS
    assert cfg.output.formats == ["csv", "html", "json"]


def test_shipped_example_config_is_valid() -> None:
    cfg = load_config(REPO / "config.yaml")
    assert cfg.regions == ["us-west-2"]
    assert cfg.collectors.disabled == []


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "# nothing here\n"))
    assert cfg.regions == []


def test_unknown_key_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "regions:\n  - us-west-2\nregoins: [eu-west-1]\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.line == 3
    assert "regoins" in err.value.problem and "unknown key" in err.value.problem


def test_nested_unknown_key_line(tmp_path: Path) -> None:
    path = write(tmp_path, "retries:\n  mode: standard\n  max_atempts: 3\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 3
    assert "retries.max_atempts" in err.value.problem


def test_bad_value_line(tmp_path: Path) -> None:
    path = write(tmp_path, "fail_on: low\nretries:\n  max_attempts: 0\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 3
    assert "max_attempts" in err.value.problem


def test_bad_severity(tmp_path: Path) -> None:
    path = write(tmp_path, "fail_on: urgent\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 1 and "fail_on" in err.value.problem


def test_bad_region_name(tmp_path: Path) -> None:
    path = write(tmp_path, "regions:\n  - us-west-2\n  - uswest2\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert "uswest2" in err.value.problem


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "regions: [us-west-2\nfail_on: low\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line is not None and err.value.column is not None
    assert "invalid YAML" in err.value.problem


def test_duplicate_key_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "fail_on: low\nfail_on: high\n")
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 2 and "duplicate key" in err.value.problem


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_config(write(tmp_path, "- a\n- b\n"))
    assert "mapping" in err.value.problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        load_config(tmp_path / "nope.yaml")
    assert "not found" in err.value.problem


def test_rule_pack_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    sub = tmp_path / "conf"
    sub.mkdir()
    cfg = load_config(write(sub, "rule_packs: [packs/extra.yaml]\n"))
    assert cfg.rule_pack_paths() == [(sub / "packs" / "extra.yaml").resolve()]


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(ValueError):
        cfg.regions = ["x"]  # type: ignore[misc]


def test_unknown_disabled_rule_names_its_line(tmp_path: Path) -> None:
    from scanner.engine import load_config_ruleset

    cfg = load_config(write(tmp_path, "disabled_rules:\n  - notebook-in-vpc\n  - notebok-typo\n"))
    with pytest.raises(InputError) as err:
        load_config_ruleset(cfg)
    assert err.value.line == 3 and "notebok-typo" in err.value.problem


def test_disabled_rule_is_removed(tmp_path: Path) -> None:
    from scanner.engine import load_config_ruleset

    cfg = load_config(write(tmp_path, "disabled_rules: [notebook-in-vpc]\n"))
    ids = load_config_ruleset(cfg).ids
    assert "notebook-in-vpc" not in ids and "notebook-root-access-disabled" in ids


def test_unknown_collector_names_its_line(tmp_path: Path) -> None:
    from scanner.collectors.collect import disabled_collectors

    cfg = load_config(write(tmp_path, "collectors:\n  disabled:\n    - vpc\n    - vpcz\n"))
    with pytest.raises(InputError) as err:
        disabled_collectors(cfg)
    assert err.value.line == 4 and "vpcz" in err.value.problem


def test_a_service_name_disables_all_its_collectors(tmp_path: Path) -> None:
    from scanner.collectors.collect import disabled_collectors

    cfg = load_config(write(tmp_path, "collectors:\n  disabled: [directconnect]\n"))
    assert disabled_collectors(cfg) == {"directconnect-gateway", "directconnect-virtual-interface"}


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("fail_on: low\nregions: !custom us-west-2\n", 2),  # a tag no safe loader knows
        ("fail_on: low\nretries:\n  max_attempts: !!int five\n", 3),  # a tag it cannot honour
        ("fail_on: low\n!custom key: 1\n", 2),  # the same, on a key
    ],
)
def test_value_yaml_cannot_construct_names_its_line(tmp_path: Path, text: str, line: int) -> None:
    """PyYAML composes these fine and fails only when constructing the value; that must be
    an InputError at the line, not a ConstructorError/ValueError traceback."""
    with pytest.raises(InputError) as err:
        load_config(write(tmp_path, text))
    assert err.value.line == line and "invalid YAML" in err.value.problem


JIRA = "    - {name: sec, kind: jira, url: https://x.atlassian.net, project: SEC, token_env: T"


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        (JIRA + "}\n" + JIRA + "}\n", "two targets are named 'sec'"),
        (JIRA + ", token: abc}\n", "token: secrets are never written in the config"),
        (JIRA + ", user: me}\n", "user: secrets are never written in the config"),
        (JIRA + ", labels: [has space]}\n", "Jira labels have no spaces"),
        (
            "    - {name: sec, kind: jira, url: https://x, project: SEC}\n",
            "token_env or token_file",
        ),
        ("    - {name: sec, kind: github, repository: nope, token_env: T}\n", "repository"),
        (
            "    - {name: sec, kind: jira, url: https://u:p@x, project: SEC, token_env: T}\n",
            "credentials in the URL",
        ),
        ("    - {name: hook, kind: webhook, url: https://x}\n", "url: secrets are never"),
        (
            "    - {name: csv, kind: teams}\n",
            "'jira', 'servicenow', 'github', 'webhook', 'jira-csv'",
        ),
    ],
)
def test_ticket_targets_are_checked_at_their_line(
    tmp_path: Path, target: str, problem: str
) -> None:
    path = write(tmp_path, "fail_on: low\ntickets:\n  targets:\n" + target)
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.line in (3, 4)  # the targets list, or the target itself
    assert problem in err.value.problem


def test_a_ticketing_base_url_is_not_a_secret_but_its_token_is(tmp_path: Path) -> None:
    path = write(tmp_path, "tickets:\n  targets:\n" + JIRA + ", user_env: U}\n")
    target = load_config(path).tickets.targets[0]
    assert target.url == "https://x.atlassian.net"
    assert (target.user_env, target.token_env) == ("U", "T")
