"""Hostile strings from AWS stay inert in every sink (issue 12).

One seeded estate for the whole module (``tests/hostilekit.py``): every catalogue string
names a notebook and tags it, sits in the API endpoint's policy conditions and (where XML
carries it) in a security group description; the few strings EC2 cannot carry are put in
that description offline.  The estate is collected from moto over HTTP, and the real CLI
(in-process, through click's runner) then scans a previous night and this night, syncs
tickets to the fake Jira (v3 and v2), ServiceNow, GitHub and webhook targets and a Jira CSV
file, and lists runs, tickets and drift.  Each test reads one sink of that run.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from scanner.cli.app import cli
from scanner.collectors import collect
from scanner.demo.server import MotoServer
from scanner.logs import setup_logging
from scanner.model.snapshot import Snapshot, whole_text
from scanner.reporting.csvout import _FORMULA_START
from tests.conftest import REGION
from tests.hostilekit import (
    CATALOGUE,
    MARK,
    TERMINAL_CONTROLS,
    add_offline,
    mark,
    night_before,
    seed,
    unescaped,
)
from tests.notifykit import Receiver
from tests.scenariokit import build_baseline, scan_config
from tests.test_report_browser import Browser, browser, expect, open_file  # noqa: F401 (fixture)
from tests.ticketfakes import FakeGitHub, FakeJira, FakeServiceNow
from tests.ticketkit import (
    CsvRemote,
    GitHubRemote,
    JiraRemote,
    Remote,
    ServiceNowRemote,
    WebhookRemote,
)

TICKET_RULE = "notebook-root-access-disabled"
FORMATS = "json,csv,html,xlsx"
TEXT_CHANGED_BY_HTML = {
    "cr",
    "crlf",
    "tab",
    "lf",
    "wikihead",
    "mdtable",
    "mdfence",
    "lfjson",
    "nul",
}
"""HTML text collapses whitespace runs and a NUL is not kept in the DOM: these strings are
then looked for by their mark only."""


@dataclass
class Said:
    """What one CLI command printed."""

    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class HostileRun:
    work: Path
    reports: Path
    remotes: dict[str, Remote]
    said: dict[str, Said] = field(default_factory=dict)


def _remotes(work: Path) -> dict[str, Remote]:
    return {
        "jira-v3": JiraRemote(FakeJira(api_version=3), 3),
        "jira-v2": JiraRemote(FakeJira(api_version=2), 2),
        "servicenow": ServiceNowRemote(FakeServiceNow()),
        "github": GitHubRemote(FakeGitHub()),
        "webhook": WebhookRemote(Receiver([(200, b"ok")])),
        "jira-csv": CsvRemote(work / "jira-csv"),
    }


def _close(remotes: dict[str, Remote]) -> None:
    for remote in remotes.values():
        for attr in ("fake", "receiver"):
            server = getattr(remote, attr, None)
            if server is not None:
                server.close()


def _config(work: Path, url: str, remotes: dict[str, Remote]) -> Path:
    doc = {
        "regions": [REGION],
        "endpoint_url": url,
        "output": {"dir": str(work / "reports")},
        "tickets": {
            "min_severity": "low",
            "rules": [TICKET_RULE],
            "targets": [r.target(name) for name, r in remotes.items()],
        },
    }
    path = work / "scanner.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def hostile(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HostileRun]:
    moto_server.reset()

    def make(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto_server.url)

    seed(make, build_baseline(make, with_trail=False))
    tonight = collect(scan_config(moto_server.url))
    add_offline(tonight)
    work = tmp_path_factory.mktemp("hostile")
    night_before(tonight).save(work / "before.json.gz")
    tonight.save(work / "tonight.json.gz")
    remotes = _remotes(work)
    config = _config(work, moto_server.url, remotes)
    run = HostileRun(work, work / "reports", remotes)
    env = {k: v for r in remotes.values() for k, v in r.env.items()}
    runner = CliRunner(env=env)
    commands = {
        "before": ("scan", "--snapshot", str(work / "before.json.gz")),
        "scan": ("scan", "--snapshot", str(work / "tonight.json.gz"), "--format", FORMATS),
        "sync": ("tickets", "sync"),
        "tickets list": ("tickets", "list"),
        "runs list": ("runs", "list"),
        "drift": ("drift", "--format", "json,csv,html"),
    }
    try:
        for name, args in commands.items():
            got = runner.invoke(cli, [*args, "--config", str(config)], catch_exceptions=False)
            run.said[name] = Said(args, got.exit_code, got.stdout, got.stderr)
        yield run
    finally:
        logging.getLogger().handlers.clear()
        _close(remotes)


def _latest_run_dir(run: HostileRun) -> Path:
    """The report directory of tonight's scan (its id is on the summary's first line)."""
    found = re.search(r"^Run (\S+): ", run.said["scan"].stdout, re.M)
    assert found is not None, run.said["scan"].stdout[:500]
    return run.reports / found.group(1)


# -- the run itself -----------------------------------------------------------------------


def test_every_command_ran_and_the_hostile_notebooks_fail_as_any_would(hostile: HostileRun) -> None:
    codes = {name: s.exit_code for name, s in hostile.said.items()}
    assert codes == {
        "before": 1,
        "scan": 1,
        "sync": 0,
        "tickets list": 0,
        "runs list": 0,
        "drift": 0,
    }, {n: s.stderr[-2000:] for n, s in hostile.said.items()}
    assert "Traceback" not in "".join(s.stderr for s in hostile.said.values())


# -- terminal -----------------------------------------------------------------------------


TERMINAL = ("scan", "sync", "tickets list", "runs list", "drift")


@pytest.mark.parametrize("command", TERMINAL)
def test_terminal_output_carries_no_control_from_data(hostile: HostileRun, command: str) -> None:
    said = hostile.said[command]
    text = said.stdout + said.stderr
    raw = sorted({f"U+{ord(c):04X}" for c in text if c in TERMINAL_CONTROLS})
    assert raw == [], f"{command} printed raw controls {raw}"
    # No surrogate either (a terminal cannot show one; a UTF-8 stream cannot encode one).
    assert not re.search("[\ud800-\udfff]", text)


@pytest.mark.parametrize("command", ["scan", "sync", "tickets list"])
def test_terminal_shows_every_hostile_resource_with_its_markup_as_typed(
    hostile: HostileRun, command: str
) -> None:
    """Each hostile notebook is named (ticket and problem lines name resource ids), rich
    markup in a name is printed literally, and a name stays on its own line."""
    text = hostile.said[command].stdout + hostile.said[command].stderr
    missing = [mark(h) for h in CATALOGUE if mark(h) not in text]
    assert missing == []
    assert "[bold red]LOUD[/bold red] [link=http://evil.example]x[/link]" in text
    assert not any(line.startswith("INFO scanner.fake: forged") for line in text.splitlines())


def test_drift_on_the_terminal_names_the_new_hostile_notebooks_as_typed(
    hostile: HostileRun,
) -> None:
    out = hostile.said["scan"].stdout
    assert "Drift since previous run" in out
    new = [mark(h) for i, h in enumerate(CATALOGUE) if i % 2 == 0]
    shown = [m for m in new if m in out.split("Drift since previous run", 1)[1]]
    assert len(shown) >= min(len(new), 10), "drift's new findings name the hostile notebooks"


# -- CSV and XLSX -------------------------------------------------------------------------


def _lf(text: str) -> str:
    """A cell's text as the CSV keeps it: a CR becomes LF (a bare CR ends the row in any
    reader)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _guarded(cell: str) -> bool:
    return not cell.startswith(_FORMULA_START)


