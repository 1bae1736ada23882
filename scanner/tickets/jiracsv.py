"""A Jira CSV import file: one row per new problem, for teams that import by hand.

The columns follow Jira's CSV importer: ``Summary``, ``Issue Type``, ``Project Key``,
``Priority``, ``Description``, and one ``Labels`` / ``Component`` column per value (the
importer takes a repeated header as several values).  Each sync that finds new problems
writes ``<dir>/<target>-<run id>.csv``; each row is appended and flushed to disk before
the ledger records it, and a row whose ledger entry was not written (the process died)
is found again by its ``plscan-`` label in the target's files, so no problem is listed
twice.

A file cannot close or reopen an issue: resolved and regressed problems are recorded in
the ledger and reported by the sync (and ``--dry-run``), for a person to act on in Jira.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import IO

from scanner.reporting.csvout import sanitize_cell
from scanner.ticketconf import JiraCsvTarget
from scanner.tickets.ledger import Ticket
from scanner.tickets.problems import Problem, problem_label
from scanner.tickets.render import Doc, body, plain, summary
from scanner.tickets.target import Target


class JiraCsv(Target):
    """Rows in a CSV file (module docstring)."""

    def __init__(self, config: JiraCsvTarget, directory: Path, run_id: str) -> None:
        self.config = config
        self.name = config.name
        self.dir = directory
        self.path = directory / f"{config.name}-{run_id}.csv"
        self._file: IO[str] | None = None

    def header(self) -> list[str]:
        labels = 2 + len(self.config.labels)
        return [
            "Summary",
            "Issue Type",
            "Project Key",
            "Priority",
            "Description",
            *["Labels"] * labels,
            *["Component"] * len(self.config.components),
        ]

    def search(self, keys: list[str], known: dict[str, Ticket]) -> dict[str, Ticket]:
        wanted = {problem_label(k): k for k in keys}
        found: dict[str, Ticket] = {}
        for path in sorted(self.dir.glob(f"{self.config.name}-*.csv")):
            with path.open(newline="", encoding="utf-8") as handle:
                for row in csv.reader(handle):
                    for cell in row:
                        if cell in wanted:
                            found[wanted[cell]] = Ticket(key=path.name, url=str(path))
        return found

    def create(self, problem: Problem, run_id: str) -> Ticket:
        if self._file is None:
            self.dir.mkdir(parents=True, exist_ok=True)
            new = not self.path.exists()
            self._file = self.path.open("a", newline="", encoding="utf-8")
            if new:
                csv.writer(self._file).writerow(self.header())
        row = [
            summary(problem),
            self.config.issue_type,
            self.config.project,
            self.config.priorities.get(problem.severity, ""),
            plain(body(problem, run_id, label=problem.label())),
            *problem.labels(self.config.labels),
            *self.config.components,
        ]
        # The formula guard of findings.csv: these files are opened in spreadsheets too.
        csv.writer(self._file).writerow([sanitize_cell(cell) for cell in row])
        self._file.flush()
        os.fsync(self._file.fileno())
        return Ticket(key=self.path.name, url=str(self.path))

    def update(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """A file row is not updated; the ledger keeps the new content."""

    def close(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """Recorded in the ledger and reported; closing in Jira is a person's step."""

    def reopen(self, ticket: Ticket, problem: Problem, note: Doc, run_id: str) -> None:
        """Recorded in the ledger and reported; reopening in Jira is a person's step."""

    def close_client(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
