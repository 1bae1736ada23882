"""The store's tables as SQLAlchemy Core objects, for queries.

The migrations in ``migrations/versions`` create these tables; this module describes the
newest revision for the code that reads and writes them.  ``tests/test_store_schema.py``
compares the two with Alembic's own autogenerate comparison, so they cannot drift apart.
Documented for SQL users in the README ("The history store").
"""

from __future__ import annotations

import sqlalchemy as sa

HEAD_REVISION = "0005"
"""The newest schema revision this build knows; a store at a later one is refused."""

TS = sa.DateTime(timezone=True)
metadata = sa.MetaData()

store_info = sa.Table(
    "store_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    # Position among the runs whose snapshot and findings were stored (NULL otherwise):
    # resource and finding versions are valid over ranges of it.
    sa.Column("seq", sa.Integer, unique=True),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS),
    sa.Column("tool_version", sa.String(32), nullable=False),
    sa.Column("schema_revision", sa.String(32), nullable=False),
    sa.Column("rulepack_version", sa.String(64), nullable=False),
    sa.Column("config_hash", sa.String(64), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("fail_on", sa.String(16), nullable=False),
    sa.Column("accounts", sa.JSON, nullable=False),
    sa.Column("regions", sa.JSON, nullable=False),
    sa.Column("collectors", sa.JSON, nullable=False),
    sa.Column("snapshot_meta", sa.JSON),
    sa.Column("counts", sa.JSON),
    sa.Column("waivers", sa.JSON),
    sa.Column("exit_code", sa.Integer),
    sa.Column("output_dir", sa.Text),
    sa.Column("reports", sa.JSON),
    sa.Column("error", sa.Text),
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(255)),
    sa.Column("snapshot_digest", sa.String(64)),
    sa.Column("findings_digest", sa.String(64)),
    sa.Column("prev_run_id", sa.String(64)),
    sa.Column("prev_digest", sa.String(64)),
    sa.Column("chain_digest", sa.String(64)),
)

blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("hash", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)

resource_versions = sa.Table(
    "resource_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("account_id", sa.String(32), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("content_hash", sa.String(64), sa.ForeignKey("blobs.hash"), nullable=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("until_seq", sa.Integer),
    sa.Index("ix_resource_versions_span", "first_seq", "until_seq"),
    sa.Index("ix_resource_versions_until", "until_seq"),
)

finding_versions = sa.Table(
    "finding_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("fingerprint", sa.String(32), nullable=False, index=True),
    sa.Column("finding_hash", sa.String(64), nullable=False),
    sa.Column("rule_id", sa.String(128), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("account_id", sa.String(32), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("resource_arn", sa.Text),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("waived", sa.Boolean, nullable=False),
    sa.Column("waiver_id", sa.Text),
    sa.Column("detail_hash", sa.String(64), sa.ForeignKey("blobs.hash"), nullable=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("until_seq", sa.Integer),
    sa.Index("ix_finding_versions_span", "first_seq", "until_seq"),
    sa.Index("ix_finding_versions_until", "until_seq"),
)

baselines = sa.Table(
    "baselines",
    metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("note", sa.Text),
    sa.Column("created_at", TS, nullable=False),
)

pruned_runs = sa.Table(
    "pruned_runs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("seq", sa.Integer),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("chain_digest", sa.String(64)),
    sa.Column("pruned_at", TS, nullable=False),
)

# -- the nightly job (revision 0003) ---------------------------------------------------

schedule_slots = sa.Table(
    "schedule_slots",
    metadata,
    # One row per scheduled fire time a daemon claimed: the primary key is the guarantee
    # that two daemons on one store never both run a cycle (APScheduler 3 cannot share a
    # job store between processes safely, so the store itself decides who runs).
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("slot", TS, primary_key=True),
    # No foreign key: the run row is written by the scan after the claim, and a pruned
    # run's slot must stay claimed.
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("claimed_at", TS, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
)

SCHEDULER_JOBS = "scheduler_jobs"
scheduler_jobs = sa.Table(
    SCHEDULER_JOBS,
    metadata,
    # APScheduler's SQLAlchemyJobStore table, exactly as it defines it (it creates the
    # table only when missing): created by the migration so the store's schema is whole.
    sa.Column("id", sa.Unicode(191), primary_key=True),
    sa.Column("next_run_time", sa.Float(25), index=True),
    sa.Column("job_state", sa.LargeBinary, nullable=False),
)

# -- tickets (revision 0004) -----------------------------------------------------------

ticket_ledger = sa.Table(
    "ticket_ledger",
    metadata,
    # One row per problem per ticketing target: the primary key is what makes a second
    # ticket for one problem impossible.  The row is inserted ("reserved", state
    # ``creating``) and committed *before* the remote create; only then is the ticket made,
    # and its key written back (state ``open``).  A row still ``creating`` later is an
    # uncertain create: the next sync searches the target for it before creating anything.
    sa.Column("target", sa.String(64), primary_key=True),
    sa.Column("fingerprint", sa.String(64), primary_key=True),
    sa.Column("grouping", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("ticket_key", sa.String(255)),
    sa.Column("ticket_id", sa.String(255)),
    sa.Column("ticket_url", sa.Text),
    # What the ticket is about, so a problem absent from a later run can be judged
    # (resolved only where that run looked).
    sa.Column("rule_id", sa.String(128), nullable=False),
    sa.Column("account_id", sa.String(32), nullable=False),
    sa.Column("region", sa.String(32), nullable=False),
    sa.Column("resource_type", sa.String(128), nullable=False),
    sa.Column("resource_id", sa.Text, nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("members", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64)),
    sa.Column("reserved_at", TS, nullable=False),
    sa.Column("opened_at", TS),
    sa.Column("closed_at", TS),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("last_seen_run", sa.String(64)),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_ticket_ledger_state", "target", "state"),
)

ticket_syncs = sa.Table(
    "ticket_syncs",
    metadata,
    # Every sync of every target: which run it followed, how it ended, what it did.  The
    # newest one per target keeps a sync from going back to an older run by mistake.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("target", sa.String(64), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("counts", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    sa.Index("ix_ticket_syncs_target", "target", "seq"),
)


collection_shards = sa.Table(
    "collection_shards",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(32), primary_key=True),
    sa.Column("region", sa.String(32), primary_key=True),
    sa.Column("collector", sa.String(64), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("resource_count", sa.Integer, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("written_at", TS, nullable=False),
)
"""Dask workers' collection shards until the scan merges them (migration 0005)."""
