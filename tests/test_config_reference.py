"""The configuration reference is the model, and ``scanner config check`` checks what a scan
would: the README table cannot drift from the keys the scanner accepts, and a config that
would fail at 3 a.m. fails here first, naming file and line, never printing a secret."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from pydantic import BaseModel, Field

from scanner.config import Config, load_config
from scanner.configdoc import END, START, reference_markdown
from scanner.errors import InputError
from tests.clikit import run_cli
from tests.readmekit import replace_marked

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FAKE_SECRET = "https://hooks.example.invalid/services/T000/B000/sEcReT-9f8e7d6c"
UNSET_VAR = "SCANNER_TEST_HOOK_NEVER_SET_3B7F"


def _section() -> str:
    return README.read_text().split("## Configuration\n", 1)[1].split("\n## ", 1)[0]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models inside ``list[...]``, ``Annotated[...]`` and unions (this test's own walk,
    independent of the one in scanner.configdoc it checks)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _keys(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """``(table, key)`` for every key a user can write: table ``""`` is the main table with
    dotted keys; an entry of a list of mappings is in table ``list_key`` or
    ``list_key/kind``."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        key = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _keys(ann, f"{key}.")
            continue
        out.append(("", key))
        for item in _models_in(ann):
            kind = item.model_fields.get("kind")
            table = f"{key}/{get_args(kind.annotation)[0]}" if kind else key
            out += [(table, sub) for _, sub in _keys(item)]
    return out


def _all_models(model: type[BaseModel], seen: list[type[BaseModel]]) -> list[type[BaseModel]]:
    if model not in seen:
        seen.append(model)
        for info in model.model_fields.values():
            for inner in _models_in(info.annotation):
                _all_models(inner, seen)
    return seen


def _undescribed(model: type[BaseModel]) -> list[str]:
    return [
        f"{m.__name__}.{name}"
        for m in _all_models(model, [])
        for name, info in m.model_fields.items()
        if not (info.description or "").strip()
    ]


def _tables(section: str) -> dict[str, str]:
    """The reference's tables by ``list_key`` / ``list_key/kind`` (main table: ``""``)."""
    body = section.split(START, 1)[1].split(END, 1)[0]
    tables = {"": body.split("\nEach entry of ", 1)[0]}
    for block in body.split("\nEach entry of ")[1:]:
        heading = block.split("\n", 1)[0]
        match = re.match(r"`([^`]+)`(?: with `kind: ([\w-]+)`)?:", heading)
        assert match, heading
        list_key, kind = match.groups()
        tables[f"{list_key}/{kind}" if kind else list_key] = block
    return tables


# -- the reference ----------------------------------------------------------------------------


def test_readme_configuration_reference_is_generated_from_the_model() -> None:
    text = README.read_text()
    assert START in _section() and END in _section()
    assert text == replace_marked(text, START, END, reference_markdown()), (
        "README configuration reference is stale: regenerate with "
        "`.venv/bin/scanner config reference` and paste it between the config-reference markers"
    )


def test_every_key_of_the_model_is_in_its_reference_table() -> None:
    keys = _keys(Config)
    # The walk reaches nested models, list entries and each kind of notify and ticket target.
    for expected in [
        ("", "store.lock"),
        ("", "schedule.cron"),
        ("", "notify.targets"),
        ("notify.targets/webhook", "url_env"),
        ("notify.targets/smtp", "password_file"),
        ("", "tickets.group_by"),
        ("tickets.targets/jira", "reopen_transition"),
        ("tickets.targets/servicenow", "close_code"),
        ("tickets.targets/github", "repository"),
        ("tickets.targets/jira-csv", "dir"),
        ("waivers", "expires"),
    ]:
        assert expected in keys
    tables = _tables(_section())
    missing = [
        f"{table}: {key}"
        for table, key in keys
        if f"\n| `{key}` |" not in "\n" + tables.get(table, "")
    ]
    assert missing == [], f"configuration keys missing from the README reference: {missing}"


def test_every_config_field_has_a_description() -> None:
    """A field added without ``Field(description=...)`` fails here: the reference would show
    a key nobody explained."""
    models = _all_models(Config, [])
    assert {"SmtpTarget", "WebhookTarget", "Waiver", "ScheduleConfig", "JiraTarget"} <= {
        m.__name__ for m in models
    }
    assert _undescribed(Config) == []


def test_the_description_check_catches_a_field_without_one() -> None:
    class Inner(BaseModel):
        said: int = Field(default=1, description="explained")
        unsaid: int = 2

    class Outer(BaseModel):
        items: list[Inner] = Field(default_factory=list, description="explained")

    assert _undescribed(Outer) == ["Inner.unsaid"]


