"""A webhook target: one signed JSON POST per ticket lifecycle event.

Events: ``opened`` (a new problem), ``updated`` (it changed), ``resolved`` and
``reopened``.  The body (``schema_version`` 1) carries the event, the problem (rule,
account, region, resource, severity, title, message, frameworks, the failing resources)
and the run.  With a signing key each POST carries ``X-Scanner-Timestamp`` and
``X-Scanner-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>">``, so a receiver
rejects a stale or forged request.

A webhook cannot be searched, so delivery is *at least once*: every event has an
``event_id`` that is the same each time that event is sent (an ``opened`` whose response
was lost is sent again by the next sync with the same id); receivers de-duplicate on it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from scanner.notify.webhook import register_url
from scanner.secrets import http_url, resolve
from scanner.ticketconf import TicketWebhookTarget
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import Problem
from scanner.tickets.render import Doc, plain, summary
from scanner.tickets.target import HttpTarget, TargetError
from scanner.webclient import signed_headers

SCHEMA_VERSION = 1


class Webhook(HttpTarget):
    """A receiver of ticket lifecycle events (module docstring)."""

    can_search = False

    def __init__(self, config: TicketWebhookTarget, base_dir: str | Path) -> None:
        url = resolve(config, "url", base_dir)
        if url is None or not http_url(url):
            raise TargetError(f"the URL from {config.url_env or config.url_file} is not http(s)")
        register_url(url)
        super().__init__(config, url, {})
        self.config = config
        self.url = url
        self.secret = resolve(config, "secret", base_dir)

    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        return {}

    def event_id(self, key: str, event: str, run_id: str) -> str:
        """Stable per problem and event (``opened`` happens once per problem and target;
        the others once per run)."""
        parts = (self.name, key, event) if event == "opened" else (self.name, key, event, run_id)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def document(self, event: str, problem: Problem, run_id: str, note: Doc | None) -> Any:
        return {
            "schema_version": SCHEMA_VERSION,
            "event": event,
            "event_id": self.event_id(problem.key, event, run_id),
            "target": self.name,
            "run_id": run_id,
            "key": problem.key,
            "label": problem.label(),
            "summary": summary(problem),
            "problem": {
                "grouping": problem.grouping,
                "rule_id": problem.rule_id,
                "account_id": problem.account_id,
                "region": problem.region or None,
                "resource_type": problem.resource_type,
                "resource_id": problem.resource_id or None,
                "resource_arn": problem.resource_arn,
                "severity": str(problem.severity),
                "title": problem.title,
                "message": problem.message,
                "state": problem.state,
                "waived": problem.waived,
                "frameworks": problem.frameworks,
                "failing": [m.to_dict() | {"message": m.message} for m in problem.failing],
            },
            "note": plain(note) if note is not None else None,
        }

    def _send(self, event: str, problem: Problem, run_id: str, note: Doc | None) -> None:
        raw = json.dumps(self.document(event, problem, run_id, note), ensure_ascii=False).encode()
        headers = {**signed_headers(raw, run_id, self.secret), "X-Scanner-Event": event}
        # Repeatable: the receiver de-duplicates on event_id (module docstring).
        self.http.request("POST", self.url, raw=raw, headers=headers)

    def create(self, problem: Problem, run_id: str) -> Ticket:
        self._send("opened", problem, run_id, None)
        return Ticket(key=problem.key)

    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._send("updated", problem, run_id, note)

    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._send("resolved", problem, run_id, note)

    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._send("reopened", problem, run_id, note)
