"""ServiceNow through the Table API (``/api/now/table/<table>``), incident by default.

A record's ``correlation_id`` holds the problem's label (``plscan-<key>``) and
``correlation_display`` the scanner's name: the fields ServiceNow provides for exactly this,
an external system's identity for the record.  Existing records are found with an encoded
query (``correlation_idIN...``).  Resolving sets the configured ``done_state`` with
``close_code`` and ``close_notes`` (incident's data policy requires both); reopening sets
``reopen_state``; comments go to ``work_notes``, the journal field people read.  Severity
maps to urgency and impact (1 high .. 3 low), from which ServiceNow derives the priority.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.model.finding import Severity
from scanner.ticketconf import ServiceNowTarget
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import Problem, problem_label
from scanner.tickets.render import SHORT_MAX, Doc, body, plain, summary
from scanner.tickets.target import HttpTarget, auth_headers, batches

CORRELATION_DISPLAY = "privatelink-scanner"
CLOSED_STATES = {"6", "7", "8"}  # Resolved, Closed, Canceled
URGENCY_IMPACT: dict[Severity, tuple[str, str]] = {
    Severity.CRITICAL: ("1", "1"),
    Severity.HIGH: ("1", "2"),
    Severity.MEDIUM: ("2", "2"),
    Severity.LOW: ("3", "3"),
    Severity.INFO: ("3", "3"),
}
PAGE = 100


class ServiceNow(HttpTarget):
    """A ServiceNow table (module docstring)."""

    def __init__(self, config: ServiceNowTarget, base_dir: str | Path) -> None:
        super().__init__(config, config.url, auth_headers(config, base_dir))
        self.config = config
        self.path = f"/api/now/table/{config.table}"

    def _ticket(self, record: dict[str, Any]) -> Ticket:
        sys_id = str(record["sys_id"])
        return Ticket(
            key=str(record.get("number") or sys_id),
            id=sys_id,
            url=f"{self.config.url}/nav_to.do?uri={self.config.table}.do?sys_id={sys_id}",
            closed=str(record.get("state", "")) in CLOSED_STATES | {self.config.done_state},
        )

    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        labels = {problem_label(k): k for k in keys}
        found: dict[str, Ticket] = {}
        for chunk in batches(sorted(labels)):
            query = f"correlation_idIN{','.join(chunk)}"
            offset = 0
            while True:
                params = {
                    "sysparm_query": query,
                    "sysparm_fields": "sys_id,number,state,correlation_id",
                    "sysparm_limit": PAGE,
                    "sysparm_offset": offset,
                }
                records = self.http.request("GET", self.path, params=params).json()["result"]
                for record in records:
                    key = labels.get(str(record.get("correlation_id")))
                    if key is not None:
                        found[key] = self._ticket(record)
                offset += len(records)
                if len(records) < PAGE:
                    break
        return found

    def create(self, problem: Problem, run_id: str) -> Ticket:
        urgency, impact = URGENCY_IMPACT[problem.severity]
        record = {
            **self.config.fields,
            "short_description": summary(problem, SHORT_MAX),
            "description": plain(body(problem, run_id, label=problem.label())),
            "correlation_id": problem.label(),
            "correlation_display": CORRELATION_DISPLAY,
            "urgency": urgency,
            "impact": impact,
        }
        made = self.http.request("POST", self.path, body=record, repeatable=False).json()
        return self._ticket(made["result"])

    def _patch(self, ticket: Ticket, values: dict[str, str]) -> None:
        self.http.request("PATCH", f"{self.path}/{ticket.id}", body=values)

    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._patch(
            ticket,
            {
                "description": plain(body(problem, run_id, label=problem.label())),
                "work_notes": plain(note),
            },
        )

    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._patch(
            ticket,
            {
                "state": self.config.done_state,
                "close_code": self.config.close_code,
                "close_notes": plain(note),
                "work_notes": plain(note),
            },
        )

    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        self._patch(ticket, {"state": self.config.reopen_state, "work_notes": plain(note)})
