"""The one-writer lock: at most one scan writes a store at a time.

- SQLite: an OS file lock on ``<database>.lock`` (``filelock``), released by the kernel when
  its holder dies, so a killed scan never blocks the next one.
- PostgreSQL: a session-level advisory lock on a connection held for the whole scan; the
  server releases it when that connection ends, dead process included.  The key is derived
  from the database and schema, so stores in different schemas of one database do not
  block each other.

``wait`` mode polls until ``timeout`` seconds; ``refuse`` tries once.  Either way a scan
that cannot get the lock raises :class:`StoreBusy` before it has written anything.
"""

from __future__ import annotations

import hashlib
import time
from typing import Literal

import sqlalchemy as sa
from filelock import FileLock, Timeout
from sqlalchemy.engine import URL

from scanner import cancel
from scanner.history.database import StoreError, mask, sqlite_path

LockMode = Literal["wait", "refuse"]
_POLL_S = 0.25


class StoreBusy(StoreError):
    """Another scan holds the store's writer lock."""


class WriterLock:
    """Acquire with :meth:`acquire`, give back with :meth:`release` (idempotent)."""

    def __init__(self, engine: sa.Engine, url: URL) -> None:
        self._engine = engine
        self._url = url
        path = sqlite_path(url)
        # 0600 like the database beside it (filelock would create it 0644).
        self._file = FileLock(str(path) + ".lock", mode=0o600) if path is not None else None
        self._conn: sa.Connection | None = None
        self.held = False

    def _pg_key(self, conn: sa.Connection) -> int:
        where = conn.execute(sa.text("SELECT current_database() || '.' || current_schema()"))
        digest = hashlib.sha256(f"privatelink-scanner:{where.scalar_one()}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def _try_pg(self) -> bool:
        if self._conn is None:
            self._conn = self._engine.connect()
        conn = self._conn
        got = bool(
            conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": self._pg_key(conn)}
            ).scalar_one()
        )
        conn.commit()
        if not got:  # keep no session open while waiting or after giving up
            self._drop_connection()
        return got

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
            self._conn = None

    def try_acquire(self) -> bool:
        """One attempt; True when the lock is now held."""
        if self.held:
            return True
        if self._file is not None:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                return False
            self.held = True
        elif self._url.get_backend_name() == "postgresql":
            self.held = self._try_pg()
        else:
            self.held = True  # in-memory SQLite: one process by construction
        return self.held

    def acquire(self, mode: LockMode, timeout: float, holder: str = "another scan") -> None:
        """Take the lock or raise :class:`StoreBusy` naming ``holder`` and the mode."""
        deadline = time.monotonic() + (timeout if mode == "wait" else 0.0)
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                how = (
                    f"waited {timeout:g} s (store.lock_timeout)"
                    if mode == "wait"
                    else "store.lock is 'refuse'"
                )
                raise StoreBusy(
                    f"store {mask(self._url)} is being written by {holder}; {how}. "
                    "Try again when it has finished."
                )
            # A stop request (SIGTERM) ends the wait: the scan has written nothing yet.
            if cancel.wait(_POLL_S):
                cancel.check()

    def release(self) -> None:
        if not self.held:
            return
        if self._file is not None:
            # The file stays: deleting it would race a waiter that already opened it.
            self._file.release()
        if self._conn is not None:
            # Unlock explicitly and drop the DBAPI connection rather than returning it to
            # the pool: a pooled session would keep holding the advisory lock.
            try:
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._pg_key(self._conn)}
                )
                self._conn.commit()
            finally:
                self._drop_connection()
        self.held = False
