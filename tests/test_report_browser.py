"""The HTML report in a real headless Chromium (Debian's ``chromium``; `make test` installs it).

Chromium loads the file offline, runs the page's script, and we read the DOM it produced:
default filters show ERROR and FAIL only, and the incomplete banner is rendered.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scanner.model.finding import Status
from scanner.reporting import write_reports
from tests.reportkit import finding, result

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail("chromium is not installed: run `make test`, which installs Debian's chromium")
    return path


def render(page: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_report_renders_and_filters_in_chromium(tmp_path: Path) -> None:
    findings = [
        finding(Status.FAIL, resource_id="nb-fail"),
        finding(Status.ERROR, resource_id="nb-error"),
        finding(Status.PASS, resource_id="nb-pass"),
        finding(Status.NOT_APPLICABLE, resource_id="nb-na"),
    ]
    page = write_reports(result(findings, tmp_path, failed_collector=True), tmp_path, ["html"])[
        "html"
    ]
    proc = render(page, tmp_path, "--virtual-time-budget=3000", "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    # The inline script ran: it counted the rows the default filter shows (ERROR + FAIL).
    assert "2 of 4 findings shown" in dom
    assert 'id="incomplete-banner"' in dom
    # PASS rows are hidden by the script, FAIL rows are not.
    assert "display: none" in row_tag(dom, "PASS")
    assert "display: none" in row_tag(dom, "NOT_APPLICABLE")
    assert "display: none" not in row_tag(dom, "FAIL")
    assert "display: none" not in row_tag(dom, "ERROR")


def row_tag(dom: str, status: str) -> str:
    match = re.search(rf'<tr[^>]*data-status="{status}"[^>]*>', dom)
    assert match is not None, f"no {status} row in the DOM"
    return match.group(0)


def test_report_screenshot_is_produced(tmp_path: Path) -> None:
    page = write_reports(result([finding(Status.FAIL)], tmp_path), tmp_path, ["html"])["html"]
    shot = tmp_path / "shot.png"
    proc = render(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,800")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 5000
