"""Bad input ends with one clear line naming file and line, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

from tests.clikit import run_cli


def assert_clean_usage_error(proc: object, *needles: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)  # type: ignore[attr-defined]
    err: str = proc.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


def test_help_teaches_the_commands() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for word in ("scan", "collect", "demo", "rules", "iam", "Exit status"):
        assert word in proc.stdout


def test_scan_help_lists_flags() -> None:
    proc = run_cli("scan", "--help")
    assert proc.returncode == 0
    for flag in (
        "--config",
        "--region",
        "--output",
        "--format",
        "--fail-on",
        "--snapshot",
        "--log-format",
    ):
        assert flag in proc.stdout


def test_unknown_config_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("regions: [us-west-2]\nfail_onn: high\n")
    proc = run_cli("scan", "--config", str(cfg))
    assert_clean_usage_error(proc, f"{cfg}:2", "fail_onn", "unknown key")


def test_yaml_syntax_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("regions: [us-west-2\n")
    proc = run_cli("scan", "--config", str(cfg))
    assert_clean_usage_error(proc, str(cfg), "invalid YAML")


def test_unknown_format() -> None:
    proc = run_cli("scan", "--format", "pdf", "--snapshot", __file__)
    assert_clean_usage_error(proc, "pdf")


def test_bad_fail_on() -> None:
    proc = run_cli("scan", "--fail-on", "urgent")
    assert_clean_usage_error(proc, "urgent")


def test_snapshot_that_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "snap.json"
    bad.write_text("{\n  nope\n}\n")
    proc = run_cli("scan", "--snapshot", str(bad), "--output", str(tmp_path / "out"))
    assert_clean_usage_error(proc, f"{bad}:2")


def test_bad_rule_pack_in_config(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text("rules:\n  - id: my-rule\n    titel: oops\n")
    cfg = tmp_path / "config.yaml"
    cfg.write_text("rule_packs: [pack.yaml]\n")
    proc = run_cli("rules", "list", "--config", str(cfg))
    assert_clean_usage_error(proc, str(pack))
