"""``report.html`` without a browser: the CSP hashes, the inert data block, the packed data,
the server-rendered summary and charts, and the trend read from the history store."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from scanner.config import Config
from scanner.history.store import Store
from scanner.history.trend import trend_for
from scanner.model.finding import Severity, Status
from scanner.model.snapshot import Snapshot
from scanner.reporting import write_reports
from scanner.reporting.document import findings_document
from scanner.reporting.htmlout import (
    chart_trend,
    embed_json,
    framework_stats,
    page_data,
    render_html,
    unpack_findings,
)
from scanner.run import RunOptions, run
from tests.reportkit import ACCOUNT, finding, result, verdict_finding

CSP_META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')
INLINE = re.compile(r"<(script|style)(\s[^>]*)?>(.*?)</\1>", re.S)


def inline_blocks(html: str) -> list[tuple[str, str, str]]:
    return [(m.group(1), m.group(2) or "", m.group(3)) for m in INLINE.finditer(html)]


def sha256_source(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_csp_is_strict_and_its_hashes_match_the_inline_script_and_style(tmp_path: Path) -> None:
    html = render_html(result([finding(Status.FAIL), verdict_finding()], tmp_path))
    [csp] = CSP_META.findall(html)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:"
    blocks = inline_blocks(html)
    scripts = [body for tag, attrs, body in blocks if tag == "script" and "type=" not in attrs]
    styles = [body for tag, _, body in blocks if tag == "style"]
    data = [body for tag, attrs, body in blocks if 'type="application/json"' in attrs]
    assert len(scripts) == 1 and len(styles) == 1 and len(data) == 1
    assert directives["script-src"] == sha256_source(scripts[0])
    assert directives["style-src"] == sha256_source(styles[0])
    # Nothing the hashes do not cover: no handler attributes, no style attributes, no
    # javascript: URLs, no external resource.
    assert not re.search(r"\son[a-z]+\s*=", html.replace(data[0], ""))
    assert not re.search(r"\sstyle\s*=", html)
    assert "javascript:" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_data_block_is_inert_json() -> None:
    nasty = "</script><script>x()</script><!-- <b>&amp;"
    text = embed_json({"v": nasty})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"v": nasty}


def test_page_data_unpacks_to_the_findings_json_findings(tmp_path: Path) -> None:
    waived = dataclasses.replace(
        finding(Status.FAIL, resource_id="nb-w"),
        waiver={"id": "w1", "owner": "o", "expires": "2027-01-01", "reason": "r"},
    )
    odd = dataclasses.replace(
        finding(Status.PASS, resource_id="nb-odd"),
        title="another title",
        remediation={"text": "only text"},
        resource_arn="arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/nb-odd",
        evidence={},
    )
    findings = [
        finding(Status.FAIL, resource_id="nb-1"),
        finding(Status.PASS, resource_id="nb-2", message="nb-2 is fine\u0000"),
        finding(Status.ERROR, resource_id="*"),
        waived,
        odd,
        verdict_finding("nb-1"),
        verdict_finding("nb-2"),
    ]
    record = result(findings, tmp_path)
    data = page_data(record)
    doc = findings_document(record)
    assert data["paths"] == doc["paths"] and data["target_sets"] == doc["target_sets"]
    by_fp = {f["fingerprint"]: f for f in doc["findings"]}
    unpacked = unpack_findings(data)
    assert len(unpacked) == len(findings)
    for item in unpacked:
        assert item == by_fp[item["fingerprint"]], item["resource_id"]
    # Report order: ERROR first, then FAIL by severity.
    assert [f["status"] for f in unpacked[:2]] == ["ERROR", "FAIL"]
    # The two verdicts name the same two paths: stored once, as ids.
    assert len(data["paths"]) == 2


def test_summary_counts_by_framework_requirement_severity_account_region(tmp_path: Path) -> None:
    findings = [
        finding(Status.PASS, resource_id="a"),
        finding(Status.FAIL, resource_id="b"),
        finding(Status.ERROR, resource_id="c"),
        finding(Status.NOT_APPLICABLE, resource_id="d"),
    ]
    [hipaa, pci] = framework_stats(findings)
    assert hipaa["label"] == "HIPAA" and pci["id"] == "pci-dss-v4.0"
    assert hipaa["counts"] == {"ERROR": 1, "FAIL": 1, "PASS": 1, "NOT_APPLICABLE": 1}
    assert abs(hipaa["rate"] - 1 / 3) < 1e-9  # an ERROR is never compliant
    assert hipaa["requirements"][0]["id"] == "164.312(a)(1)"
    html = render_html(result(findings, tmp_path, failed_collector=True))
    assert 'id="chart-frameworks"' in html and 'id="chart-severity"' in html
    assert 'id="chart-trend"' not in html  # no store, no trend
    assert re.search(r"<td class=\"rate\">33%</td>", html)
    assert f"<code>{ACCOUNT}</code>" in html and "<code>us-west-2</code>" in html
    # Scan completeness names every collector error.
    section = html[html.index('id="completeness"') :]
    assert "sagemaker.notebooks" in section and "AccessDenied" in section
    assert "ListNotebookInstances" in section


def test_verdict_headline_counts_public_paths(tmp_path: Path) -> None:
    html = render_html(result([verdict_finding("nb-1"), verdict_finding("nb-2")], tmp_path))
    assert '<span id="paths-total">4</span>' in html
    assert "2 inbound through IAM" in html and "2 outbound to the internet" in html
    clean = render_html(result([finding(Status.PASS)], tmp_path))
    assert '<span id="paths-total">0</span>' in clean


def test_trend_chart_is_inline_svg_with_escaped_labels() -> None:
    trend = [
        {"run_id": "<r1>", "started_at": "2026-11-01T00:00:00Z", "fail": 10, "error": 2},
        {"run_id": "r2", "started_at": "2026-11-02T00:00:00Z", "fail": 7, "error": 0},
    ]
    svg = str(chart_trend(trend))
    assert svg.startswith("<svg") and svg.count("<polyline") == 2 and svg.count("<circle") == 4
    assert "&lt;r1&gt;" in svg and "<r1>" not in svg
    assert chart_trend([]) is None


def counts(fail: int, error: int) -> dict[str, Any]:
    return {"FAIL": fail, "ERROR": error}


def test_trend_for_reads_the_last_finished_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'history.db'}"
    with Store.open(url) as store, store.writing():
        for i, statuses in enumerate([[Status.FAIL], [Status.FAIL, Status.ERROR], []]):
            record = result(
                [finding(s, resource_id=f"nb-{j}") for j, s in enumerate(statuses)], tmp_path
            )
            record.run_id = f"2026112{i}T000000Z-aaaaa{i}"
            record.started_at = record.finished_at = f"2026-11-2{i}T00:00:00Z"
            store.begin_run(
                record.run_id,
                started_at=record.started_at,
                source="test",
                fail_on=Severity.LOW,
                config_hash="",
                rulepack_version="",
            )
            store.save_results(record)
            if i < 2:
                store.finish_run(record)
        running = record.run_id
        # The run still being reported counts only when named.
        assert [p["run_id"][-6:] for p in trend_for(store)] == ["aaaaa0", "aaaaa1"]
        points = trend_for(store, current=running)
        assert [(p["fail"], p["error"]) for p in points] == [(1, 0), (1, 1), (0, 0)]
        assert points[0]["started_at"].startswith("2026-11-20")
        assert [p["run_id"] for p in trend_for(store, 2, current=running)] == [
            "20261121T000000Z-aaaaa1",
            running,
        ]
        # A report regenerated later ends its trend at its own run.
        assert [p["run_id"][-6:] for p in trend_for(store, until="20261120T000000Z-aaaaa0")] == [
            "aaaaa0"
        ]
        assert trend_for(store, until="no-such-run") == []


def test_run_passes_the_trend_to_the_html_report(tmp_path: Path) -> None:
    snap_path = tmp_path / "snapshot.json.gz"
    Snapshot(accounts=[ACCOUNT], regions=["us-west-2"]).save(snap_path)
    options = RunOptions(
        config=Config(),
        snapshot_path=snap_path,
        output_dir=tmp_path / "out",
        formats=["html"],
        store=f"sqlite:///{tmp_path / 'history.db'}",
    )
    first = run(options)
    second = run(dataclasses.replace(options, run_id=None))
    html = second.reports["html"].read_text()
    assert 'id="chart-trend"' in html
    assert "over the last 2 run(s)" in html and first.run_id in html
    alone = run(dataclasses.replace(options, use_store=False))
    assert 'id="chart-trend"' not in alone.reports["html"].read_text()


def test_write_reports_context_reaches_the_html_writer(tmp_path: Path) -> None:
    trend = [{"run_id": "r1", "started_at": "2026-11-01T00:00:00Z", "fail": 3, "error": 1}]
    page = write_reports(
        result([finding(Status.FAIL)], tmp_path), tmp_path, ["html"], context={"trend": trend}
    )["html"]
    assert 'id="chart-trend"' in page.read_text()


def test_regenerated_report_ends_its_trend_at_its_own_run(tmp_path: Path) -> None:
    from scanner.evidence import regenerate_reports
    from scanner.history.store import Store

    snap_path = tmp_path / "snapshot.json.gz"
    Snapshot(accounts=[ACCOUNT], regions=["us-west-2"]).save(snap_path)
    url = f"sqlite:///{tmp_path / 'history.db'}"
    options = RunOptions(
        config=Config(),
        snapshot_path=snap_path,
        output_dir=tmp_path / "out",
        formats=["json"],
        store=url,
    )
    first = run(options)
    second = run(dataclasses.replace(options, run_id=None))
    with Store.open(url) as store:
        written = regenerate_reports(
            store, store.run(first.run_id), tmp_path / "again", ["html"], None
        )
    html = written["html"].read_text()
    assert "over the last 1 run(s)" in html and first.run_id in html
    assert second.run_id not in html
