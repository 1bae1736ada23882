"""The HTML report in a real headless Chromium (Debian's ``chromium``; `make test` installs it),
driven by Playwright (its own browser download is never used: we launch /usr/bin/chromium).

Chromium opens the file offline and runs the page's script; the tests read and click the DOM
it produced: the default filter shows ERROR and FAIL only, the incomplete banner is there,
filters and search work, expanding a finding shows its evidence, the page makes no request
and logs no error or CSP violation, and values from AWS that look like markup stay text.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scanner.model.finding import Finding, Severity, Status
from scanner.reporting import write_reports
from tests.clikit import run_cli
from tests.reportkit import finding, result, verdict_finding

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parent.parent

try:
    from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None

PAYLOADS = [
    "<script>window.__pwned=1</script>",
    '"><img src=x onerror=window.__pwned=1>',
    "</script><script>window.__pwned=1</script>",
]
# Collects CSP violations from the first moment (before the page's own script runs).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        yield b
        b.close()


@dataclass
class Opened:
    page: Page
    url: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def count(self) -> str:
        return self.page.text_content("#visible-count") or ""

    def other_requests(self) -> list[str]:
        return [r for r in self.requests if r != self.url]

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__csp"))

    def open_group(self, rule_id: str) -> None:
        """Open a rule's group; its rows are built when it opens (the toggle event)."""
        group = f'details.group[data-rule="{rule_id}"]'
        self.page.click(f"{group} > summary")
        self.page.wait_for_selector(f"{group} > .group-body", state="attached")

    def expand_all(self) -> None:
        """Open every group and every finding in it, and wait until all are built."""
        self.page.click("#expand-all")
        groups = self.page.locator("details.group").count()
        expect(self.page.locator("details.group > .group-body")).to_have_count(groups)
        rows = self.page.query_selector_all("details.finding > summary")
        for row in rows:
            row.click()
        expect(self.page.locator("pre.evidence")).to_have_count(len(rows))

    def rows(self, rule_id: str | None = None) -> list[str]:
        scope = f'details.group[data-rule="{rule_id}"] ' if rule_id else ""
        return [
            e.get_attribute("data-status") or ""
            for e in self.page.query_selector_all(f"{scope}details.finding")
        ]


@pytest.fixture
def open_report(browser: Browser, tmp_path: Path) -> Iterator[Any]:
    pages: list[Opened] = []

    def opener(findings: list[Finding], **kwargs: Any) -> Opened:
        out = tmp_path / f"r{len(pages)}"
        out.mkdir()
        path = write_reports(result(findings, out, **kwargs), out, ["html"])["html"]
        opened = open_file(browser, path)
        pages.append(opened)
        return opened

    yield opener
    for opened in pages:
        opened.page.close()


