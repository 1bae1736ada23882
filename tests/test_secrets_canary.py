"""Secrets never leak: recognisable fake credentials appear in no file and no output.

1. A PostgreSQL ``store.url`` with a password (a role of the local server; trust auth
   accepts any password, so a wrong one is not refused): scans at debug level in JSON and
   text logs, the history commands, ``config check``, and a connection refused on a wrong
   port.  The password (raw and URL-encoded) is in no output, report, or stored run row.
2. A nightly cycle (collect from moto, store, report, link, metrics) with a ticket sync to
   a fake Jira and a signed webhook, then ``tickets sync`` and ``tickets list``: AWS keys,
   session token, Jira token, webhook URL token and signing key, in every form a client
   could encode them (raw, URL-encoded, base64, Basic auth), are in no file under the test
   directory (SQLite bytes, the snapshot decompressed, each report, the xlsx's members,
   the metrics) and in no stdout or stderr.
"""

from __future__ import annotations

import base64
import gzip
import io
import subprocess
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import psycopg
import yaml

from scanner.demo.server import MotoServer
from tests.historykit import cli, show, sql, write_config
from tests.notifykit import Receiver
from tests.storekit import PG_ADMIN
from tests.ticketfakes import FakeJira
from tests.ticketkit import FAST

PG_ROLE = "plscan_canary"
PG_PASSWORD = "PgCanary-Pw/7x@q+z"  # '/', '@' and '+' must be URL-encoded in the URL


def forms(secret: str) -> set[str]:
    """Every text form a secret could take on its way into a file or a header."""
    raw = secret.encode()
    return {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }


def readable(path: Path) -> Iterable[tuple[str, bytes]]:
    """The bytes of a file as a reader would see them: gzip and zip (xlsx) opened."""
    body = path.read_bytes()
    yield str(path), body
    if body[:2] == b"\x1f\x8b":
        yield f"{path} (gunzipped)", gzip.decompress(body)
    if body[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                yield f"{path}!{name}", archive.read(name)


def sweep(
    directories: Iterable[Path], outputs: Iterable[Any], secrets: dict[str, str]
) -> tuple[int, int, list[str]]:
    """Search every file under ``directories`` and every output for every form of every
    secret; returns (files searched, outputs searched, leaks found)."""
    needles = {name: forms(value) for name, value in secrets.items()}
    leaks: list[str] = []
    files = 0
    for directory in directories:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and not p.is_symlink()):
            files += 1
            for where, body in readable(path):
                for name, variants in needles.items():
                    leaks += [f"{name} in {where}" for v in variants if v.encode() in body]
    streams = 0
    for proc in outputs:
        for stream in ("stdout", "stderr"):
            streams += 1
            text = getattr(proc, stream) or ""
            for name, variants in needles.items():
                leaks += [f"{name} in {stream} of {proc.args[:4]}" for v in variants if v in text]
    return files, streams, leaks


# -- 1. the store password ---------------------------------------------------------------


def password_url(pg_store_url: str, port: int = 5432) -> str:
    """``pg_store_url``'s schema, reached as a role with a password in the URL."""
    schema = pg_store_url.rsplit("%3D", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (PG_ROLE,)).fetchone()
        if not exists:
            conn.execute(f"CREATE ROLE {PG_ROLE} LOGIN PASSWORD 'unused-by-trust-auth'")
        conn.execute(f'GRANT ALL ON SCHEMA "{schema}" TO {PG_ROLE}')
    secret = urllib.parse.quote(PG_PASSWORD, safe="")
    return (
        f"postgresql+psycopg://{PG_ROLE}:{secret}@127.0.0.1:{port}/test"
        f"?options=-csearch_path%3D{schema}"
    )


def test_the_store_password_is_in_no_output_file_or_row(
    pg_store_url: str, snapshots: tuple[Path, Path], tmp_path: Path
) -> None:
    url = password_url(pg_store_url)
    out = tmp_path / "reports"
    config = write_config(tmp_path / "cfg", f"store:\n  url: '{url}'\n")
    scan = ("scan", "--snapshot", "--output", str(out), "-v")
    outputs = [
        cli(
            *scan[:2],
            str(snapshots[0]),
            *scan[2:],
            "--log-format",
            "json",
            store=None,
            config=config,
        ),
        cli(
            *scan[:2],
            str(snapshots[1]),
            *scan[2:],
            "--log-format",
            "text",
            store=None,
            config=config,
        ),
        cli("runs", "list", "--format", "json", store=None, config=config),
        cli("runs", "show", "latest", store=None, config=config),
        cli("runs", "verify", store=None, config=config),
        cli("config", "check", str(config), "--format", "json", store=None),
        cli("schedule", "status", "--format", "json", store=None, config=config),
        cli("drift", "--output", str(out / "drift"), store=None, config=config),
    ]
    for proc in outputs:
        assert proc.returncode in (0, 1), show(proc)  # the role really wrote and read it
    # A server that does not answer: the error names the URL, its password masked.
    wrong = password_url(pg_store_url, port=1)
    refused = cli("runs", "list", store=wrong)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, show(refused)
    assert f"store postgresql+psycopg://{PG_ROLE}:***@127.0.0.1:1/test" in refused.stderr
    # A URL the driver cannot parse: still masked.
    bad = cli("runs", "list", store=f"postgresql+psycopg://{PG_ROLE}:{PG_PASSWORD}@[bad/test")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr, show(bad)
    outputs += [refused, bad]

    rows = sql(pg_store_url, "SELECT CAST(r.* AS text) FROM runs r")
    assert len(rows) == 2, rows
    stored = [subprocess.CompletedProcess(["runs row"], 0, r[0], "") for r in rows]
    files, streams, leaks = sweep([out], [*outputs, *stored], {"store password": PG_PASSWORD})
    # 2 runs x 3 reports (csv, html, json) and the drift report: every file searched
    assert files >= 7 and streams == 2 * (len(outputs) + len(stored)), (files, streams)
    assert leaks == []


