"""The webhook target: signed lifecycle events, stable event ids for de-duplication."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scanner.config import Config
from scanner.history.store import Store
from scanner.model.finding import Status
from scanner.tickets import SyncReport, sync
from tests.notifykit import Receiver
from tests.ticketkit import WebhookRemote
from tests.ticketruns import Check, config_dict, write_run

A = Check("notebook-direct-internet-access-disabled", "nb-a")
SECRET = "hook-signing-key"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'history.db'}") as opened:
        yield opened


def setup_hook(hook: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    remote = WebhookRemote(hook, SECRET)
    for key, value in remote.env.items():
        monkeypatch.setenv(key, value)
    return Config(**config_dict([remote.target("hook")]), base_dir=str(tmp_path))


def run_sync(config: Config, store: Store) -> SyncReport:
    with store.writing():
        return sync(config, store)


def test_each_lifecycle_event_is_signed_over_timestamp_and_body(
    receiver: Callable[..., Receiver],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook = receiver(200)
    config = setup_hook(hook, tmp_path, monkeypatch)
    for day, status in enumerate((Status.FAIL, Status.PASS, Status.FAIL), start=1):
        write_run(store, f"n{day}", day, [A.finding(status)])
        assert run_sync(config, store).ok
    events = [r.json()["event"] for r in hook.requests]
    assert events == ["opened", "resolved", "reopened"]
    for request in hook.requests:
        stamp = request.headers["x-scanner-timestamp"]
        assert abs(int(stamp) - time.time()) < 300
        expected = hmac.new(
            SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
        assert request.headers["x-scanner-signature"] == f"sha256={expected}"
        assert request.headers["x-scanner-event"] == request.json()["event"]
    opened = hook.requests[0].json()
    assert opened["schema_version"] == 1
    assert opened["problem"]["rule_id"] == A.rule_id
    assert opened["problem"]["resource_id"] == "nb-a"
    assert opened["problem"]["frameworks"] == A.frameworks
    assert opened["run_id"] == "n1"
    # A body changed in transit no longer matches its signature.
    tampered = hook.requests[0].body.replace(b"nb-a", b"nb-b")
    forged = hmac.new(
        SECRET.encode(),
        hook.requests[0].headers["x-scanner-timestamp"].encode() + b"." + tampered,
        hashlib.sha256,
    ).hexdigest()
    assert hook.requests[0].headers["x-scanner-signature"] != f"sha256={forged}"


def test_an_event_sent_again_after_a_failure_keeps_its_event_id(
    receiver: Callable[..., Receiver],
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four 500s (the first try and three retries) fail the sync; the next sync sends the
    same ``opened`` event again, with the same id, for the receiver to de-duplicate."""
    hook = receiver(500, 500, 500, 500, 200)
    config = setup_hook(hook, tmp_path, monkeypatch)
    write_run(store, "n1", 1, [A.finding(Status.FAIL)])
    failed = run_sync(config, store)
    assert not failed.ok
    assert len(hook.requests) == 4
    # The URL is a secret (a token may be in it): the error names the status, not the URL.
    [error] = failed.results[0].errors
    assert "HTTP 500" in error and hook.url("/tickets") not in error and "/tickets" not in error
    write_run(store, "n2", 2, [A.finding(Status.FAIL)])
    assert run_sync(config, store).ok
    docs = [json.loads(r.body) for r in hook.requests]
    assert len(docs) == 5
    assert {d["event"] for d in docs} == {"opened"}
    assert len({d["event_id"] for d in docs}) == 1
    assert run_sync(config, store).ok
    assert len(hook.requests) == 5  # nothing more to say
