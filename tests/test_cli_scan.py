"""The real CLI end to end against moto's server: exit statuses, reports, offline replay."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from scanner.demo.server import MotoServer, free_port
from tests.clikit import run_cli
from tests.faultproxy import ACCESS_DENIED, FaultProxy
from tests.scenariokit import NB, build_baseline

CONFIG = """\
regions: [us-west-2]
collectors:
  disabled: [directconnect]
retries:
  max_attempts: 4
"""
# Four attempts: moto's server answers a rare transient 500 when many calls race inside it
# (the scanner collects concurrently); botocore retries 5xx exactly as it would AWS's.


def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def endpoint(url: str) -> dict[str, str]:
    return {"AWS_ENDPOINT_URL": url}


def scan_cli(tmp_path: Path, out: str, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``scanner scan`` with the test config, writing into ``tmp_path/out``, AWS at ``url``."""
    cfg = str(config_file(tmp_path))
    return run_cli(
        "scan", "--config", cfg, "--output", str(tmp_path / out), *extra, env=endpoint(url)
    )


def load_findings(out: Path) -> dict[str, Any]:
    [run_dir] = list(out.iterdir())
    return json.loads((run_dir / "findings.json").read_text())  # type: ignore[no-any-return]


def by_rule(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(f["rule_id"], f["resource_id"]): f["status"] for f in doc["findings"]}


def test_scan_exit_status_follows_fail_on(aws: Any, moto: MotoServer, tmp_path: Path) -> None:
    build_baseline(aws)  # compliant except IMDSv2 (medium), which moto cannot store
    low = scan_cli(tmp_path, "a", moto.url)
    assert low.returncode == 1, low.stdout + low.stderr
    assert "notebook-imdsv2-required" in low.stdout
    high = scan_cli(tmp_path, "b", moto.url, "--fail-on", "high")
    assert high.returncode == 0, high.stdout + high.stderr
    [run_dir] = list((tmp_path / "b").iterdir())
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "findings.csv",
        "findings.json",
        "report.html",
        "snapshot.json.gz",
    ]


def test_collector_failure_gives_error_findings_and_exit_3(
    aws: Any, moto: MotoServer, tmp_path: Path
) -> None:
    build_baseline(aws)
    with FaultProxy(moto.url) as proxy:
        proxy.fail("DescribeVpcEndpoints", ACCESS_DENIED)
        proc = scan_cli(tmp_path, "out", proxy.url)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "INCOMPLETE" in proc.stdout and "AccessDenied" in proc.stdout
    doc = load_findings(tmp_path / "out")
    assert doc["run"]["complete"] is False and doc["run"]["exit_code"] == 3
    statuses = by_rule(doc)
    # Endpoint rules could not look: ERROR, never PASS.
    assert statuses[("endpoint-available", "*")] == "ERROR"
    assert {s for (rule, _), s in statuses.items() if rule.startswith("vpc-has-sagemaker")} == {
        "ERROR"
    }
    # Rules that do not depend on endpoints still judged normally.
    assert statuses[("notebook-root-access-disabled", NB)] == "PASS"
    [run_dir] = list((tmp_path / "out").iterdir())
    assert 'id="incomplete-banner"' in (run_dir / "report.html").read_text()


def test_collect_then_scan_offline_gives_the_same_findings(
    aws: Any, moto: MotoServer, tmp_path: Path
) -> None:
    build_baseline(aws)
    cfg = str(config_file(tmp_path))
    snap = tmp_path / "snap.json.gz"
    collected = run_cli("collect", "--config", cfg, "--output", str(snap), env=endpoint(moto.url))
    assert collected.returncode == 0, collected.stdout + collected.stderr
    online = scan_cli(tmp_path, "online", moto.url)
    # Offline: AWS is unreachable (closed port). Any AWS call would fail the scan.
    dead = f"http://127.0.0.1:{free_port()}"
    offline = scan_cli(tmp_path, "offline", dead, "--snapshot", str(snap))
    assert offline.returncode == online.returncode == 1, online.stdout + offline.stdout
    a, b = load_findings(tmp_path / "online"), load_findings(tmp_path / "offline")
    assert by_rule(a) == by_rule(b)
    assert {f["fingerprint"] for f in a["findings"]} == {f["fingerprint"] for f in b["findings"]}


def test_json_logs_are_json_lines(aws: Any, moto: MotoServer, tmp_path: Path) -> None:
    build_baseline(aws)
    proc = scan_cli(tmp_path, "out", moto.url, "--log-format", "json")
    assert proc.returncode == 1, proc.stderr[-3000:]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.strip()]
    assert lines, "expected JSON log lines on stderr"
    finished = [entry for entry in lines if entry["msg"] == "scan finished"]
    assert finished and finished[0]["summary"]["exit_code"] == 1


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parent.parent
    proc = run_cli(
        "demo",
        "--config",
        str(repo / "config.yaml"),
        "--output",
        str(tmp_path),
        env={"AWS_PROFILE": "must-not-be-used"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Open the HTML report:" in proc.stdout
    doc = load_findings(tmp_path)
    assert doc["run"]["complete"] is True
    fails = {f["rule_id"] for f in doc["findings"] if f["status"] == "FAIL"}
    assert "notebook-direct-internet-access-disabled" in fails
    assert "endpoint-private-dns-resolves" in fails