# -- 2. cloud and ticketing credentials ------------------------------------------------------

CANARIES = {
    "AWS_ACCESS_KEY_ID": "AKIAFAKECANARY0KEYID",
    "AWS_SECRET_ACCESS_KEY": "fakeCanarySecret/AccessKey+0123456789abcd",
    "AWS_SESSION_TOKEN": "FakeCanarySessionToken//ZZZ0123456789canary==",
    "JIRA_TOKEN": "jira-canary-token-5f3e1d",
    "HOOK_SECRET": "hook-canary-signing-key-77",
    "HOOK_TOKEN": "hookcanarypathtoken99",  # the secret part of the webhook's URL
}


def test_canary_credentials_are_in_no_file_and_no_output(
    moto: MotoServer,
    jira_server: Callable[..., FakeJira],
    receiver: Callable[..., Receiver],
    tmp_path: Path,
) -> None:
    # moto's empty account: FAILs to open tickets for (see tests/test_schedule_tickets.py).
    jira = jira_server(api_version=3, basic=("scanner@example.com", CANARIES["JIRA_TOKEN"]))
    hook = receiver(200)
    env = {
        **{k: v for k, v in CANARIES.items() if k.startswith("AWS_")},
        "JIRA_USER": "scanner@example.com",
        "JIRA_TOKEN": CANARIES["JIRA_TOKEN"],
        "HOOK_URL": hook.url(f"/hooks/{CANARIES['HOOK_TOKEN']}"),
        "HOOK_SECRET": CANARIES["HOOK_SECRET"],
        "AWS_ENDPOINT_URL": moto.url,
    }
    targets = [
        {
            "name": "jira",
            "kind": "jira",
            "url": jira.url,
            "api_version": 3,
            "project": "SEC",
            "user_env": "JIRA_USER",
            "token_env": "JIRA_TOKEN",
            "settle_seconds": 0.0,
            **FAST,
        },
        {
            "name": "hook",
            "kind": "webhook",
            "url_env": "HOOK_URL",
            "secret_env": "HOOK_SECRET",
            **FAST,
        },
    ]
    work = tmp_path / "work"
    out = work / "reports"
    extra = (
        f"log_format: json\nlog_level: debug\noutput:\n  dir: {out}\n"
        "  formats: [json, csv, html, compliance, ocsf, asff, xlsx]\n"
        + yaml.safe_dump({"tickets": {"min_severity": "low", "targets": targets}}, sort_keys=False)
    )
    config = write_config(tmp_path / "cfg", extra)
    metrics = work / "textfile" / "scanner.prom"
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, store=None, config=config, env=env, cwd=work)

    outputs = [run("schedule", "--once", "--metrics-file", str(metrics), "-v")]
    assert outputs[0].returncode in (0, 1), show(outputs[0])
    assert jira.issues and hook.requests, "the sync reached neither target: nothing was tested"
    outputs += [
        run("tickets", "sync", "-v"),
        run("tickets", "list", "--format", "json"),
        run("runs", "show", "latest"),
        cli("config", "check", str(config), "--format", "json", store=None, env=env, cwd=work),
        run("scan", "--log-format", "text", "-v"),
    ]
    for proc in outputs[1:]:
        assert proc.returncode in (0, 1), show(proc)
    assert (out / "history.db").exists() and metrics.exists()
    assert list(out.glob("*/snapshot.json.gz")), list(out.iterdir())

    secrets = dict(CANARIES)
    secrets["Jira basic auth"] = f"scanner@example.com:{CANARIES['JIRA_TOKEN']}"
    files, streams, leaks = sweep([work], outputs, secrets)
    assert files >= 20 and streams == 2 * len(outputs), (files, streams)
    assert leaks == [], leaks


def test_the_sweep_finds_each_form_of_a_planted_secret(tmp_path: Path) -> None:
    """The sweep is no empty check: a secret planted raw, URL-encoded, in base64 (a Basic
    auth header), gzipped or inside a zip is found, in a file or in an output."""
    secret = "planted-canary/+secret"
    plain = tmp_path / "a.txt"
    plain.write_text(f"x {urllib.parse.quote(secret, safe='')} y")
    (tmp_path / "b.gz").write_bytes(gzip.compress(secret.encode()))
    with zipfile.ZipFile(tmp_path / "c.xlsx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sheet1.xml", f"<c>{secret}</c>")
    header = subprocess.CompletedProcess(["h"], 0, "", base64.b64encode(secret.encode()).decode())
    files, streams, leaks = sweep([tmp_path], [header], {"planted": secret})
    assert (files, streams) == (3, 2)
    where = sorted(leak.split(" in ", 1)[1].split(" (")[0].split("!")[0] for leak in leaks)
    assert where == sorted(
        [str(plain), str(tmp_path / "b.gz"), str(tmp_path / "c.xlsx"), "stderr of ['h']"]
    ), leaks
