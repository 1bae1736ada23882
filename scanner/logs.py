"""Logging setup: readable text on a terminal, one JSON object per line for the nightly job.

Two things hold for every line, whichever format:

- **The run id.**  A process runs at most one scan at a time (the scheduler runs one job
  at once, ``max_instances=1``), so the current run id is process state, not context: it
  is set by :func:`current_run` for the length of a run and stamped on every record, from
  whichever thread logs it (collector worker threads included).  JSON lines carry
  ``run_id`` always (``null`` between runs); text lines carry ``[run <id>]`` during a run.
- **No secrets.**  Every secret the process reads (webhook URLs and signing keys, SMTP
  passwords, the AWS credentials it scans with) is registered with :func:`register_secret`
  and replaced by ``***`` in the message, the ``extra=`` fields and tracebacks, before the
  line is formatted.  A library that logs a request with its headers cannot leak them.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from scanner.inert import block_text, one_line

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "run_id", "run_tag"}
LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
MASK = "***"
# Shorter values would mask ordinary words; no real credential is this short.
_MIN_SECRET = 6

_state_lock = threading.Lock()
_secrets: set[str] = set()
_run_id: str | None = None


def register_secret(value: str | None) -> None:
    """Never write ``value`` to a log line (too-short values are refused as unmaskable)."""
    if value and len(value) >= _MIN_SECRET:
        with _state_lock:
            _secrets.add(value)


def forget_secrets() -> None:
    """Drop every registered secret (the test suite does, between tests, so one test's
    fake credentials never mask another test's output)."""
    with _state_lock:
        _secrets.clear()


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***`` (longest first)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


@contextmanager
def current_run(run_id: str) -> Iterator[None]:
    """Stamp ``run_id`` on every log record while the block runs."""
    global _run_id
    previous, _run_id = _run_id, run_id
    try:
        yield
    finally:
        _run_id = previous


def run_id() -> str | None:
    """The run being logged now, if any."""
    return _run_id


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


class RunContextFilter(logging.Filter):
    """Adds ``run_id`` and redacts secrets on a handler, so every record passes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        rid = getattr(record, "run_id", None) or _run_id  # an explicit extra={"run_id"} wins
        record.run_id = rid
        record.run_tag = f" [run {rid}]" if rid else ""
        if _secrets:
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a bad format string: logging reports it
                message = str(record.msg)
            record.msg = redact(message)
            record.args = None
            for key, value in list(vars(record).items()):
                if key not in _RESERVED and not key.startswith("_"):
                    setattr(record, key, _scrub(value))
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
                record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """Formats records as JSON lines: ts, level, logger, run_id, msg and ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "run_id": getattr(record, "run_id", _run_id),
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exc"] = record.exc_text
        return redact(json.dumps(doc, default=str))


class TextFormatter(logging.Formatter):
    """The terminal format: the message is made one inert line (:func:`scanner.inert.one_line`:
    a CR/LF in a tag cannot forge a second log line, an escape sequence cannot drive the
    terminal), and a traceback keeps its own newlines but loses any other control character.
    JSON lines need no such step: ``json.dumps`` escapes every control character."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        return block_text(super().format(record))


def setup_logging(fmt: str = "text", verbose: bool = False, level: str = "info") -> None:
    """Configure the root logger once, on stderr (stdout is for results).

    ``verbose`` (``-v``) means debug whatever ``level`` (config ``log_level``) says.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else TextFormatter("%(levelname)s %(name)s%(run_tag)s: %(message)s")
    )
    handler.addFilter(RunContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else LEVELS.get(level, logging.INFO))
    # botocore is chatty at INFO (credential discovery), alembic announces its dialect on
    # every store opened, APScheduler logs every job it adds: keep them to warnings.
    for noisy in ("botocore", "boto3", "urllib3", "werkzeug", "alembic", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
