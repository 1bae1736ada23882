"""What a ticketing target can do: find, create, update, close and reopen tickets.

Each kind (Jira, ServiceNow, GitHub, webhook, Jira CSV) implements :class:`Target`; the
sync (:mod:`.sync`) decides *what* to do from the run and the ledger, a target only knows
*how* on its service.  Errors are :class:`~scanner.webclient.HttpError` (its
``uncertain`` flag tells a create that may have happened from one that did not) or
:class:`TargetError` for a problem the service explained (a transition that does not exist).
"""

from __future__ import annotations

import base64
from abc import ABC, abstractmethod
from pathlib import Path

from scanner.configbase import SecretSources
from scanner.logs import register_secret
from scanner.secrets import resolve
from scanner.ticketconf import TargetBase
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import Problem
from scanner.tickets.render import Doc
from scanner.webclient import JsonClient

SEARCH_BATCH = 50
"""Keys per search request (Jira's reconcileIssues takes at most 50 ids)."""


class TargetError(Exception):
    """The service refused an operation for a reason of this ticket (not an outage)."""


class Target(ABC):
    """One configured ticketing target."""

    name: str
    can_search = True
    """False where a target cannot be asked what exists (a webhook): an uncertain create
    is then sent again, with the same event id, for the receiver to de-duplicate."""
    settle_seconds = 0.0
    """How old an uncertain create must be before a search can be trusted to show it."""

    @abstractmethod
    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        """The tickets of these problem keys that exist, by key, with ``closed`` set from
        their remote state (``known``: the tickets the ledger has for some of them)."""

    @abstractmethod
    def create(self, problem: Problem, run_id: str) -> Ticket:
        """Open a ticket (never retried unless it cannot have been received)."""

    @abstractmethod
    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """Say on the ticket that the problem changed (and update its description)."""

    @abstractmethod
    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """Comment and close (done transition / resolved state)."""

    @abstractmethod
    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """Comment and reopen (reopen transition / state)."""

    @abstractmethod
    def close_client(self) -> None:
        """Release connections and files."""


class HttpTarget(Target):
    """A target reached over HTTP: one client with the target's timeout and retries,
    closed when the target's sync ends."""

    def __init__(self, config: TargetBase, base_url: str, headers: dict[str, str]) -> None:
        self.name = config.name
        self.http = JsonClient(
            base_url,
            headers=headers,
            timeout=config.timeout,
            retries=config.retries,
            backoff=config.backoff,
        )

    def close_client(self) -> None:
        self.http.close()


def auth_headers(target: SecretSources, base_dir: str | Path) -> dict[str, str]:
    """Basic auth from ``user_*`` and ``token_*``, or a bearer token from ``token_*`` alone
    (each read with :func:`scanner.secrets.resolve`, which registers it for masking)."""
    token = resolve(target, "token", base_dir) or ""
    user = resolve(target, "user", base_dir) if "user" in target.SECRETS else None
    if user:
        pair = base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
        register_secret(pair)
        return {"Authorization": f"Basic {pair}"}
    return {"Authorization": f"Bearer {token}"}


def batches(keys: list[str], size: int = SEARCH_BATCH) -> list[list[str]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]