def test_csv_cells_are_guarded_and_no_row_is_split(hostile: HostileRun) -> None:
    path = _latest_run_dir(hostile) / "findings.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    findings = json.loads((path.parent / "findings.json").read_text())["findings"]
    assert len(rows) == 1 + len(findings), "a newline in data split a row"
    header = rows[0]
    assert all(len(row) == len(header) for row in rows)
    unguarded = [cell[:40] for row in rows for cell in row if not _guarded(cell)]
    assert unguarded == []
    ids = {row[header.index("resource_id")] for row in rows[1:]}
    for h in CATALOGUE:
        if h.kind == "formula":
            assert "'" + _lf(h.text) in ids, f"{h.name}: guarded with a quote, text kept"
        else:
            assert _lf(whole_text(h.text)) in ids, f"{h.name}: text kept as is"


def test_xlsx_has_no_formula_cell_and_keeps_the_text_behind_the_guard(
    hostile: HostileRun,
) -> None:
    book = openpyxl.load_workbook(_latest_run_dir(hostile) / "findings.xlsx")
    texts: list[str] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{sheet.title}!{c.coordinate} is a formula"
                if isinstance(c.value, str):
                    texts.append(c.value)
    assert [t[:40] for t in texts if not _guarded(t)] == []
    for h in CATALOGUE:
        if h.kind == "formula" and h.text.isprintable():
            assert "'" + h.text in texts, h.name