def test_reference_shows_types_defaults_and_limits() -> None:
    tables = _tables(reference_markdown().join(["\n" + START + "\n", "\n" + END]))

    def row(table: str, key: str) -> str:
        return next(line for line in tables[table].splitlines() if line.startswith(f"| `{key}` |"))

    assert "| integer, 1 to 20 | `5` |" in row("", "retries.max_attempts")
    assert "| one of `standard`, `adaptive` | `adaptive` |" in row("", "retries.mode")
    assert '| `"0 2 * * *"` |' in row("", "schedule.cron")
    assert "| none |" in row("", "store.url")
    assert "| `[csv, html, json]` |" in row("", "output.formats")
    assert "| `[]` |" in row("", "notify.targets")
    assert "| `low` |" in row("", "fail_on")
    assert "| integer, 1 to 65535 | `587` |" in row("notify.targets/smtp", "port")
    assert "| required |" in row("notify.targets/smtp", "host")
    assert "| `webhook` | required |" in row("notify.targets/webhook", "kind")
    assert "| date (YYYY-MM-DD) | required |" in row("waivers", "expires")
    assert "base_dir" not in reference_markdown()  # internal, never written by a user
    assert reference_markdown() == reference_markdown()


def test_config_reference_command_prints_the_reference() -> None:
    proc = run_cli("config", "reference")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == reference_markdown() + "\n"


def test_example_config_blocks_are_valid_once_uncommented(tmp_path: Path) -> None:
    """config.yaml's commented log_level/schedule/notify/tickets/organization/executor
    examples are what a user pastes."""
    text = (REPO / "config.yaml").read_text()
    start, end = text.index("# log_level:"), text.index("# History:")
    block = [
        line[2:]
        if re.match(r"# (log_level|schedule|notify|tickets|organization|executor|  )", line)
        else line
        for line in text[start:end].splitlines()
    ]
    path = tmp_path / "config.yaml"
    path.write_text(text[:start] + "\n".join(block) + "\n" + text[end:])
    config = load_config(path)
    assert config.schedule.metrics_file is not None
    assert [t.kind for t in config.notify.targets] == ["webhook", "smtp"]
    assert [t.kind for t in config.tickets.targets] == ["jira"]
    assert config.organization.discover and config.organization.include_ous
    assert config.executor.kind == "dask"
    shipped = load_config(REPO / "config.yaml")  # as shipped: commented out
    assert shipped.notify.targets == [] and shipped.tickets.targets == []
    assert not shipped.organization.discover and shipped.executor.kind == "local"


# -- discriminated-union locations ----------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_a_notify_target_error_is_located_at_the_target_not_at_its_tag(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "regions: [us-west-2]\nnotify:\n  targets:\n"
        "    - {kind: smtp, name: m, host: h, sender: a@b, to: [x], password: hunter2}\n",
    )
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 4
    assert err.value.problem.startswith("notify.targets.0: ")
    assert "password_env" in err.value.problem and "hunter2" not in err.value.problem


def test_a_missing_target_key_keeps_its_name(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "notify:\n  targets:\n    - name: ok\n      kind: webhook\n      url_env: X\n"
        "    - name: m\n      kind: smtp\n      sender: a@b\n      to: [x]\n",
    )
    with pytest.raises(InputError) as err:
        load_config(path)
    assert err.value.line == 6
    assert err.value.problem.startswith("notify.targets.1.host: Field required")


# -- scanner config check ---------------------------------------------------------------------


def _clean_usage_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in proc.stderr, proc.stderr


def test_check_the_shipped_config_prints_effective_settings() -> None:
    proc = run_cli("config", "check", str(REPO / "config.yaml"))
    assert proc.returncode == 0, proc.stderr
    settings = yaml.safe_load(proc.stdout)
    assert settings["regions"] == ["us-west-2"]  # set by the file
    assert settings["schedule"]["cron"] == "0 2 * * *"  # a default it never mentions
    assert settings["store"]["url"] == "sqlite:///reports/history.db"  # resolved
    assert "valid" in proc.stderr and "not valid" not in proc.stderr


def test_check_text_marks_what_the_file_leaves_to_the_defaults() -> None:
    proc = run_cli("config", "check", str(REPO / "config.yaml"), "--format", "text")
    assert proc.returncode == 0, proc.stderr
    lines = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert lines["schedule.cron"].endswith('"0 2 * * *"  (default)')
    assert lines["regions"].endswith('["us-west-2"]')


def test_check_without_file_checks_the_defaults(tmp_path: Path) -> None:
    """Like every command without --config: a config.yaml lying in the directory is not read,
    and the note says how to check it."""
    (tmp_path / "config.yaml").write_text("regions: [eu-west-1]\n")
    proc = run_cli("config", "check", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load(proc.stdout)["regions"] == []
    assert "scanner config check config.yaml" in proc.stderr


def test_check_bad_config_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "regions: [us-west-2]\nschedule:\n  cron: '0 2 * *'\n")
    proc = run_cli("config", "check", str(path))
    _clean_usage_error(proc, f"{path}:3", "schedule.cron")
    assert proc.stdout == ""


