"""GitHub Issues through the REST API (github.com, or GitHub Enterprise Server).

A new issue carries the labels ``privatelink-scanner`` and ``plscan-<key>`` (GitHub creates
labels that do not exist yet); existing ones are found by listing the repository's issues
with the ``privatelink-scanner`` label in every state (the list endpoint is read from the
database, unlike the search API's index, so a just-made issue is in it), following the
``Link`` header's ``next`` pages.  Closing and reopening set ``state`` (closed as
``completed``); each change is a comment first, then the state, so a failure in between
repeats a comment at worst, never loses the state change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from scanner.ticketconf import GitHubTarget
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import MANAGED_LABEL, Problem, problem_label
from scanner.tickets.render import Doc, body, markdown, summary
from scanner.tickets.target import HttpTarget, auth_headers

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="next"')


class GitHub(HttpTarget):
    """A GitHub repository's issues (module docstring)."""

    def __init__(self, config: GitHubTarget, base_dir: str | Path) -> None:
        headers = {
            **auth_headers(config, base_dir),
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        super().__init__(config, config.url, headers)
        self.config = config
        self.repo = f"/repos/{config.repository}"
        self._managed: dict[str, Ticket] | None = None

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        return Ticket(
            key=str(issue["number"]),
            id=str(issue["number"]),
            url=issue.get("html_url"),
            closed=issue.get("state") == "closed",
        )

    def _all_managed(self) -> dict[str, Ticket]:
        """Every issue with the scanner's label, by its ``plscan-`` label (read once per
        sync: one listing serves every key)."""
        if self._managed is None:
            found: dict[str, Ticket] = {}
            url: str | None = f"{self.repo}/issues"
            params: dict[str, Any] | None = {
                "labels": MANAGED_LABEL,
                "state": "all",
                "per_page": 100,
            }
            while url:
                response = self.http.request("GET", url, params=params)
                for issue in response.json():
                    for label in issue.get("labels") or []:
                        name = label.get("name") if isinstance(label, dict) else label
                        if isinstance(name, str) and name.startswith("plscan-"):
                            found[name] = self._ticket(issue)
                match = _NEXT.search(response.header("link") or "")
                url, params = (match.group(1), None) if match else (None, None)
            self._managed = found
        return self._managed

    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        managed = self._all_managed()
        return {k: managed[problem_label(k)] for k in keys if problem_label(k) in managed}

    def create(self, problem: Problem, run_id: str) -> Ticket:
        issue = {
            "title": summary(problem),
            "body": markdown(body(problem, run_id, label=problem.label())),
            "labels": problem.labels(self.config.labels),
        }
        made = self.http.request("POST", f"{self.repo}/issues", body=issue, repeatable=False)
        self._managed = None
        return self._ticket(made.json())

    def _comment(self, ticket: Ticket, note: Doc) -> None:
        self.http.request(
            "POST", f"{self.repo}/issues/{ticket.key}/comments", body={"body": markdown(note)}
        )

    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._comment(ticket, note)
        self.http.request(
            "PATCH",
            f"{self.repo}/issues/{ticket.key}",
            body={
                "title": summary(problem),
                "body": markdown(body(problem, run_id, label=problem.label())),
            },
        )

    def _set_state(self, ticket: Ticket, note: Doc, state: str, reason: str) -> None:
        self._comment(ticket, note)
        self.http.request(
            "PATCH",
            f"{self.repo}/issues/{ticket.key}",
            body={"state": state, "state_reason": reason},
        )

    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._set_state(ticket, note, "closed", "completed")

    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._set_state(ticket, note, "open", "reopened")
