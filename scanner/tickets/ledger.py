"""The ticket ledger in the history store: problem <-> ticket, per target, with its state.

States of a row:

- ``creating``: reserved; the remote create was sent, or is about to be, and its outcome
  is unknown.  The row is committed *before* the request, so a process killed during the
  create leaves it behind, and the next sync searches the target before creating again.
- ``open``: the ticket exists and the problem was last seen failing (or unknown).
- ``closed``: the problem was resolved and the ticket closed (done transition / state).

The ``(target, fingerprint)`` primary key is what makes a duplicate impossible even with
two syncs at once: only one reservation can be inserted.  Every write is its own short
transaction, so an interrupted sync leaves each row either before or after one step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from scanner.history import schema as t
from scanner.history.store import Store, iso
from scanner.tickets.problems import Problem, Remembered

CREATING, OPEN, CLOSED = "creating", "open", "closed"


@dataclass(frozen=True)
class Ticket:
    """A ticket as a target names it: its key (``SEC-12``), id and URL."""

    key: str
    id: str | None = None
    url: str | None = None
    closed: bool = False


@dataclass(frozen=True)
class Row:
    """One ledger row."""

    target: str
    fingerprint: str
    grouping: str
    state: str
    ticket: Ticket | None
    remembered: Remembered
    severity: str
    content_hash: str | None
    reserved_at: datetime
    opened_at: str | None
    closed_at: str | None
    last_seen_run: str | None
    last_error: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "fingerprint": self.fingerprint,
            "grouping": self.grouping,
            "state": self.state,
            "ticket_key": self.ticket.key if self.ticket else None,
            "ticket_url": self.ticket.url if self.ticket else None,
            "rule_id": self.remembered.rule_id,
            "account_id": self.remembered.account_id,
            "region": self.remembered.region,
            "resource_id": self.remembered.resource_id,
            "severity": self.severity,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "last_seen_run": self.last_seen_run,
            "last_error": self.last_error,
        }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _row(m: sa.RowMapping) -> Row:
    ticket = Ticket(m["ticket_key"], m["ticket_id"], m["ticket_url"]) if m["ticket_key"] else None
    return Row(
        target=m["target"],
        fingerprint=m["fingerprint"],
        grouping=m["grouping"],
        state=m["state"],
        ticket=ticket,
        remembered=Remembered(
            key=m["fingerprint"],
            grouping=m["grouping"],
            rule_id=m["rule_id"],
            account_id=m["account_id"],
            region=m["region"],
            resource_type=m["resource_type"],
            resource_id=m["resource_id"],
            members=list(m["members"] or []),
        ),
        severity=m["severity"],
        content_hash=m["content_hash"],
        reserved_at=_aware(m["reserved_at"]),
        opened_at=iso(m["opened_at"]),
        closed_at=iso(m["closed_at"]),
        last_seen_run=m["last_seen_run"],
        last_error=m["last_error"],
    )


class Ledger:
    """The ledger rows of one target."""

    def __init__(self, store: Store, target: str) -> None:
        self.store = store
        self.target = target
        self.table = t.ticket_ledger

    def _where(self, key: str) -> sa.ColumnElement[bool]:
        return sa.and_(self.table.c.target == self.target, self.table.c.fingerprint == key)

    def rows(self) -> dict[str, Row]:
        """This target's rows by problem key."""
        return {r.fingerprint: r for r in all_rows(self.store, self.target)}

    def get(self, key: str) -> Row | None:
        with self.store.engine.connect() as conn:
            m = conn.execute(sa.select(self.table).where(self._where(key))).mappings().first()
        return _row(m) if m is not None else None

    def reserve(self, problem: Problem, run_id: str) -> bool:
        """Insert the ``creating`` row; False when the problem already has one (another
        sync reserved it first)."""
        now = datetime.now(UTC)
        try:
            with self.store.engine.begin() as conn:
                conn.execute(
                    sa.insert(self.table).values(
                        target=self.target,
                        fingerprint=problem.key,
                        grouping=problem.grouping,
                        state=CREATING,
                        rule_id=problem.rule_id,
                        account_id=problem.account_id,
                        region=problem.region,
                        resource_type=problem.resource_type,
                        resource_id=problem.resource_id,
                        severity=str(problem.severity),
                        members=[m.to_dict() for m in problem.failing],
                        reserved_at=now,
                        updated_at=now,
                        last_seen_run=run_id,
                    )
                )
        except IntegrityError:
            return False
        return True

    def _update(self, key: str, **values: Any) -> None:
        values.setdefault("updated_at", datetime.now(UTC))
        with self.store.engine.begin() as conn:
            conn.execute(sa.update(self.table).where(self._where(key)).values(**values))

    def retry_reservation(self, key: str) -> None:
        """A new create attempt for an uncertain row (after the search found nothing)."""
        self._update(key, reserved_at=datetime.now(UTC), last_error=None)

    @staticmethod
    def _says(problem: Problem, run_id: str) -> dict[str, Any]:
        """What the ticket now says about the problem (compared on the next sync)."""
        return {
            "content_hash": problem.content_hash(),
            "members": [m.to_dict() for m in problem.failing],
            "severity": str(problem.severity),
            "last_seen_run": run_id,
            "last_error": None,
        }

    def opened(self, problem: Problem, ticket: Ticket, run_id: str) -> None:
        """The ticket exists: created, or adopted after an uncertain create (then it may
        already be closed in the target)."""
        now = datetime.now(UTC)
        self._update(
            problem.key,
            state=CLOSED if ticket.closed else OPEN,
            ticket_key=ticket.key,
            ticket_id=ticket.id,
            ticket_url=ticket.url,
            opened_at=now,
            closed_at=now if ticket.closed else None,
            **self._says(problem, run_id),
        )

    def changed(self, problem: Problem, run_id: str) -> None:
        """The ticket now says what the problem is (after an update or a reopen)."""
        self._update(problem.key, state=OPEN, closed_at=None, **self._says(problem, run_id))

    def closed(self, key: str) -> None:
        self._update(key, state=CLOSED, closed_at=datetime.now(UTC), last_error=None)

    def seen(self, keys: Iterable[str], run_id: str) -> None:
        """Still failing: remember the run (no remote call: last-seen lives here)."""
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            with self.store.engine.begin() as conn:
                conn.execute(
                    sa.update(self.table)
                    .where(self.table.c.target == self.target, self.table.c.fingerprint.in_(chunk))
                    .values(last_seen_run=run_id)
                )

    def failed(self, key: str, error: str) -> None:
        self._update(key, last_error=error[:2000])

    def forget(self, key: str) -> None:
        """Drop a reservation whose create certainly did not happen."""
        with self.store.engine.begin() as conn:
            conn.execute(
                sa.delete(self.table).where(self._where(key), self.table.c.state == CREATING)
            )


