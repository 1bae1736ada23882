"""The store's schema: migrations against schema.py, upgrades, refusals, opening, file mode.

Every test that opens a store runs on SQLite and on PostgreSQL (``store_url``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext

from scanner import __version__
from scanner.history import schema as t
from scanner.history.database import MIGRATIONS, StoreError, create, parse_url
from scanner.history.store import RunRow, Store
from scanner.history.verify import verify
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord, RunStatus
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from tests.storekit import store_record

ACCOUNT = "111122223333"
REGION = "us-west-2"
VIEWS = {"findings", "run_resources"}
# Parents before children (foreign keys): the order rows are copied in.
TABLES = [
    t.store_info,
    t.runs,
    t.blobs,
    t.resource_versions,
    t.finding_versions,
    t.baselines,
    t.pruned_runs,
]


def stamp(day: int) -> str:
    return f"2024-03-{day:02d}T08:00:00.000000Z"


def small_snapshot() -> Snapshot:
    snap = Snapshot(accounts=[ACCOUNT], regions=[REGION], started_at=stamp(1))
    snap.add(ACCOUNT, REGION, "ec2:vpc", "vpc-1", {"VpcId": "vpc-1", "EnableDnsHostnames": True})
    snap.add(
        ACCOUNT,
        REGION,
        "ec2:subnet",
        "subnet-1",
        {"SubnetId": "subnet-1", "VpcId": "vpc-1", "AvailableIpAddressCount": 9},
    )
    for rtype in ("ec2:vpc", "ec2:subnet"):
        snap.record(
            CollectorOutcome(rtype.split(":")[1], ACCOUNT, REGION, [rtype], OutcomeStatus.OK, 1)
        )
    return snap


def small_findings() -> list[Finding]:
    return [
        Finding(
            rule_id=rule,
            status=status,
            severity=Severity.HIGH,
            account_id=ACCOUNT,
            region=REGION,
            resource_type="ec2:vpc",
            resource_id="vpc-1",
            title=rule,
            message=f"{rule}: {status}",
            evidence={"rule": rule},
        )
        for rule, status in (("a", Status.FAIL), ("b", Status.PASS), ("c", Status.FAIL))
    ]


def write_run(store: Store, run_id: str, *, day: int, finish: bool = True) -> RunRow:
    """One run through the public API (``finish=False``: a writer that died while running)."""
    record = RunRecord(
        run_id=run_id,
        snapshot=small_snapshot(),
        findings=small_findings(),
        started_at=stamp(day),
        finished_at=stamp(day),
        rulepack_version="test-pack-1",
        config_hash="c" * 64,
    )
    return store_record(store, record, finish=finish)


def alembic_config(conn: sa.Connection) -> AlembicConfig:
    """The configuration ``database.upgrade`` builds, on ``conn``."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def revision_of(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def view_names(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(sa.inspect(conn).get_view_names())


def table_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: int(
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            )
            for table in TABLES
        }


