"""A nightly cycle end to end: notifications to real servers, metrics, and no secret in logs.

``scanner schedule --once`` runs against moto's server with a webhook receiver and an SMTP
server (aiosmtpd) started by the test, every secret it needs read from the environment or
a file, and debug logging on.  The logs are then searched for each fake secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from scanner.demo.server import MotoServer, free_port
from tests.clikit import run_cli
from tests.historykit import runs, show
from tests.notifykit import Mailbox, Receiver
from tests.schedulekit import schedule_config

AWS_SECRET = "fake-aws-secret-Zq81mVt0wK"
AWS_TOKEN = "fake-session-token-Pq77xLk3Rr"
HOOK_PATH = "/services/T0NIGHT/B0NIGHT/nightlywebhooktoken987"
DEAD_PATH = "/services/T0DEAD/B0DEAD/deadwebhooktoken654"
SIGNING_KEY = "fake-signing-key-Ab12Cd34Ef"
SMTP_PASSWORD = "fake-smtp-password-Gh56Ij"


def test_a_cycle_notifies_writes_metrics_and_logs_no_secret(
    moto: MotoServer,
    tmp_path: Path,
    receiver: Callable[..., Receiver],
    smtp_server: Callable[..., tuple[Mailbox, int]],
) -> None:
    hook = receiver(200)
    mailbox, smtp_port = smtp_server({"scanner": SMTP_PASSWORD})
    (tmp_path / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    (tmp_path / "signing-key").write_text(SIGNING_KEY)
    config = schedule_config(
        tmp_path,
        cron="0 2 * * *",
        extra=f"""\
notify:
  targets:
    - name: hook
      kind: webhook
      url_env: NIGHTLY_HOOK
      secret_file: signing-key
    - name: dead
      kind: webhook
      format: slack
      url_env: DEAD_HOOK
      timeout: 1
    - name: mail
      kind: smtp
      host: 127.0.0.1
      port: {smtp_port}
      security: none
      username: scanner
      password_file: smtp-password
      sender: scanner@example.test
      to: [secops@example.test]
""",
    )
    metrics = tmp_path / "node" / "scanner.prom"
    metrics.parent.mkdir()
    proc = run_cli(
        "schedule", "--once", "-v", "--config", str(config), "--metrics-file", str(metrics),
        env={
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_SESSION_TOKEN": AWS_TOKEN,
            "NIGHTLY_HOOK": hook.url(HOOK_PATH),
            "DEAD_HOOK": f"http://127.0.0.1:{free_port()}{DEAD_PATH}",
        },
    )  # fmt: skip
    assert proc.returncode == 1, show(proc)  # the empty account's two FAILs
    store = f"sqlite:///{tmp_path / 'reports' / 'history.db'}"
    [run] = runs(store)

    # the webhook: the run's JSON document, signed over timestamp and body
    [request] = hook.requests
    path, headers, doc, body = request.path, request.headers, request.json(), request.body
    assert path == HOOK_PATH
    assert doc["event"] == "scan.completed" and doc["run_id"] == run["id"]
    assert doc["report"]["dir"].endswith(run["id"])
    stamp, signature = headers["x-scanner-timestamp"], headers["x-scanner-signature"]
    expected = hmac.new(SIGNING_KEY.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert signature == f"sha256={expected.hexdigest()}"

    # the email, sent after logging in with the password from its file
    assert mailbox.attempts == [("scanner", SMTP_PASSWORD)]
    [mail] = mailbox.mail
    assert run["id"] in str(mail.message["Subject"])
    assert mail.message["To"] == "secops@example.test"
    assert mail.recipients == ["secops@example.test"]

    # the dead target failed, named, and did not fail the cycle
    assert "notification dead failed" in proc.stderr

    # metrics for node_exporter
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert families["privatelink_scanner_exit_code"].samples[0].value == 1
    assert families["privatelink_scanner_run_complete"].samples[0].value == 1
    assert families["privatelink_scanner_last_success_timestamp_seconds"].samples[0].value > 0
    assert list(metrics.parent.iterdir()) == [metrics]  # written by rename, no temp left

    # debug logging was on, and no secret reached any line
    out = proc.stdout + proc.stderr
    assert '"level": "debug"' in out
    for secret in (
        AWS_SECRET,
        AWS_TOKEN,
        "nightlywebhooktoken987",
        "deadwebhooktoken654",
        SIGNING_KEY,
        SMTP_PASSWORD,
    ):
        assert secret not in out, f"{secret} appears in the logs"