def all_rows(store: Store, target: str | None = None) -> list[Row]:
    """Every ledger row (of one target), by target and key (``scanner tickets list``)."""
    query = sa.select(t.ticket_ledger).order_by(
        t.ticket_ledger.c.target, t.ticket_ledger.c.rule_id, t.ticket_ledger.c.fingerprint
    )
    if target is not None:
        query = query.where(t.ticket_ledger.c.target == target)
    with store.engine.connect() as conn:
        return [_row(m) for m in conn.execute(query).mappings()]


@dataclass(frozen=True)
class SyncRecord:
    """One sync of one target, as the sync log keeps it."""

    target: str
    run_id: str
    seq: int
    started_at: datetime
    status: str
    counts: dict[str, int]
    error: str | None


def record_sync(store: Store, rec: SyncRecord) -> None:
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(t.ticket_syncs).values(
                target=rec.target,
                run_id=rec.run_id,
                seq=rec.seq,
                started_at=rec.started_at,
                finished_at=datetime.now(UTC),
                status=rec.status,
                counts=rec.counts,
                error=rec.error[:2000] if rec.error else None,
            )
        )


def last_synced(store: Store, target: str) -> tuple[str, int] | None:
    """The run (id, seq) of the newest sync of ``target`` (None: never synced)."""
    with store.engine.connect() as conn:
        m = (
            conn.execute(
                sa.select(t.ticket_syncs.c.run_id, t.ticket_syncs.c.seq)
                .where(t.ticket_syncs.c.target == target)
                .order_by(t.ticket_syncs.c.seq.desc(), t.ticket_syncs.c.id.desc())
            )
            .mappings()
            .first()
        )
    return (m["run_id"], m["seq"]) if m is not None else None