def test_check_unknown_disabled_rule(tmp_path: Path) -> None:
    path = _write(tmp_path, "disabled_rules:\n  - notebook-in-vpc\n  - notebok-typo\n")
    proc = run_cli("config", "check", str(path))
    _clean_usage_error(proc, f"{path}:3", "notebok-typo")


def test_check_unknown_collector_and_bad_store_url(tmp_path: Path) -> None:
    path = _write(tmp_path, "collectors:\n  disabled: [vpcz]\n")
    _clean_usage_error(run_cli("config", "check", str(path)), f"{path}:2", "vpcz")
    path = _write(tmp_path, "store:\n  url: 'mysql://u:pw0rd@h/db'\n")
    proc = run_cli("config", "check", str(path))
    _clean_usage_error(proc, "store.url", "only sqlite")
    assert "pw0rd" not in proc.stderr


def _webhook_config(tmp_path: Path, var: str, extra: str = "") -> Path:
    return _write(
        tmp_path,
        "regions: [us-west-2]\nstore:\n  url: postgresql://scanner:db-pw-77@db:5432/c\n"
        f"notify:\n  targets:\n    - name: hook\n      kind: webhook\n      url_env: {var}\n{extra}",
    )


def test_check_missing_secrets_are_named(tmp_path: Path) -> None:
    path = _webhook_config(tmp_path, UNSET_VAR, "      secret_file: signing.key\n")
    proc = run_cli("config", "check", str(path))
    _clean_usage_error(
        proc,
        f"{path}:8: notify.targets.0.url_env: environment variable {UNSET_VAR} is not set",
        f"{path}:9: notify.targets.0.secret_file: cannot read {tmp_path / 'signing.key'}",
    )
    assert f"url_env: {UNSET_VAR} (NOT SET)" in proc.stdout
    assert "secret_file: signing.key (NOT READABLE)" in proc.stdout


def test_check_present_secrets_pass_and_are_never_printed(tmp_path: Path) -> None:
    (tmp_path / "signing.key").write_text("signing-key-value-5a5a\n")
    path = _webhook_config(tmp_path, "SCANNER_TEST_HOOK", "      secret_file: signing.key\n")
    env = {"SCANNER_TEST_HOOK": FAKE_SECRET}
    for fmt in ("yaml", "text", "json"):
        proc = run_cli("config", "check", str(path), "--format", fmt, env=env)
        assert proc.returncode == 0, (fmt, proc.stderr)
        output = proc.stdout + proc.stderr
        for secret in (FAKE_SECRET, "sEcReT", "signing-key-value", "db-pw-77"):
            assert secret not in output, (fmt, secret)
        assert "SCANNER_TEST_HOOK" in proc.stdout
    assert (
        "url_env: SCANNER_TEST_HOOK (set)" in run_cli("config", "check", str(path), env=env).stdout
    )


def test_check_json_is_machine_readable(tmp_path: Path) -> None:
    path = _webhook_config(tmp_path, UNSET_VAR)
    proc = run_cli("config", "check", str(path), "--format", "json")
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    assert doc["valid"] is False and doc["file"] == str(path)
    assert doc["settings"]["schedule"]["cron"] == "0 2 * * *"
    assert doc["settings"]["store"]["url"] == "postgresql+psycopg://scanner:***@db:5432/c"
    assert doc["secrets"] == [
        {
            "key": "notify.targets.0.url_env",
            "target": "hook",
            "reference": UNSET_VAR,
            "status": "NOT SET",
        }
    ]
    assert len(doc["problems"]) == 1 and UNSET_VAR in doc["problems"][0]
    ok = run_cli("config", "check", str(path), "--format", "json", env={UNSET_VAR: FAKE_SECRET})
    assert ok.returncode == 0 and json.loads(ok.stdout)["valid"] is True


def test_check_an_empty_or_unusable_secret_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "empty.key").write_text("")
    path = _webhook_config(tmp_path, "SCANNER_TEST_HOOK", "      secret_file: empty.key\n")
    proc = run_cli("config", "check", str(path), env={"SCANNER_TEST_HOOK": "not-a-url"})
    _clean_usage_error(
        proc,
        f"{path}:6: notify.targets.0: the webhook URL from SCANNER_TEST_HOOK is not an http",
        f"{path}:9: notify.targets.0.secret_file: {tmp_path / 'empty.key'} is empty",
    )
    assert "not-a-url" not in proc.stdout + proc.stderr
    assert "secret_file: empty.key (EMPTY)" in proc.stdout
    proc = run_cli("config", "check", str(path), env={"SCANNER_TEST_HOOK": " "})
    _clean_usage_error(proc, "environment variable SCANNER_TEST_HOOK is empty")
    assert "url_env: SCANNER_TEST_HOOK (EMPTY)" in proc.stdout


def test_config_commands_are_in_the_help() -> None:
    top = run_cli("--help")
    assert top.returncode == 0 and "scanner config check" in top.stdout
    proc = run_cli("config", "check", "--help")
    assert proc.returncode == 0
    for word in ("FILE", "--format", "Exit status", "never printed"):
        assert word in proc.stdout
