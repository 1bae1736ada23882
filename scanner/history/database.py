"""Opening a store: the URL, the engine, the schema revision.

SQLite is the embedded default (one file, WAL journal, ``synchronous=FULL``, foreign keys
on); PostgreSQL serves teams (``postgresql+psycopg://user@host/db``; a plain
``postgresql://`` URL is read as psycopg 3, the driver the scanner ships with).  Opening
brings an older schema up to this build's revision with Alembic inside one transaction, and
refuses a store written by a newer scanner, naming both revisions, before writing anything.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from scanner.errors import ScannerError
from scanner.history.schema import HEAD_REVISION
from scanner.logs import register_secret
from scanner.private import create_private_file, make_private_dir

if TYPE_CHECKING:
    from scanner.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_FILE = "history.db"
VERSION_TABLE = "alembic_version"  # Alembic's default, which migrations/env.py keeps
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005")
# ":password@" in a URL that cannot be parsed, hidden before the text is shown.
_PASSWORD = re.compile(r":[^:/@]*@")


class StoreError(ScannerError):
    """The store cannot be used as asked: bad URL, unreachable, newer schema, unknown run."""


def default_url(directory: str | Path) -> str:
    """The zero-config store: ``<directory>/history.db`` (directory: config ``output.dir``)."""
    return f"sqlite:///{Path(directory) / DEFAULT_FILE}"


def store_url(config: Config, override: str | None = None) -> str:
    """The history store a command uses: ``--store``, else ``store.url``, else
    ``<output.dir>/history.db`` (the same file for every command run from one directory)."""
    return override or config.store.url or default_url(config.output.dir)


def parse_url(text: str) -> URL:
    """The URL as SQLAlchemy reads it, with ``postgresql://`` mapped to psycopg 3."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise StoreError(
            f"store.url {_PASSWORD.sub(':***@', text)!r} is not a database URL "
            "(expected sqlite:///PATH or postgresql+psycopg://user@host:5432/db)"
        ) from None
    # A password in the URL is masked in every log line from now on (the driver's own
    # messages and tracebacks included); messages of this module show mask(url).
    register_secret(url.password)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store.url {mask(url)}: only sqlite:///PATH and postgresql+psycopg:// are supported"
        )
    return url


def mask(url: URL | str) -> str:
    """The URL with any password hidden, for messages and logs."""
    parsed = url if isinstance(url, URL) else make_url(url)
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or in-memory SQLite)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database or "")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer and a killed writer leaves the file consistent;
    # FULL: a committed transaction survives power loss too.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def begin_ddl(conn: sa.Connection) -> None:
    """Make the rest of ``conn``'s transaction, DDL included, one SQLite transaction.

    Python's sqlite3 (before 3.12) opens a transaction only before INSERT/UPDATE/DELETE and
    runs DDL in autocommit: a migration killed half-way left some tables created and no
    revision recorded, a store no later command could open.  An explicit ``BEGIN
    IMMEDIATE`` (the write lock at once) covers the whole migration.  Only migrations do
    this: an explicit BEGIN everywhere would give every transaction a read snapshot from its
    first SELECT, and a write after another process's commit (Dask workers storing shards)
    then fails at once with "database is locked" instead of waiting (SQLITE_BUSY_SNAPSHOT).
    PostgreSQL's DDL is transactional already."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create(url: URL) -> sa.Engine:
    """An engine for ``url``; for SQLite the file (0600: history names every resource;
    SQLite gives its -wal, -shm and -journal files the same mode) and its missing
    directories (0700) are created first, whatever the umask."""
    path = sqlite_path(url)
    if path is not None:
        try:
            make_private_dir(path.parent)
        except OSError as exc:
            raise StoreError(
                f"store {mask(url)}: cannot create {path.parent}: {exc.strerror}"
            ) from None
        try:
            create_private_file(path)
        except OSError as exc:
            raise StoreError(f"store {mask(url)}: cannot create {path}: {exc.strerror}") from None
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except NoSuchModuleError as exc:
        raise StoreError(f"store.url {mask(url)}: no driver for it ({exc})") from None
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def describe_failure(url: URL, exc: DBAPIError) -> StoreError:
    """One line for a store that cannot be opened (the driver's reason, password masked)."""
    import psycopg  # only a PostgreSQL store's failure needs the driver's error type

    orig = exc.orig
    if isinstance(orig, psycopg.Error):
        reason = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    else:
        reason = str(orig) if orig is not None else str(exc)
    return StoreError(f"store {mask(url)} cannot be opened: {reason}")


def describe_write_failure(url: URL, exc: DBAPIError) -> str:
    """Why a write to the store failed, in one line (password masked); a full disk says so
    and names the database file, whatever words the driver used."""
    orig = exc.orig
    reason = (str(orig) if orig is not None else str(exc)).strip().splitlines()
    text = reason[0] if reason else type(exc).__name__
    path = sqlite_path(url)
    if getattr(orig, "sqlite_errorname", None) == "SQLITE_FULL" and path is not None:
        return f"no space left on device: {path} ({text})"
    if "No space left on device" in text:
        return f"no space left on device: store {mask(url)} ({text})"
    return f"store {mask(url)} cannot be written: {text}"


def current_revision(conn: sa.Connection) -> str | None:
    """The schema revision recorded in the store (None: a new, empty store).

    Read from Alembic's own ``alembic_version`` table with plain SQL, as Alembic's
    ``MigrationContext.get_current_revision`` does, so opening a store at head does not
    import Alembic (~150 ms of every command's start-up); only :func:`upgrade` needs it."""
    if not sa.inspect(conn).has_table(VERSION_TABLE):
        return None
    rows = conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:  # this project's migrations are one linear chain: one head
        raise StoreError(f"the store records {len(rows)} schema heads ({', '.join(rows)})")
    return rows[0] if rows else None


def check_revision(url: URL, revision: str | None) -> None:
    """Refuse a store whose schema this build does not know (written by a newer scanner)."""
    if revision is not None and revision not in KNOWN_REVISIONS:
        raise StoreError(
            f"store {mask(url)} has schema revision {revision}, newer than this scanner "
            f"understands (up to {HEAD_REVISION}); upgrade privatelink-scanner to read it"
        )


def upgrade(conn: sa.Connection) -> None:
    """Bring the schema to :data:`HEAD_REVISION` on ``conn`` (inside its transaction)."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, HEAD_REVISION)


def connect_checked(engine: sa.Engine, url: URL) -> str | None:
    """Connect once and return the schema revision, turning driver errors into one line."""
    try:
        with engine.connect() as conn:
            return current_revision(conn)
    except (OperationalError, DBAPIError) as exc:
        raise describe_failure(url, exc) from None
