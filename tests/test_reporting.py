"""Reporters: JSON shape, CSV formula guard, HTML escaping and offline-ness, exit codes."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from scanner.errors import ExitCode, InputError
from scanner.model.finding import Severity, Status
from scanner.reporting import parse_formats, write_reports
from scanner.reporting.csvout import COLUMNS, sanitize_cell
from scanner.reporting.document import dedup_paths, resolve_paths, share_target_lists
from tests.reportkit import finding, result


def test_json_stores_each_path_once_and_references_it_by_id() -> None:
    path = {"kind": "iam_inbound", "principal": "arn:aws:iam::1:user/bob", "action": "x"}
    other = {**path, "principal": "arn:aws:iam::1:user/carol"}
    findings = [
        {"rule_id": "a", "evidence": {"paths": [path, other]}},
        {"rule_id": "b", "evidence": {"paths": [dict(path)]}},
        {"rule_id": "c", "evidence": {"note": "no paths"}},
    ]
    table, out = dedup_paths(findings)
    assert len(table) == 2 and share_target_lists(table)[1] == {}
    assert out[0]["evidence"]["paths"][0] == out[1]["evidence"]["paths"][0]
    assert out[2] is findings[2] and findings[0]["evidence"]["paths"][0] is path  # not modified
    doc = {"paths": table}
    assert resolve_paths(doc, out[0]) == [path, other]


def test_json_stores_shared_notebook_lists_once() -> None:
    arns = [f"arn:aws:sagemaker:us-west-2:1:notebook-instance/nb-{i}" for i in range(3)]
    one = {"principal": "arn:aws:iam::1:role/a", "notebooks": arns}
    two = {"principal": "arn:aws:iam::1:role/b", "notebooks": list(arns)}
    single = {"principal": "arn:aws:iam::1:role/c", "notebooks": arns[:1]}
    findings = [{"rule_id": "r", "evidence": {"paths": [one, two, single]}}]
    table, out = dedup_paths(findings)
    table, sets = share_target_lists(table)
    assert list(sets.values()) == [arns]  # one list, shared by both paths
    stored = [table[p] for p in out[0]["evidence"]["paths"]]
    assert "notebooks" not in stored[0] and stored[0]["notebooks_set"] == stored[1]["notebooks_set"]
    assert stored[2]["notebooks"] == arns[:1]  # a one-ARN list stays inline
    assert resolve_paths({"paths": table, "target_sets": sets}, out[0]) == [one, two, single]


def test_json_document_shape(tmp_path: Path) -> None:
    res = result([finding(Status.FAIL), finding(Status.PASS, resource_id="nb-2")], tmp_path)
    paths = write_reports(res, tmp_path, ["json"])
    doc = json.loads(paths["json"].read_text())
    assert set(doc) == {"run", "paths", "target_sets", "findings"}
    assert doc["run"]["id"] == res.run_id
    assert doc["run"]["summary"]["by_status"]["FAIL"] == 1
    first = doc["findings"][0]
    # Every field the CSV reports is in the JSON too (the CSV adds only the run id).
    assert set(COLUMNS) - {"run_id"} <= set(first)
    assert first["fingerprint"] == res.findings[0].fingerprint


@pytest.mark.parametrize("bad", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_cells_cannot_become_formulas(bad: str) -> None:
    assert sanitize_cell(bad) == "'" + bad
    assert sanitize_cell("vpc-123") == "vpc-123"


def test_csv_file_sanitises_account_data(tmp_path: Path) -> None:
    evil = finding(Status.FAIL, resource_id="=cmd|' /C calc'!A0")
    paths = write_reports(result([evil], tmp_path), tmp_path, ["csv"])
    rows = list(csv.DictReader(paths["csv"].open()))
    assert rows[0]["resource_id"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["frameworks"] == "hipaa:164.312(a)(1); pci-dss-v4.0:7.2.1"
    assert rows[0]["fingerprint"] == evil.fingerprint


def test_html_escapes_account_data_and_is_offline(tmp_path: Path) -> None:
    evil = finding(Status.FAIL, message="<script>alert(1)</script>")
    paths = write_reports(result([evil], tmp_path), tmp_path, ["html"])
    html = paths["html"].read_text()
    assert "<script>alert(1)</script>" not in html
    # Findings reach the page only as JSON in an inert data block, with no "<" left in it
    # (the page's script turns them into text nodes; tests/test_report_browser.py runs it).
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in html
    # No external resources: nothing loaded over the network.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)


def test_html_incomplete_banner_names_failed_collector(tmp_path: Path) -> None:
    res = result([finding(Status.ERROR)], tmp_path, failed_collector=True)
    html = write_reports(res, tmp_path, ["html"])["html"].read_text()
    assert 'id="incomplete-banner"' in html
    assert "sagemaker.notebooks" in html and "AccessDenied" in html


def test_html_complete_banner(tmp_path: Path) -> None:
    html = write_reports(result([finding(Status.PASS)], tmp_path), tmp_path, ["html"])[
        "html"
    ].read_text()
    assert 'id="complete-banner"' in html and 'id="incomplete-banner"' not in html


def test_exit_codes(tmp_path: Path) -> None:
    assert result([finding(Status.PASS)], tmp_path).exit_code is ExitCode.OK
    assert result([finding(Status.FAIL)], tmp_path).exit_code is ExitCode.FINDINGS
    low = result([finding(Status.FAIL, severity=Severity.LOW)], tmp_path)
    low.fail_on = Severity.HIGH
    assert low.exit_code is ExitCode.OK
    # Incomplete wins over FAIL: a partial scan must not read as a normal result.
    assert result([finding(Status.FAIL), finding(Status.ERROR)], tmp_path).exit_code is (
        ExitCode.INCOMPLETE
    )
    assert result([finding(Status.PASS)], tmp_path, failed_collector=True).exit_code is (
        ExitCode.INCOMPLETE
    )


def test_parse_formats() -> None:
    assert parse_formats("csv, HTML") == ["csv", "html"]
    with pytest.raises(InputError):
        parse_formats("pdf")


def test_fingerprint_is_stable_across_status_and_message(tmp_path: Path) -> None:
    a = finding(Status.FAIL, message="one")
    b = finding(Status.PASS, message="two")
    c = finding(Status.FAIL, resource_id="nb-other")
    assert a.fingerprint == b.fingerprint
    assert a.fingerprint != c.fingerprint