# -- HTML in Chromium -----------------------------------------------------------------------


@pytest.mark.browser
def test_html_report_runs_no_injected_script_and_shows_the_text(
    hostile: HostileRun,
    browser: Browser,  # noqa: F811 - the fixture imported above
) -> None:
    """In Chromium, with every group and finding opened (so every value was put in the
    DOM): no script of the data ran, no element or handler came from it, no dialog opened,
    and each hostile name reads as the text it is."""
    opened = open_file(browser, _latest_run_dir(hostile) / "report.html")
    dialogs: list[str] = []
    opened.page.on("dialog", lambda d: dialogs.append(d.message))
    try:
        page = opened.page
        page.click("#expand-all")
        expect(page.locator("details.group > .group-body")).to_have_count(
            page.locator("details.group").count()
        )
        # Open the findings of the HTML payloads (each builds its evidence on opening).
        for name in ("scriptclose", "imgonerror", "svgonload", "attrbreak", "mdhtml"):
            page.locator("details.finding > summary", has_text=f"{MARK}{name}:").first.click()
        expect(page.locator("pre.evidence")).to_have_count(5)
        assert page.evaluate("typeof window.__pwned") == "undefined" and dialogs == []
        assert page.query_selector_all("img, svg[onload], details[open] > summary > details") == []
        assert len(page.query_selector_all("script")) == 2
        assert page.evaluate("document.querySelectorAll('[onerror], [onmouseover]').length") == 0
        body = page.text_content("body") or ""
        missing = [h.name for h in CATALOGUE if whole_text(h.text).strip() not in body]
        assert [m for m in missing if m not in TEXT_CHANGED_BY_HTML] == [], missing
        assert opened.problems == [] and opened.csp_violations() == []
    finally:
        opened.page.close()


# -- tickets ----------------------------------------------------------------------------


def _hostile_resources(n: int) -> None:
    assert n == len(CATALOGUE), f"{n} tickets for {len(CATALOGUE)} hostile notebooks"


def _adf_nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.get("content", []):
            yield from _adf_nodes(child)


def test_jira_cloud_adf_has_only_plain_text_nodes(hostile: HostileRun) -> None:
    fake = hostile.remotes["jira-v3"].fake  # type: ignore[attr-defined]
    creates = [r.json() for r in fake.requests if r.method == "POST" and r.path.endswith("/issue")]
    _hostile_resources(sum(1 for c in creates if MARK in json.dumps(c)))
    for create in creates:
        nodes = list(_adf_nodes(create["fields"]["description"]))
        kinds = {n["type"] for n in nodes}
        assert kinds <= {
            "doc",
            "paragraph",
            "heading",
            "bulletList",
            "listItem",
            "codeBlock",
            "text",
        }
        assert all("marks" not in n for n in nodes), "no link or other mark from data"
        for n in nodes:
            if n["type"] == "text":
                assert n["text"] and not set(n["text"]) & set(TERMINAL_CONTROLS)
        assert "\n" not in create["fields"]["summary"]


WIKI_SPECIALS = "[]{}|!"


def _outside(text: str, start: str, end: str) -> str:
    return re.sub(re.escape(start) + ".*?" + re.escape(end), "", text, flags=re.S)


def test_jira_server_wiki_escapes_markup_outside_noformat(hostile: HostileRun) -> None:
    fake = hostile.remotes["jira-v2"].fake  # type: ignore[attr-defined]
    bodies = [
        r.json()["fields"]["description"]
        for r in fake.requests
        if r.method == "POST" and r.path.endswith("/issue")
    ]
    _hostile_resources(sum(1 for b in bodies if MARK in b))
    for text in bodies:
        assert text.lower().count("{noformat}") % 2 == 0
        prose = _outside(text, "{noformat}", "{noformat}")
        assert unescaped(prose, WIKI_SPECIALS) == []
        assert not re.search(r"^h[1-6]\. (?!Finding|Compliance|Remediation)", prose, re.M)
        assert not set(text) & set(TERMINAL_CONTROLS)


MD_SPECIALS = "[]()<>!|@$&`"