def open_file(browser: Browser, path: Path) -> Opened:
    """Open a report file and watch every request, console message and CSP violation."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    opened = Opened(page, path.as_uri())
    page.on("request", lambda r: opened.requests.append(r.url))
    page.on("console", lambda m: note_console(opened, m))
    page.on("pageerror", lambda e: opened.problems.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: opened.problems.append(f"requestfailed: {r.url}"))
    page.add_init_script(WATCH_CSP)
    page.goto(opened.url)
    page.wait_for_selector("html[data-ready]", state="attached")
    return opened


def note_console(opened: Opened, message: ConsoleMessage) -> None:
    if message.type in ("error", "warning"):
        opened.problems.append(f"console {message.type}: {message.text}")


def variety() -> list[Finding]:
    """Findings over two accounts, two regions, frameworks and severities."""
    base = [
        finding(Status.FAIL, resource_id="nb-fail"),
        finding(Status.ERROR, resource_id="nb-error"),
        finding(Status.PASS, resource_id="nb-pass"),
        finding(Status.NOT_APPLICABLE, resource_id="nb-na"),
    ]
    other = dataclasses.replace(
        finding(
            Status.FAIL,
            rule_id="vpc-flow-logs-enabled",
            resource_id="vpc-0abc",
            severity=Severity.LOW,
            message="no flow log on vpc-0abc",
        ),
        account_id="444455556666",
        region="eu-west-1",
        resource_type="ec2:vpc",
        frameworks={"hipaa": ["164.312(b)"]},
    )
    return [*base, other]


def test_report_renders_default_filter_and_incomplete_banner(open_report: Any) -> None:
    r = open_report(variety()[:4], failed_collector=True)
    # The script ran: it counted what the default filter shows (ERROR + FAIL).
    assert r.count().startswith("2 of 4 findings shown")
    assert r.page.is_visible("#incomplete-banner")
    assert "sagemaker.notebooks" in (r.page.text_content("#incomplete-banner") or "")
    # Groups are collapsed: no finding row is in the DOM until one is opened.
    assert r.rows() == []
    r.open_group("notebook-root-access-disabled")
    assert sorted(r.rows()) == ["ERROR", "FAIL"]
    assert r.problems == [] and r.other_requests() == [] and r.csp_violations() == []


def test_filters_by_status_severity_framework_account_and_region(open_report: Any) -> None:
    r = open_report(variety())
    assert r.count().startswith("3 of 5")
    r.page.check('.status-filter[value="PASS"]')
    assert r.count().startswith("4 of 5")
    r.page.uncheck('.severity-filter[value="high"]')
    assert r.count().startswith("1 of 5")
    r.page.check('.severity-filter[value="high"]')
    r.page.select_option("#f-account", "444455556666")
    assert r.count().startswith("1 of 5")
    assert r.page.query_selector_all("details.group")[0].get_attribute("data-rule") == (
        "vpc-flow-logs-enabled"
    )
    r.page.select_option("#f-account", "")
    r.page.select_option("#f-region", "us-west-2")
    assert r.count().startswith("3 of 5")
    r.page.select_option("#f-region", "")
    r.page.select_option("#f-framework", "pci-dss-v4.0")
    assert r.count().startswith("3 of 5")  # the VPC finding maps to HIPAA only
    r.page.select_option("#f-framework", "hipaa")
    assert r.count().startswith("4 of 5")
    r.page.click("#reset")
    assert r.count().startswith("3 of 5")
    assert r.problems == []


def test_search_and_sort(open_report: Any) -> None:
    r = open_report(variety())
    r.page.fill("#search", "nb-ERR")  # the search waits for typing to pause
    expect(r.page.locator("#visible-count")).to_have_text(re.compile(r"^1 of 5 "))
    r.open_group("notebook-root-access-disabled")
    assert r.rows() == ["ERROR"]
    r.page.fill("#search", "flow log 444455556666")  # every word must match
    expect(r.page.locator("details.group")).to_have_attribute("data-rule", "vpc-flow-logs-enabled")
    assert r.count().startswith("1 of")
    r.page.fill("#search", "")
    expect(r.page.locator("#visible-count")).to_have_text(re.compile(r"^3 of 5 "))
    r.page.select_option("#sort", "severity")
    groups = [g.get_attribute("data-rule") for g in r.page.query_selector_all("details.group")]
    assert groups == ["notebook-root-access-disabled", "vpc-flow-logs-enabled"]
    # The open group stays open across filter changes and re-renders its rows.
    assert sorted(r.rows("notebook-root-access-disabled")) == ["ERROR", "FAIL"]
    assert r.problems == []


def test_expanding_a_finding_shows_evidence_remediation_and_frameworks(open_report: Any) -> None:
    waived = dataclasses.replace(
        finding(Status.FAIL, resource_id="nb-waived"),
        waiver={
            "id": "w1",
            "owner": "alice@example.com",
            "expires": "2027-01-31",
            "reason": "migration",
        },
    )
    r = open_report([finding(Status.FAIL, resource_id="nb-1"), waived])
    r.open_group("notebook-root-access-disabled")
    row = r.page.locator('details.finding:has(code.res:text-is("nb-1"))')
    assert row.locator(".detail").count() == 0  # built on first open
    row.locator("summary").click()
    detail = row.locator(".detail")
    assert '"RootAccess": "Enabled"' in (detail.locator("pre.evidence").text_content() or "")
    assert "aws sagemaker update-notebook-instance" in (
        detail.locator("pre.cli").text_content() or ""
    )
    text = detail.text_content() or ""
    assert "HIPAA" in text and "164.312(a)(1)" in text and "Disable root access." in text
    waived_row = r.page.locator('details.finding:has(code.res:text-is("nb-waived"))')
    assert waived_row.locator(".badge.waived").count() == 1
    waived_row.locator("summary").click()
    waiver = waived_row.locator(".detail").text_content() or ""  # waits for the detail
    assert "waived by alice@example.com until 2027-01-31: migration" in waiver
    r.page.select_option("#f-waived", "waived")
    assert r.count().startswith("1 of 2")
    assert r.problems == []


def test_verdict_section_lists_each_public_path(open_report: Any) -> None:
    verdict = verdict_finding("analytics-scratch")
    r = open_report([verdict])
    assert r.page.text_content("#paths-total") == "2"
    target = r.page.locator("#verdict-list details.target").first
    assert target.get_attribute("open") is not None  # the first ones open by default
    text = target.text_content() or ""
    for expected in (
        "analytics-scratch",
        "arn:aws:iam::111122223333:user/bob",
        "sagemaker:CreatePresignedNotebookInstanceUrl",
        "statement #0 of inline policy sagemaker-full",
        "no aws:SourceVpce (public internet)",
        "aws iam put-user-policy --user-name bob",
        "DirectInternetAccess is Enabled",
        "recreate the notebook with --direct-internet-access Disabled",
    ):
        assert expected in text, expected
    assert r.problems == []


def test_large_groups_render_a_page_at_a_time(open_report: Any) -> None:
    many = [finding(Status.FAIL, resource_id=f"nb-{i:03d}") for i in range(250)]
    r = open_report(many)
    r.open_group("notebook-root-access-disabled")
    assert len(r.rows()) == 100
    r.page.click("details.group button.more")
    assert len(r.rows()) == 200
    r.page.click("details.group button.more")
    assert len(r.rows()) == 250 and r.page.query_selector("details.group button.more") is None


def evil_findings() -> list[Finding]:
    out = []
    for i, payload in enumerate(PAYLOADS):
        f = finding(Status.FAIL, resource_id=f"nb-{i}{payload}", message=f"tag Name is {payload}")
        out.append(
            dataclasses.replace(
                f,
                evidence={
                    "Tags": [{"Key": "Name", "Value": payload}],
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "sagemaker:*",
                                "Condition": {"StringEquals": {"aws:SourceVpce": payload}},
                            }
                        ]
                    },
                    payload: "a key from AWS",
                    "__proto__": {"polluted": payload},
                },
                resource_arn=f"arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/{payload}",
                waiver={"id": "w", "owner": payload, "expires": "2027-01-01", "reason": payload},
            )
        )
    path = {
        "kind": "iam_inbound",
        "principal": f"arn:aws:iam::111122223333:role/{PAYLOADS[1]}",
        "action": "sagemaker:CreatePresignedNotebookInstanceUrl",
        "grant": {
            "policy": PAYLOADS[0],
            "policy_kind": "inline",
            "via": "role",
            "statement_index": 0,
            "sid": PAYLOADS[2],
        },
        "description": f"aws:SourceVpce={PAYLOADS[2]}",
        "remediation": PAYLOADS[1],
        "fix_cli": PAYLOADS[0],
    }
    out.append(
        dataclasses.replace(
            finding(Status.FAIL, rule_id="notebook-no-public-access-path", resource_id=PAYLOADS[2]),
            evidence={
                "paths": [
                    path,
                    {"kind": "public_internet", "summary": PAYLOADS[1], "close": PAYLOADS[0]},
                ]
            },
        )
    )
    return out


def test_injected_payloads_stay_inert_text(open_report: Any) -> None:
    r = open_report(evil_findings())
    r.page.fill("#search", "pwned")
    r.page.wait_for_selector('#groups[data-search="pwned"]', state="attached")
    assert r.count().startswith("4 of 4 ")
    r.expand_all()
    assert r.page.evaluate("typeof window.__pwned") == "undefined"
    assert r.page.evaluate("({}).polluted") is None
    # No element came from the data: no img, no second script, no handler attribute.
    assert r.page.query_selector_all("img") == []
    assert len(r.page.query_selector_all("script")) == 2
    assert r.page.evaluate("document.querySelectorAll('[onerror]').length") == 0
    # ...and the values read as the text they are.
    body = r.page.text_content("body") or ""
    for payload in PAYLOADS:
        assert f"tag Name is {payload}" in body
        assert f"nb-{PAYLOADS.index(payload)}{payload}" in body
    verdict = r.page.text_content("#verdict-list") or ""
    assert f"arn:aws:iam::111122223333:role/{PAYLOADS[1]}" in verdict
    assert f"aws:SourceVpce={PAYLOADS[2]}" in verdict
    evidence = " ".join(e.text_content() or "" for e in r.page.query_selector_all("pre.evidence"))
    assert '"aws:SourceVpce": "\\"><img src=x onerror=window.__pwned=1>"' in evidence
    assert r.problems == [] and r.other_requests() == [] and r.csp_violations() == []


def test_no_network_requests_and_no_console_errors(open_report: Any) -> None:
    r = open_report(variety(), failed_collector=True)
    r.expand_all()
    r.page.check('.status-filter[value="PASS"]')
    r.page.check('.status-filter[value="NOT_APPLICABLE"]')
    r.page.wait_for_timeout(200)
    assert r.requests == [r.url]  # the file itself, nothing else (not even a favicon)
    assert r.problems == [] and r.csp_violations() == []


def test_report_screenshot_is_produced(open_report: Any, tmp_path: Path) -> None:
    r = open_report([finding(Status.FAIL)])
    shot = tmp_path / "shot.png"
    r.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5000


def test_the_demo_report_renders_offline_with_its_public_paths(
    browser: Browser, tmp_path: Path
) -> None:
    """The report `make demo` writes, opened in Chromium: no request but the file, no console
    error, no CSP violation, and the verdict section lists the demo's public paths."""
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    proc = run_cli("demo", "--config", str(tmp_path / "config.yaml"), cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [page] = sorted((tmp_path / "reports").glob("*/report.html"))
    opened = open_file(browser, page)
    try:
        assert opened.other_requests() == []
        assert opened.problems == [] and opened.csp_violations() == []
        total = int(opened.page.text_content("#paths-total") or "0")
        assert total > 0  # the demo's deliberate mistakes open paths
        text = opened.page.text_content("#verdict-list") or ""
        for name in ("analytics-scratch", "etl-dev", "d-sandbox-studio", "bob-contractor"):
            assert name in text, name
    finally:
        opened.page.close()
