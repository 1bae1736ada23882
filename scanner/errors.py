"""Errors that end a run with a clear message instead of a traceback.

Every problem with user input (config, rule packs, policy JSON, snapshots) is an
:class:`InputError` that names the file, the line and the problem; the CLI prints it and
exits with status 2.  Keeping the location on the exception (rather than formatting it at
raise time) lets tests assert on each part separately.
"""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """The scanner's exit statuses (see README, "Exit status")."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


class ScannerError(Exception):
    """Base class for errors the scanner reports without a traceback."""

    exit_code: ExitCode = ExitCode.USAGE


class RequestError(ScannerError):
    """A command asked for something that cannot be done as asked (an unknown name, a run
    older than one already used): the message says why, with no file to point at."""


class InputError(ScannerError):
    """Bad user input: names the file, line (and column when known) and the problem."""

    def __init__(
        self,
        problem: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.problem = problem
        self.path = path
        self.line = line
        self.column = column
        super().__init__(self.format())

    def format(self) -> str:
        """Render as ``path:line:column: problem`` (compiler style, so editors can jump to it)."""
        where = self.path or "<input>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.problem}"


def decode_json(text: str | bytes, what: str, path: str | None) -> Any:
    """``json.loads`` for user input: a syntax error becomes an InputError naming ``what``
    (``"policy"``, ``"snapshot"``, ...), the file, line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{what} is not valid JSON: {exc.msg}", path=path, line=exc.lineno, column=exc.colno
        ) from None
