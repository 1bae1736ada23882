"""Notifications against real servers on 127.0.0.1: an HTTP receiver and an SMTP server.

Records come from a real history store (:class:`History`): each run is written the way
``scanner.run`` writes it and its drift is computed by ``scanner.history.drift``, so the
message is tested on exactly the drift the nightly job hands it.  Nothing is mocked.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner import __version__
from scanner.config import Config
from scanner.demo.server import free_port
from scanner.history.drift import drift_for_run
from scanner.history.store import Store
from scanner.logs import setup_logging
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from scanner.notify import Delivery, build_message, check_secrets, send_all
from scanner.notify.render import (
    SLACK_SECTION_LIMIT,
    json_document,
    slack_payload,
    subject,
    text,
)
from tests.notifykit import Receiver
from tests.reportkit import ACCOUNT, finding, verdict_finding

REGION = "us-west-2"
NB = "sagemaker:notebook-instance"
VERDICT = "notebook-no-public-access-path"
ROOT = "notebook-root-access-disabled"
HOOK_ENV = "PLS_TEST_HOOK_URL"
TOKEN = "T0FAKE/B0FAKE/sekritwebhooktoken123"
PASSWORD = "fake-smtp-password-42"
IAM_SUMMARY = (
    "arn:aws:iam::111122223333:user/bob can call sagemaker:CreatePresignedNotebookInstanceUrl"
)


# -- findings and records ------------------------------------------------------------------


def verdict(resource_id: str, status: Status = Status.FAIL) -> Finding:
    """The notebook verdict: FAIL with two paths (network and IAM), or no path at all."""
    found = verdict_finding(resource_id)
    if status is Status.FAIL:
        return found
    closed = {"paths": [], "paths_total": 0, "paths_by_kind": {}, "closed": ["no route"]}
    return dataclasses.replace(found, status=status, evidence=closed)


def root(resource_id: str, status: Status) -> Finding:
    return finding(status, rule_id=ROOT, resource_id=resource_id)


def snapshot(notebooks: list[str], *, failed_collector: bool) -> Snapshot:
    snap = Snapshot(accounts=[ACCOUNT], regions=[REGION])
    for name in notebooks:
        snap.add(ACCOUNT, REGION, NB, name, {"NotebookInstanceName": name}, None)
    snap.record(CollectorOutcome("sagemaker.notebooks", ACCOUNT, REGION, [NB], OutcomeStatus.OK, 1))
    if failed_collector:
        snap.record(
            CollectorOutcome(
                collector="sagemaker.domains",
                account_id=ACCOUNT,
                region=REGION,
                resource_types=["sagemaker:domain"],
                status=OutcomeStatus.ERROR,
                error_code="AccessDenied",
                operation="ListDomains",
            )
        )
    return snap


class History:
    """A real history store: :meth:`run` stores a run as ``scanner.run`` does (begin,
    save, drift, seal) and returns its record with the real drift attached."""

    def __init__(self, directory: Path) -> None:
        self.reports = directory / "reports"
        self.url = f"sqlite:///{directory / 'history.db'}"
        self.count = 0

    def run(
        self, findings: list[Finding], *, failed_collector: bool = False, baseline: str = ""
    ) -> RunRecord:
        self.count += 1
        day = self.count
        run_id = f"202611{day:02d}T020000Z-run{day:03d}"
        out = self.reports / run_id
        record = RunRecord(
            run_id=run_id,
            snapshot=snapshot(
                sorted({f.resource_id for f in findings}), failed_collector=failed_collector
            ),
            findings=findings,
            started_at=f"2026-11-{day:02d}T02:00:00Z",
            finished_at=f"2026-11-{day:02d}T02:05:00Z",
            output_dir=out,
            reports={"html": out / "report.html", "json": out / "findings.json"},
        )
        with Store.open(self.url) as store, store.writing():
            store.begin_run(
                run_id,
                started_at=record.started_at,
                source="test",
                fail_on=Severity.LOW,
                config_hash="",
                rulepack_version="",
            )
            store.save_results(record)
            record.drift = drift_for_run(store, run_id, record.status, None)
            store.finish_run(record)
            if baseline:
                store.set_baseline(baseline, store.run(run_id), None)
        return record


@pytest.fixture
def history(tmp_path: Path) -> History:
    return History(tmp_path)


def regressing_pair(history: History) -> RunRecord:
    """Two runs: nb-1's verdict goes PASS -> FAIL, nb-2's verdict is new (absent before)
    and its root-access finding regresses (a FAIL that is no public path)."""
    history.run([verdict("nb-1", Status.PASS), root("nb-2", Status.PASS)])
    return history.run([verdict("nb-1"), verdict("nb-2"), root("nb-2", Status.FAIL)])


def config(tmp_path: Path, *targets: dict[str, Any]) -> Config:
    return Config.model_validate({"notify": {"targets": list(targets)}, "base_dir": str(tmp_path)})


def hook(name: str = "hook", **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "webhook", "url_env": HOOK_ENV, **extra}


def deliver_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Receiver, record: RunRecord
) -> dict[str, Any]:
    monkeypatch.setenv(HOOK_ENV, server.url())
    [delivery] = send_all(record, config(tmp_path, hook()), report_dir=None)
    assert delivery.sent, delivery
    [request] = server.requests
    doc: dict[str, Any] = request.json()
    return doc


# -- the JSON webhook ----------------------------------------------------------------------


def test_json_document_leads_with_new_public_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = regressing_pair(history)
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    [delivery] = send_all(record, config(tmp_path, hook()), report_dir=None)
    assert delivery == Delivery("hook", "webhook", ok=True, status=200)
    [request] = server.requests
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"privatelink-scanner/{__version__}"
    assert request.headers["x-scanner-run-id"] == record.run_id
    assert "x-scanner-signature" not in request.headers  # no secret configured
    doc = request.json()
    assert list(doc) == [
        "event",
        "schema_version",
        "run_id",
        "status",
        "complete",
        "exit_code",
        "started_at",
        "finished_at",
        "subject",
        "counts",
        "failed_collectors",
        "new_public_paths",
        "drift",
        "report",
    ]
    raw = request.body.decode()
    assert raw.index('"new_public_paths"') < raw.index('"drift"') < raw.index('"report"')
    assert (doc["event"], doc["run_id"], doc["status"], doc["complete"], doc["exit_code"]) == (
        "scan.completed",
        record.run_id,
        "complete",
        True,
        1,
    )
    assert doc["counts"]["FAIL"] == 3 and doc["counts"]["new_public_paths"] == 2
    paths = doc["new_public_paths"]
    assert [(p["resource_id"], p["was"]) for p in paths] == [("nb-1", "PASS"), ("nb-2", None)]
    assert paths[0]["account_id"] == ACCOUNT and paths[0]["region"] == REGION
    assert paths[0]["target"] == "notebook instance" and paths[0]["paths_total"] == 2
    assert [p["summary"] for p in paths[0]["paths"]] == [
        "DirectInternetAccess is Enabled",
        f"{IAM_SUMMARY} (no aws:SourceVpce (public internet))",
    ]
    previous = doc["drift"]["previous"]
    assert previous["run"] == "20261101T020000Z-run001"
    assert (previous["findings"]["new"], previous["findings"]["regressed"]) == (1, 2)
    # The root-access regression is drift, never a public access path.
    assert [(d["rule_id"], d["resource_id"]) for d in previous["regressed"]] == [
        (VERDICT, "nb-1"),
        (ROOT, "nb-2"),
    ]
    assert doc["drift"]["baseline"] is None and doc["drift"]["first_run"] is False
    assert doc["report"] == {
        "dir": str(record.output_dir),
        "html": str(record.reports["html"]),
    }


def test_report_dir_given_by_the_caller_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = history.run([verdict("nb-1", Status.PASS)])
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    send_all(record, config(tmp_path, hook()), report_dir=tmp_path / "latest")
    assert server.requests[0].json()["report"]["dir"] == str(tmp_path / "latest")


def test_first_run_counts_every_fail_verdict_as_new(history: History) -> None:
    record = history.run([verdict("nb-1"), verdict("nb-2", Status.PASS)])
    message = build_message(record)
    assert message.first_run and message.previous is None
    assert [p.resource_id for p in message.public_paths] == ["nb-1"]
    assert (
        subject(message) == f"[privatelink-scanner] 1 new public access path — run {record.run_id}"
    )
    assert "first run in this store: nothing to compare with" in message.drift_notes


def test_a_record_without_a_store_has_no_drift_and_every_fail_verdict_is_new(
    tmp_path: Path,
) -> None:
    record = RunRecord(
        run_id="r-nostore",
        snapshot=snapshot(["nb-1"], failed_collector=False),
        findings=[verdict("nb-1")],
        started_at="2026-11-01T02:00:00Z",
        finished_at="2026-11-01T02:05:00Z",
    )
    doc = json_document(build_message(record))
    assert [p["resource_id"] for p in doc["new_public_paths"]] == ["nb-1"]
    assert doc["drift"]["notes"] == ["no history store: nothing to compare with"]
    assert doc["report"] == {"dir": None, "html": None}


def test_a_verdict_still_failing_is_no_new_path(history: History) -> None:
    history.run([verdict("nb-1")])
    record = history.run([verdict("nb-1")])
    message = build_message(record)
    assert message.public_paths == ()
    assert message.previous is not None and message.previous.findings["still_failing"] == 1
    assert subject(message) == f"[privatelink-scanner] no change — run {record.run_id}"


def test_a_verdict_from_error_to_fail_is_a_new_path(history: History) -> None:
    history.run([verdict("nb-1", Status.ERROR)])
    message = build_message(history.run([verdict("nb-1")]))
    assert [(p.resource_id, p.was) for p in message.public_paths] == [("nb-1", "ERROR")]


def test_drift_against_the_baseline(history: History) -> None:
    first = history.run([root("nb-1", Status.PASS)], baseline="golden")
    history.run([root("nb-1", Status.PASS)])
    record = history.run([root("nb-1", Status.FAIL)])
    doc = json_document(build_message(record))
    base = doc["drift"]["baseline"]
    assert (base["run"], base["baseline"]) == (first.run_id, "golden")
    assert base["findings"]["regressed"] == 1
    assert doc["drift"]["previous"]["run"] == "20261102T020000Z-run002"
    assert f"Drift since baseline golden (run {first.run_id})" in text(build_message(record))


def test_incomplete_run_says_so_loudly(history: History) -> None:
    history.run([root("nb-1", Status.PASS)])
    record = history.run([root("nb-1", Status.PASS)], failed_collector=True)
    message = build_message(record)
    body = text(message)
    assert body.splitlines()[0] == (
        f"Run {record.run_id}: INCOMPLETE: 1 collector failed; nothing marked ERROR was checked"
    )
    assert "failed: sagemaker.domains in 111122223333/us-west-2: error AccessDenied" in body
    assert subject(message).startswith("[privatelink-scanner] INCOMPLETE (1 collector failed)")
    doc = json_document(message)
    assert (doc["status"], doc["complete"], doc["exit_code"]) == ("incomplete", False, 3)


# -- signing, retries, failures ------------------------------------------------------------


def test_signature_verifies_over_timestamp_and_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = regressing_pair(history)
    (tmp_path / "hook.secret").write_text("s3cr3t-signing-key\n")
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    target = hook(secret_file="hook.secret")  # relative to the config's directory
    [delivery] = send_all(record, config(tmp_path, target), report_dir=None)
    assert delivery.sent, delivery
    [request] = server.requests
    timestamp = request.headers["x-scanner-timestamp"]
    assert timestamp.isdigit()

    def signature(key: bytes) -> str:
        mac = hmac.new(key, timestamp.encode() + b"." + request.body, hashlib.sha256)
        return f"sha256={mac.hexdigest()}"

    assert request.headers["x-scanner-signature"] == signature(b"s3cr3t-signing-key")
    # The file's newline is not part of the key.
    assert request.headers["x-scanner-signature"] != signature(b"s3cr3t-signing-key\n")


def test_500_then_200_is_retried_and_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = regressing_pair(history)
    server = receiver(500, 200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    [delivery] = send_all(record, config(tmp_path, hook()), report_dir=None)
    assert delivery == Delivery("hook", "webhook", ok=True, status=200)
    assert len(server.requests) == 2
    assert server.requests[0].body == server.requests[1].body


def test_404_is_a_failed_delivery_and_the_next_target_is_still_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = regressing_pair(history)
    dead, alive = receiver((404, b"no_service")), receiver(200)
    monkeypatch.setenv(HOOK_ENV, dead.url())
    monkeypatch.setenv("PLS_TEST_HOOK_2", alive.url())
    cfg = config(tmp_path, hook("dead"), hook("alive", url_env="PLS_TEST_HOOK_2"))
    deliveries = send_all(record, cfg, report_dir=None)
    assert deliveries == [
        Delivery("dead", "webhook", ok=False, error="HTTP 404: no_service", status=404),
        Delivery("alive", "webhook", ok=True, status=200),
    ]
    assert len(dead.requests) == 1  # a 404 is not retried
    assert len(alive.requests) == 1


def test_a_dead_port_is_a_failed_delivery(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History
) -> None:
    record = regressing_pair(history)
    monkeypatch.setenv(HOOK_ENV, f"http://127.0.0.1:{free_port()}/services/{TOKEN}")
    [delivery] = send_all(record, config(tmp_path, hook()), report_dir=None)
    assert not delivery.ok
    # urllib3's own message quotes the path (the token): only our words are returned.
    assert delivery.error == "gave up after 3 retries: cannot connect: Connection refused"


def test_unset_env_var_fails_that_target_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    record = regressing_pair(history)
    server = receiver(200)
    monkeypatch.delenv("PLS_TEST_NO_SUCH_VAR", raising=False)
    monkeypatch.setenv(HOOK_ENV, server.url())
    cfg = config(tmp_path, hook("unset", url_env="PLS_TEST_NO_SUCH_VAR"), hook("set"))
    unset, sent = send_all(record, cfg, report_dir=None)
    assert unset == Delivery(
        "unset",
        "webhook",
        ok=False,
        error="url_env: environment variable PLS_TEST_NO_SUCH_VAR is not set",
    )
    assert sent.sent and len(server.requests) == 1


def test_check_secrets_names_what_is_missing_without_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Any
) -> None:
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    monkeypatch.delenv("PLS_TEST_NO_SUCH_VAR", raising=False)
    monkeypatch.setenv("PLS_TEST_FTP_URL", "ftp://files.example.com/drop-credential-9")
    (tmp_path / "ok.secret").write_text("a-good-signing-key\n")
    cfg = config(
        tmp_path,
        hook("good", secret_file="ok.secret"),
        hook("unset", url_env="PLS_TEST_NO_SUCH_VAR"),
        hook("nofile", secret_file="missing.secret"),
        hook("ftp", url_env="PLS_TEST_FTP_URL"),
        {
            "name": "mail",
            "kind": "smtp",
            "host": "127.0.0.1",
            "sender": "scanner@example.com",
            "to": ["sec@example.com"],
            "username": "scanner",
            "password_file": "/nonexistent/smtp.pass",
        },
    )
    problems = check_secrets(cfg)
    assert problems == [
        "notify target 'unset': url_env: environment variable PLS_TEST_NO_SUCH_VAR is not set",
        "notify target 'nofile': secret_file: cannot read "
        f"{tmp_path / 'missing.secret'}: No such file or directory",
        "notify target 'ftp': the webhook URL from PLS_TEST_FTP_URL is not an http:// or "
        "https:// URL",
        "notify target 'mail': password_file: cannot read /nonexistent/smtp.pass: "
        "No such file or directory",
    ]
    assert not any("drop-credential-9" in p for p in problems)
    assert server.requests == []
    assert check_secrets(config(tmp_path, hook("good", secret_file="ok.secret"))) == []


# -- when ----------------------------------------------------------------------------------


def test_when_problems_skips_a_clean_run_and_sends_a_failing_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    cfg = config(tmp_path, hook(when="problems"))
    clean = history.run([verdict("nb-1", Status.PASS), root("nb-1", Status.PASS)])
    [skipped] = send_all(clean, cfg, report_dir=None)
    assert skipped.ok and not skipped.sent
    assert skipped.skipped == "when: problems, and the run is complete with nothing failing"
    assert server.requests == []
    failing = history.run([verdict("nb-1", Status.PASS), root("nb-1", Status.FAIL)])
    [sent] = send_all(failing, cfg, report_dir=None)
    assert sent.sent and len(server.requests) == 1


def test_when_changes_sends_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    cfg = config(tmp_path, hook(when="changes"))

    def outcome(record: RunRecord) -> str | None:
        [delivery] = send_all(record, cfg, report_dir=None)
        assert delivery.ok, delivery
        return delivery.skipped

    failing = [verdict("nb-1", Status.PASS), root("nb-1", Status.FAIL)]
    fixed = [verdict("nb-1", Status.PASS), root("nb-1", Status.PASS)]
    assert outcome(history.run(failing)) is None  # first run: its FAIL is new
    assert outcome(history.run(failing)) == (
        "when: changes, and nothing changed since the previous run"
    )
    assert outcome(history.run(fixed)) is None  # resolved is a change
    assert outcome(history.run(fixed)) is not None
    assert outcome(history.run(fixed, failed_collector=True)) is None  # incomplete
    assert len(server.requests) == 3


# -- Slack ---------------------------------------------------------------------------------


def test_slack_payload_sections_stay_within_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, history: History, receiver: Any
) -> None:
    names = [f"nb-{i:03d}-{'x' * 40}" for i in range(20)]
    record = history.run([verdict(n) for n in names])
    server = receiver(200)
    monkeypatch.setenv(HOOK_ENV, server.url())
    [delivery] = send_all(record, config(tmp_path, hook(format="slack")), report_dir=None)
    assert delivery.sent, delivery
    payload = server.requests[0].json()
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == text(build_message(record))
    assert all(b["type"] == "section" and b["text"]["type"] == "mrkdwn" for b in payload["blocks"])
    sections = [b["text"]["text"] for b in payload["blocks"]]
    assert all(len(s) <= SLACK_SECTION_LIMIT for s in sections), [len(s) for s in sections]
    assert sections[0].startswith(f"*Run {record.run_id}: complete*")
    paths = sections[1]
    assert paths.startswith("*New public access paths: 20*")
    shown = paths.count("• *notebook instance ")
    assert 0 < shown < 20
    assert paths.endswith(f"(+{20 - shown} more)")
    assert sections[-1].startswith(f"Report: `{record.output_dir}`")


def test_slack_mrkdwn_escapes_values(history: History) -> None:
    """A value from AWS never becomes a Slack mention or link."""
    record = history.run([verdict("nb-<!channel>")])
    blocks = slack_payload(build_message(record))["blocks"]
    assert "• *notebook instance nb-&lt;!channel&gt; (account" in blocks[1]["text"]["text"]
    assert not any("<!channel>" in b["text"]["text"] for b in blocks)


# -- email ---------------------------------------------------------------------------------


def mail_target(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "mail",
        "kind": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": "scanner@example.com",
        "to": ["sec@example.com", "oncall@example.com"],
        "timeout": 10,
        **extra,
    }


def test_email_subject_headers_and_body_order(
    tmp_path: Path, history: History, smtp_server: Any
) -> None:
    box, port = smtp_server()
    record = regressing_pair(history)
    [delivery] = send_all(record, config(tmp_path, mail_target(port)), report_dir=None)
    assert delivery == Delivery("mail", "smtp", ok=True)
    [mail] = box.mail
    assert mail.sender == "scanner@example.com"
    assert mail.recipients == ["sec@example.com", "oncall@example.com"]
    msg = mail.message
    assert (
        msg["Subject"] == f"[privatelink-scanner] 2 new public access paths — run {record.run_id}"
    )
    assert msg["From"] == "scanner@example.com"
    assert msg["To"] == "sec@example.com, oncall@example.com"
    assert msg["X-Scanner-Run-Id"] == record.run_id
    assert box.attempts == []  # no username: no login
    body = msg.get_content().replace("\r\n", "\n")  # CRLF on the wire
    assert body == text(build_message(record))
    assert body.splitlines()[0] == f"Run {record.run_id}: complete"
    paths = body.index("New public access paths: 2")
    iam = body.index(IAM_SUMMARY)
    drift = body.index("Drift since the previous run 20261101T020000Z-run001")
    report = body.index(f"Report: {record.output_dir}")
    assert paths < iam < drift < report
    assert f"HTML report: {record.reports['html']}" in body[report:]


def test_smtp_login_uses_the_password_file(
    tmp_path: Path, history: History, smtp_server: Any
) -> None:
    box, port = smtp_server({"scanner": "right-password-7"})
    (tmp_path / "smtp.pass").write_text("right-password-7\n")
    target = mail_target(port, username="scanner", password_file="smtp.pass")
    [delivery] = send_all(regressing_pair(history), config(tmp_path, target), report_dir=None)
    assert delivery.sent, delivery
    assert box.attempts == [("scanner", "right-password-7")]
    assert len(box.mail) == 1


def test_smtp_wrong_password_is_a_failed_delivery(
    tmp_path: Path, history: History, smtp_server: Any
) -> None:
    box, port = smtp_server({"scanner": "right-password-7"})
    (tmp_path / "smtp.pass").write_text("wrong-password-8\n")
    target = mail_target(port, username="scanner", password_file="smtp.pass")
    [delivery] = send_all(regressing_pair(history), config(tmp_path, target), report_dir=None)
    assert not delivery.ok
    assert delivery.error is not None
    assert delivery.error.startswith(f"SMTP 127.0.0.1:{port}: login as scanner refused: 535")
    assert box.attempts and all(a == ("scanner", "wrong-password-8") for a in box.attempts)
    assert box.mail == []


# -- no secret in any log line or error ----------------------------------------------------


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], Callable[[], str]]]:
    """``start()`` sets up the product's own JSON logging on stderr, with urllib3 at DEBUG
    (it logs request paths), and returns a reader of everything written since.  Called in
    the test body: pytest swaps ``sys.stderr`` between setup and call.  The logging setup
    is restored afterwards."""
    root_logger, lib = logging.getLogger(), logging.getLogger("urllib3")
    saved = (root_logger.handlers[:], root_logger.level, lib.level)

    def start() -> Callable[[], str]:
        setup_logging("json", verbose=True)
        lib.setLevel(logging.DEBUG)
        capfd.readouterr()

        def read() -> str:
            out, err = capfd.readouterr()
            return out + err

        return read

    yield start
    root_logger.handlers[:] = saved[0]
    root_logger.setLevel(saved[1])
    lib.setLevel(saved[2])


def test_secrets_never_reach_logs_or_errors(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    history: History,
    receiver: Any,
    smtp_server: Any,
    json_logs: Callable[[], Callable[[], str]],
) -> None:
    read_logs = json_logs()
    record = regressing_pair(history)
    server = receiver(500, (404, b"no_service"))
    box, port = smtp_server({"scanner": "the-right-one-1"})
    monkeypatch.setenv(HOOK_ENV, server.url(f"/services/{TOKEN}"))
    monkeypatch.setenv("PLS_TEST_SMTP_PASSWORD", PASSWORD)
    cfg = config(
        tmp_path,
        hook(format="slack"),
        mail_target(port, username="scanner", password_env="PLS_TEST_SMTP_PASSWORD"),
    )
    deliveries = send_all(record, cfg, report_dir=None)
    logs = read_logs()
    assert [(d.name, d.ok) for d in deliveries] == [("hook", False), ("mail", False)]
    assert box.attempts and box.attempts[0] == ("scanner", PASSWORD)  # it was really sent
    assert server.requests[0].path == f"/services/{TOKEN}"  # and the token really used
    # The logs were captured: both failures are there, and urllib3's retry line was masked.
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    failures = [x["msg"] for x in lines if x["level"] == "warning" and "notify" in x["msg"]]
    assert len(failures) == 2, logs
    assert any(x["logger"].startswith("urllib3") and x["msg"] == "Retry: ***" for x in lines)
    for secret in (TOKEN, "sekritwebhooktoken123", PASSWORD):
        assert secret not in logs
        assert all(secret not in (d.error or "") for d in deliveries)