def aware(value: Any) -> Any:
    """SQLite hands timestamps back naive (they are UTC): make them unambiguous for
    PostgreSQL, which would read a naive value in the session's time zone."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    """A bare engine on ``store_url`` (no store opened, no schema yet)."""
    eng = create(parse_url(store_url))
    yield eng
    eng.dispose()


# -- (a) migrations and schema.py agree ---------------------------------------------------


def test_migrations_build_exactly_schema_py(store_url: str) -> None:
    with Store.open(store_url) as store, store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        # Autogenerate reflects tables only (the inspector's get_table_names leaves views
        # out), so 0002's two views neither appear in this diff nor need filtering out;
        # they are checked by name below and by their content in tests/test_store.py.
        assert compare_metadata(context, t.metadata) == []
        names = set(sa.inspect(conn).get_table_names())
        assert names == set(t.metadata.tables) | {"alembic_version"}
        assert set(sa.inspect(conn).get_view_names()) == VIEWS


def test_the_comparison_sees_a_difference(store_url: str) -> None:
    # the test above could fail: a schema.py with one more column differs from the migrations
    changed = sa.MetaData()
    for table in t.metadata.tables.values():
        table.to_metadata(changed)
    sa.Table("runs", changed, sa.Column("extra", sa.Integer), extend_existing=True)
    with Store.open(store_url) as store, store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), changed)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "runs", "extra")]


# -- (b) an upgrade keeps history ---------------------------------------------------------


def test_upgrade_from_0001_keeps_history(store_url: str, engine: sa.Engine, tmp_path: Path) -> None:
    # A sealed run written by this build into a scratch store ...
    with Store.open(f"sqlite:///{tmp_path / 'source.db'}") as source:
        row = write_run(source, "r1", day=1)
        snap = source.snapshot(row).to_dict()
        findings = [f.to_dict() for f in source.findings(row)]
        with source.engine.connect() as conn:
            rows = {
                table.name: [
                    {k: aware(v) for k, v in m.items()}
                    for m in conn.execute(sa.select(table)).mappings()
                ]
                for table in TABLES
            }
    # ... inserted row by row into a store at revision 0001, the way its tables allow.
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0001")
        for table in TABLES:
            if rows[table.name]:
                conn.execute(sa.insert(table), rows[table.name])
    assert revision_of(engine) == ["0001"]
    assert view_names(engine) == set()
    before = table_counts(engine)
    assert before["runs"] == 1
    assert before["finding_versions"] == 3

    with Store.open(store_url) as store:
        assert revision_of(store.engine) == [t.HEAD_REVISION]
        assert view_names(store.engine) == VIEWS
        assert table_counts(store.engine) == before
        assert store.info()["last_migrated_by"] == __version__
        migrated = store.run("r1")
        assert migrated.status is RunStatus.COMPLETE
        assert migrated.chain_digest == row.chain_digest
        assert store.snapshot(migrated).to_dict() == snap
        assert [f.to_dict() for f in store.findings(migrated)] == findings
        with store.engine.connect() as conn:
            by_status = dict(
                conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM findings WHERE run_id = 'r1' GROUP BY status"
                    )
                ).all()
            )
            listed = conn.execute(
                sa.text("SELECT count(*) FROM run_resources WHERE run_id = 'r1'")
            ).scalar_one()
        assert by_status == {"FAIL": 2, "PASS": 1}
        assert listed == 2
        result = verify(store)
        assert result.ok, result.problems
        # and history goes on: the next run chains to the migrated one
        write_run(store, "r2", day=2)
        assert store.run("r2").status is RunStatus.COMPLETE
        result = verify(store)
        assert result.ok, result.problems
        assert result.runs_checked == 2


# -- (c) a newer schema is refused before anything is written -----------------------------


def test_newer_schema_is_refused_and_nothing_is_written(store_url: str) -> None:
    with Store.open(store_url) as store:
        write_run(store, "r1", day=1)
        write_run(store, "r2", day=2, finish=False)  # left running by a dead writer
        assert store.run("r2").status is RunStatus.RUNNING
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
        counts = table_counts(store.engine)
        info = store.info()

    with pytest.raises(StoreError) as refused:
        Store.open(store_url)
    message = str(refused.value)
    assert "9999" in message
    assert t.HEAD_REVISION in message

    probe = create(parse_url(store_url))
    try:
        assert revision_of(probe) == ["9999"]
        assert table_counts(probe) == counts
        with probe.connect() as conn:
            assert (
                dict(conn.execute(sa.select(t.store_info.c.key, t.store_info.c.value)).all())
                == info
            )
            status = conn.execute(
                sa.select(t.runs.c.status).where(t.runs.c.id == "r2")
            ).scalar_one()
        assert status == "running"  # not even reconciled
    finally:
        probe.dispose()


# -- (d) a store that cannot be opened: one line, password hidden -------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1:1/none", "cannot be opened"),
        ("sqlite:////proc/nope/x.db", "cannot create /proc/nope"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "u:***@127.0.0.1:1/x cannot be opened"),
        # the server answers, and refuses the role
        ("postgresql+psycopg://nosuchuser:secret@127.0.0.1:5432/test", "nosuchuser"),
        ("mysql://u:secret@127.0.0.1/x", "only sqlite"),
        # a typo in the port
        ("postgresql+psycopg://u:secret@127.0.0.1:54x2/x", "store"),
        # a typo in the scheme (one slash): no URL SQLAlchemy can parse
        ("postgresql+psycopg:/u:secret@127.0.0.1/x", "not a database URL"),
    ],
)
def test_unopenable_store_is_one_line_without_the_password(url: str, expected: str) -> None:
    with pytest.raises(StoreError) as failed:
        Store.open(url)
    message = str(failed.value)
    assert expected in message
    assert "\n" not in message.strip()
    assert "secret" not in message


def test_read_only_open_of_a_missing_sqlite_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "absent" / "history.db"
    with pytest.raises(StoreError, match="no history store at") as failed:
        Store.open(f"sqlite:///{path}", create_missing=False)
    assert str(path) in str(failed.value)
    assert not path.exists()
    assert not path.parent.exists()


# -- (e) the SQLite file is private -------------------------------------------------------


def test_sqlite_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "history.db"
    old = os.umask(0o022)  # the usual umask: a default-mode file would be world-readable
    try:
        with Store.open(f"sqlite:///{path}") as store:
            write_run(store, "r1", day=1)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
            wal = Path(f"{path}-wal")
            assert wal.exists()  # the pool keeps a connection: the journal holds data
            assert stat.S_IMODE(wal.stat().st_mode) == 0o600
    finally:
        os.umask(old)
