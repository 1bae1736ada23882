"""Fixtures for the ticket-sync tests: fake Jira, ServiceNow and GitHub servers.

Each fixture is a factory, so a test can start several instances (a v2 and a v3 Jira, two
GitHub hosts) with the options it needs, and every server a test started is closed when
it ends, held requests released first::

    def test_sync(jira_server):
        jira = jira_server(api_version=3, index_lag=0.5)
        ...  # point the client at jira.url with jira.basic, then assert on jira.issues

The fakes themselves are in ``tests/ticketfakes``; registered in ``conftest.py``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.notifykit import Receiver
from tests.ticketfakes import FakeGitHub, FakeJira, FakeService, FakeServiceNow

S = TypeVar("S", bound=FakeService)
R = TypeVar("R", bound="Remote")


def _factory(make: Callable[..., S]) -> Iterator[Callable[..., S]]:
    started: list[S] = []

    def start(*args: Any, **kwargs: Any) -> S:
        started.append(make(*args, **kwargs))
        return started[-1]

    yield start
    for server in started:
        server.close()


@pytest.fixture
def jira_server() -> Iterator[Callable[..., FakeJira]]:
    """``jira_server(api_version=3, **kw)``: a ``FakeJira`` (see its constructor)."""
    yield from _factory(FakeJira)


@pytest.fixture
def servicenow_server() -> Iterator[Callable[..., FakeServiceNow]]:
    """``servicenow_server(tables=("incident",), **kw)``: a ``FakeServiceNow``."""
    yield from _factory(FakeServiceNow)


@pytest.fixture
def github_server() -> Iterator[Callable[..., FakeGitHub]]:
    """``github_server(repos=("acme/security",), prefix="", **kw)``: a ``FakeGitHub``."""
    yield from _factory(FakeGitHub)


# -- one view of every kind of target, for the lifecycle tests --------------------------


class Remote:
    """What one ticketing target holds, read the same way for every kind: how many tickets
    carry a problem's label, in which state, and how many changing requests it received."""

    kind: str
    env: dict[str, str]

    def target(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def tickets(self, label: str) -> list[str]:
        """The states (``open``/``closed``) of the tickets carrying ``label``."""
        raise NotImplementedError

    def changes(self) -> int:
        """Requests that could change something (anything but a read)."""
        raise NotImplementedError


FAST = {"timeout": 2.0, "retries": 3, "backoff": 0.0}


class JiraRemote(Remote):
    def __init__(self, fake: FakeJira, version: int) -> None:
        self.fake, self.kind = fake, f"jira-v{version}"
        user, token = fake.basic or ("", "")
        self.env = {"JIRA_USER": user, "JIRA_TOKEN": token}

    def target(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "jira",
            "url": self.fake.url,
            "api_version": int(self.kind[-1]),
            "project": "SEC",
            "components": ["Network"],
            "user_env": "JIRA_USER",
            "token_env": "JIRA_TOKEN",
            "settle_seconds": 0.0,
            **FAST,
        }

    def tickets(self, label: str) -> list[str]:
        return [
            "closed" if self.fake.status_of(i.key) == "Done" else "open"
            for i in self.fake.by_label(label)
        ]

    def changes(self) -> int:
        """Requests that are not reads (a search is a POST on Cloud, yet reads)."""
        return sum(
            1
            for r in self.fake.requests
            if r.method != "GET" and not r.path.endswith(("/search", "/search/jql"))
        )


class ServiceNowRemote(Remote):
    kind = "servicenow"

    def __init__(self, fake: FakeServiceNow) -> None:
        self.fake = fake
        user, password = fake.basic or ("", "")
        self.env = {"SN_USER": user, "SN_PASSWORD": password}

    def target(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "servicenow",
            "url": self.fake.url,
            "user_env": "SN_USER",
            "token_env": "SN_PASSWORD",
            **FAST,
        }

    def tickets(self, label: str) -> list[str]:
        return [
            "closed" if r["state"] in ("6", "7") else "open"
            for r in self.fake.by_correlation("incident", label)
        ]

    def changes(self) -> int:
        return sum(1 for r in self.fake.requests if r.method != "GET")


class GitHubRemote(Remote):
    kind = "github"
    repo = "acme/security"

    def __init__(self, fake: FakeGitHub) -> None:
        self.fake = fake
        self.env = {"GH_TOKEN": fake.bearer or ""}

    def target(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "github",
            "url": self.fake.url,
            "repository": self.repo,
            "token_env": "GH_TOKEN",
            **FAST,
        }

    def tickets(self, label: str) -> list[str]:
        return [str(i["state"]) for i in self.fake.by_label(self.repo, label)]

    def changes(self) -> int:
        return sum(1 for r in self.fake.requests if r.method != "GET")


class WebhookRemote(Remote):
    """A receiver of lifecycle events: a problem's "ticket" is its ``opened`` event (by
    ``event_id``, as a receiver de-duplicates), its state the latest event."""

    kind = "webhook"

    def __init__(self, receiver: Receiver, secret: str = "hook-signing-key") -> None:
        self.receiver = receiver
        self.env = {"HOOK_URL": receiver.url("/tickets"), "HOOK_SECRET": secret}

    def target(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "kind": "webhook",
            "url_env": "HOOK_URL",
            "secret_env": "HOOK_SECRET",
            **FAST,
        }

    def events(self, label: str) -> list[dict[str, Any]]:
        unique: dict[str, dict[str, Any]] = {}
        for request in self.receiver.requests:
            doc = request.json()
            if doc["label"] == label:
                unique.setdefault(doc["event_id"], doc)
        return list(unique.values())

    def tickets(self, label: str) -> list[str]:
        events = self.events(label)
        if not any(e["event"] == "opened" for e in events):
            return []
        return ["closed" if events[-1]["event"] == "resolved" else "open"]

    def changes(self) -> int:
        return len(self.receiver.requests)


class CsvRemote(Remote):
    """Jira CSV files: a problem's ticket is its row; a file cannot close one, so every
    row reads ``open`` (the ledger holds the state)."""

    kind = "jira-csv"

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.env = {}

    def target(self, name: str) -> dict[str, Any]:
        return {"name": name, "kind": "jira-csv", "project": "SEC", "dir": str(self.dir)}

    def rows(self) -> list[list[str]]:
        out = []
        for path in sorted(self.dir.glob("*.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                out.extend(list(csv.reader(handle))[1:])
        return out

    def tickets(self, label: str) -> list[str]:
        return ["open" for row in self.rows() if label in row]

    def changes(self) -> int:
        return len(self.rows())


KINDS = ("jira-v3", "jira-v2", "servicenow", "github", "webhook", "jira-csv")


@pytest.fixture
def remote(
    request: pytest.FixtureRequest,
    jira_server: Callable[..., FakeJira],
    servicenow_server: Callable[..., FakeServiceNow],
    github_server: Callable[..., FakeGitHub],
    receiver: Callable[..., Receiver],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Remote:
    """A target of the kind ``request.param`` names (parametrize with ``indirect=True``),
    its credentials in the environment."""
    kind = request.param
    made: Remote
    if kind == "jira-v3":
        made = JiraRemote(jira_server(api_version=3, transition_ids_from=913), 3)
    elif kind == "jira-v2":
        made = JiraRemote(jira_server(api_version=2, context_path="/jira"), 2)
    elif kind == "servicenow":
        made = ServiceNowRemote(servicenow_server())
    elif kind == "github":
        made = GitHubRemote(github_server())
    elif kind == "webhook":
        made = WebhookRemote(receiver(200))
    else:
        made = CsvRemote(tmp_path / "jira-csv")
    return _with_env(made, monkeypatch)


def _with_env(remote: R, monkeypatch: pytest.MonkeyPatch) -> R:
    for key, value in remote.env.items():
        monkeypatch.setenv(key, value)
    return remote


@pytest.fixture
def jira(jira_server: Callable[..., FakeJira], monkeypatch: pytest.MonkeyPatch) -> JiraRemote:
    """A fake Jira Cloud (v3), its credentials in the environment."""
    return _with_env(JiraRemote(jira_server(api_version=3), 3), monkeypatch)


@pytest.fixture
def github(
    github_server: Callable[..., FakeGitHub], monkeypatch: pytest.MonkeyPatch
) -> GitHubRemote:
    """A fake GitHub, its token in the environment."""
    return _with_env(GitHubRemote(github_server()), monkeypatch)
