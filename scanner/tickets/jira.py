"""Jira: Cloud through REST v3, Server / Data Center through REST v2.

- **Create**: ``POST /rest/api/N/issue`` with project, issue type, summary (rule id and
  resource id), description (ADF on v3, wiki markup on v2), priority mapped from the
  severity, components and labels; the label ``plscan-<key>`` carries the problem's key.
- **Find**: JQL ``project = P AND labels in (...)``.  Jira Cloud removed
  ``/rest/api/3/search`` (HTTP 410); v3 searches with ``/rest/api/3/search/jql`` (token
  pagination, explicit fields) and passes the ids of the tickets the ledger knows as
  ``reconcileIssues``, so a ticket changed a moment ago is read as it is now (the search
  index is not read-after-write consistent).  v2 uses ``/rest/api/2/search`` (``startAt``).
  A ticket whose create was *uncertain* has no id to reconcile: it is searched for only
  ``settle_seconds`` after the attempt, when the index has it.
- **Close / reopen**: transition ids differ per workflow, so they are read from
  ``GET /issue/{key}/transitions`` and applied by name, with the comment in the same
  request.  An issue already in the wanted status category is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.ticketconf import JiraTarget
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import Problem, problem_label
from scanner.tickets.render import Doc, adf, body, summary, wiki
from scanner.tickets.target import HttpTarget, TargetError, auth_headers, batches

PAGE = 100
FIELDS = ("labels", "status")
"""What a search asks for: the label finds the problem, the status says if it is closed."""


class Jira(HttpTarget):
    """A Jira project (module docstring)."""

    def __init__(self, config: JiraTarget, base_dir: str | Path) -> None:
        super().__init__(config, config.url, auth_headers(config, base_dir))
        self.config = config
        self.settle_seconds = config.settle_seconds if config.api_version == 3 else 0.0
        self.api = f"/rest/api/{config.api_version}"

    def _text(self, doc: Doc) -> Any:
        return adf(doc) if self.config.api_version == 3 else wiki(doc)

    # -- search ------------------------------------------------------------------------
    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        found: dict[str, Ticket] = {}
        labels = {problem_label(k): k for k in keys}
        for chunk in batches(sorted(labels)):
            quoted = ", ".join(f'"{label}"' for label in chunk)
            jql = f'project = "{self.config.project}" AND labels in ({quoted})'
            ids = [t.id for label in chunk if (t := known.get(labels[label])) and t.id]
            for issue in self._issues(jql, ids):
                ticket = self._ticket(issue)
                for label in issue.get("fields", {}).get("labels") or []:
                    if label in labels:
                        found[labels[label]] = ticket
        return found

    def _issues(self, jql: str, reconcile: list[str]) -> list[dict[str, Any]]:
        if self.config.api_version == 3:
            return self._search_v3(jql, reconcile)
        return self._search_v2(jql)

    def _search_v3(self, jql: str, reconcile: list[str]) -> list[dict[str, Any]]:
        """``POST /rest/api/3/search/jql``: the JSON form carries ``fields`` and
        ``reconcileIssues`` as the arrays the API documents (a search: repeatable)."""
        out: list[dict[str, Any]] = []
        body: dict[str, Any] = {"jql": jql, "fields": list(FIELDS), "maxResults": PAGE}
        if reconcile:
            body["reconcileIssues"] = [int(i) for i in reconcile if i.isdigit()]
        while True:
            page = self.http.request("POST", f"{self.api}/search/jql", body=body).json()
            out.extend(page.get("issues") or [])
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not token:
                return out
            body["nextPageToken"] = token

    def _search_v2(self, jql: str) -> list[dict[str, Any]]:
        """``GET /rest/api/2/search``, paged by ``startAt``."""
        out: list[dict[str, Any]] = []
        fields = ",".join(FIELDS)
        while True:
            params = {"jql": jql, "fields": fields, "startAt": len(out), "maxResults": PAGE}
            page = self.http.request("GET", f"{self.api}/search", params=params).json()
            issues = page.get("issues") or []
            out.extend(issues)
            if not issues or len(out) >= int(page.get("total", 0)):
                return out

    def _ticket(self, issue: dict[str, Any]) -> Ticket:
        status = (issue.get("fields") or {}).get("status") or {}
        category = (status.get("statusCategory") or {}).get("key")
        return Ticket(
            key=str(issue["key"]),
            id=str(issue["id"]),
            url=f"{self.config.url}/browse/{issue['key']}",
            closed=category == "done",
        )

    # -- changes -----------------------------------------------------------------------
    def create(self, problem: Problem, run_id: str) -> Ticket:
        fields: dict[str, Any] = {
            "project": {"key": self.config.project},
            "issuetype": {"name": self.config.issue_type},
            "summary": summary(problem),
            "description": self._text(body(problem, run_id, label=problem.label())),
            "labels": problem.labels(self.config.labels),
        }
        priority = self.config.priorities.get(problem.severity)
        if priority:
            fields["priority"] = {"name": priority}
        if self.config.components:
            fields["components"] = [{"name": c} for c in self.config.components]
        made = self.http.request(
            "POST", f"{self.api}/issue", body={"fields": fields}, repeatable=False
        ).json()
        return self._ticket(made)

    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        description = self._text(body(problem, run_id, label=problem.label()))
        self.http.request(
            "PUT",
            f"{self.api}/issue/{ticket.key}",
            body={"fields": {"summary": summary(problem), "description": description}},
        )
        self._comment(ticket, note)

    def _comment(self, ticket: Ticket, note: Doc) -> None:
        self.http.request(
            "POST", f"{self.api}/issue/{ticket.key}/comment", body={"body": self._text(note)}
        )

    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._transition(ticket, self.config.done_transition, note, want_done=True)

    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._transition(ticket, self.config.reopen_transition, note, want_done=False)

    def _transition(self, ticket: Ticket, name: str, note: Doc, *, want_done: bool) -> None:
        """Apply the transition called ``name`` with the comment; when it is not available
        and the issue is already where it should be (a person moved it), comment only."""
        path = f"{self.api}/issue/{ticket.key}/transitions"
        available = self.http.request("GET", path).json().get("transitions") or []
        match = [t for t in available if str(t.get("name", "")).casefold() == name.casefold()]
        if match:
            self.http.request(
                "POST",
                path,
                body={
                    "transition": {"id": str(match[0]["id"])},
                    "update": {"comment": [{"add": {"body": self._text(note)}}]},
                },
            )
            return
        issue = self.http.request(
            "GET", f"{self.api}/issue/{ticket.key}", params={"fields": "status"}
        ).json()
        if self._ticket(issue).closed == want_done:
            self._comment(ticket, note)
            return
        names = ", ".join(repr(t.get("name")) for t in available) or "none"
        status = ((issue.get("fields") or {}).get("status") or {}).get("name", "?")
        raise TargetError(
            f"{ticket.key}: no transition named {name!r} from status {status!r} "
            f"(available: {names})"
        )
