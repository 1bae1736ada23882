"""The history store: runs, content-addressed resource and finding versions, baselines.

Resources and findings are stored as *versions*: one row per distinct content, valid for
the stored runs ``first_seq <= seq < until_seq`` (``until_seq`` NULL: still current).  An
unchanged resource costs nothing per night, so a year of nightly runs stays small.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "store_info",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
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
    op.create_table(
        "blobs",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "resource_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), sa.ForeignKey("blobs.hash"), nullable=False),
        sa.Column("first_seq", sa.Integer, nullable=False),
        sa.Column("until_seq", sa.Integer),
    )
    op.create_index("ix_resource_versions_span", "resource_versions", ["first_seq", "until_seq"])
    op.create_index("ix_resource_versions_until", "resource_versions", ["until_seq"])
    op.create_table(
        "finding_versions",
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
    )
    op.create_index("ix_finding_versions_span", "finding_versions", ["first_seq", "until_seq"])
    op.create_index("ix_finding_versions_until", "finding_versions", ["until_seq"])
    op.create_table(
        "baselines",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("note", sa.Text),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "pruned_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("chain_digest", sa.String(64)),
        sa.Column("pruned_at", TS, nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("the history store is never downgraded: it would lose history")