def test_github_markdown_escapes_markup_outside_fences(hostile: HostileRun) -> None:
    fake = hostile.remotes["github"].fake  # type: ignore[attr-defined]
    issues = [r.json() for r in fake.requests if r.method == "POST" and r.path.endswith("/issues")]
    _hostile_resources(sum(1 for i in issues if MARK in i["body"]))
    for issue in issues:
        prose = re.sub(r"^(`{3,})text\n.*?\n\1$", "", issue["body"], flags=re.S | re.M)
        assert unescaped(prose, MD_SPECIALS) == []
        assert not re.search(r"^\s*(\||#{1,2} |#{4,} )", prose, re.M)
        assert not set(issue["body"] + issue["title"]) & set(TERMINAL_CONTROLS)


def test_servicenow_text_carries_no_controls(hostile: HostileRun) -> None:
    sn = hostile.remotes["servicenow"].fake  # type: ignore[attr-defined]
    records = [r.json() for r in sn.requests if r.method == "POST"]
    _hostile_resources(sum(1 for r in records if MARK in json.dumps(r)))
    for record in records:
        text = record["short_description"] + record["description"]
        assert not set(text) & set(TERMINAL_CONTROLS)


def test_webhook_events_keep_ids_exact_in_valid_json_and_text_inert(
    hostile: HostileRun,
) -> None:
    """A webhook event is data for a program: the resource id is the exact value (JSON
    escapes it), the human text (summary) is inert."""
    requests = hostile.remotes["webhook"].receiver.requests  # type: ignore[attr-defined]
    events = [json.loads(r.body.decode("utf-8")) for r in requests]
    ids = {e["problem"]["resource_id"] for e in events}
    assert {whole_text(h.text) for h in CATALOGUE} <= ids
    for e in events:
        assert not set(e["summary"]) & set(TERMINAL_CONTROLS)


def test_jira_csv_file_is_guarded(hostile: HostileRun) -> None:
    rows = hostile.remotes["jira-csv"].rows()  # type: ignore[attr-defined]
    assert len(rows) == len(CATALOGUE)
    assert [c[:40] for row in rows for c in row if not _guarded(c)] == []


# -- logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_log_line_carrying_data_stays_one_inert_line(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(fmt)
    log = logging.getLogger("scanner.test")
    try:
        for h in CATALOGUE:
            log.warning("resource %s failed", h.text, extra={"resource_id": h.text})
    finally:
        logging.getLogger().handlers.clear()
    lines = capsys.readouterr().err.split("\n")
    assert lines[-1] == "" and len(lines) - 1 == len(CATALOGUE), "a line was split"
    for line, h in zip(lines, CATALOGUE, strict=False):
        assert mark(h) in line
        if fmt == "json":
            doc = json.loads(line)
            assert doc["resource_id"] == h.text and mark(h) in doc["msg"]
        else:
            assert not set(line) & set(TERMINAL_CONTROLS + "\r\n")
            assert not re.search("[\ud800-\udfff]", line)


def test_a_traceback_in_a_text_log_keeps_its_lines_but_loses_controls(
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup_logging("text")
    try:
        try:
            raise ValueError("bad tag \x1b]0;t\x07 \r\nforged")
        except ValueError:
            logging.getLogger("scanner.test").exception("failed")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "Traceback (most recent call last):" in err and err.count("\n") > 3
    assert not set(err) & set(TERMINAL_CONTROLS)


# -- snapshot: the hostile strings survive the round trip -------------------------------


def test_the_snapshot_keeps_every_hostile_string_exactly(hostile: HostileRun) -> None:
    snap = Snapshot.load(hostile.work / "tonight.json.gz")
    names = set(snap.resources["123456789012"][REGION]["sagemaker:notebook-instance"])
    assert {whole_text(h.text) for h in CATALOGUE} <= names
    assert "hstsurrogate:a\ufffdb\ufffdc" in names, "lone surrogates become U+FFFD"


def test_drift_files_guard_and_escape_hostile_values(hostile: HostileRun) -> None:
    drift = hostile.reports / "drift"
    rows = list(csv.reader(io.StringIO((drift / "drift.csv").read_text(encoding="utf-8"))))
    assert [c[:40] for row in rows for c in row if not _guarded(c)] == []
    page = (drift / "drift.html").read_text(encoding="utf-8")
    assert "<script>window" not in page and "<img src=x" not in page
    assert f"{MARK}imgonerror" in page
