"""Collection shards: what Dask workers collected, waiting to be merged into a snapshot.

``collection_shards`` keeps one row per (run, account, region, collector): the outcome and
records of one collector in one scope, compressed.  A worker writes it and hands back only
a pointer; the scan merges the shards into its snapshot and deletes them.  Rows of a run
that is no longer running are leftovers of a crash and are deleted by the next scan.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "collection_shards",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.String(32), primary_key=True),
        sa.Column("region", sa.String(32), primary_key=True),
        sa.Column("collector", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("resource_count", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    raise NotImplementedError("the history store is never downgraded: it would lose history")
