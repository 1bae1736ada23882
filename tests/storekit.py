"""Stores for tests: every store test runs on SQLite and on the PostgreSQL server here.

PostgreSQL: each test gets its own schema in database ``test`` on 127.0.0.1:5432 (trust
auth, user ``postgres``), named in the URL's ``search_path`` option and dropped after the
test.  When no server answers, the PostgreSQL cases are skipped with the reason printed
(``-ra`` shows it); they are never silently dropped.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import psycopg
import pytest

from scanner.history.store import RunRow, Store
from scanner.model.record import RunRecord

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@cache
def pg_unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it answers."""
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}".splitlines()[0]
    return None


def pg_schema_url(schema: str) -> str:
    """A store URL whose tables live in ``schema`` of database ``test``."""
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


@pytest.fixture
def pg_store_url() -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    reason = pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield pg_schema_url(schema)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return str(request.getfixturevalue("pg_store_url"))


def store_record(store: Store, record: RunRecord, *, finish: bool = True) -> RunRow:
    """Write one run through the store's public API, as ``scanner.run`` does (begin, save,
    finish under the writer lock); ``finish=False`` leaves a writer that died running."""
    with store.writing(mode="refuse"):
        store.begin_run(
            record.run_id,
            started_at=record.started_at,
            source="test",
            fail_on=record.fail_on,
            config_hash=record.config_hash,
            rulepack_version=record.rulepack_version,
        )
        if finish:
            store.save_results(record)
            store.finish_run(record)
    return store.run(record.run_id)
