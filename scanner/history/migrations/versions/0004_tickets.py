"""Tickets: the ledger (problem <-> ticket per target) and the sync log.

``ticket_ledger`` keeps, per ticketing target, one row per problem (finding fingerprint or
rule-account group) with its ticket's key and state; its primary key makes a duplicate
ticket impossible.  ``ticket_syncs`` records every sync of every target.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "ticket_ledger",
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("fingerprint", sa.String(64), primary_key=True),
        sa.Column("grouping", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("ticket_key", sa.String(255)),
        sa.Column("ticket_id", sa.String(255)),
        sa.Column("ticket_url", sa.Text),
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
    )
    op.create_index("ix_ticket_ledger_state", "ticket_ledger", ["target", "state"])
    op.create_table(
        "ticket_syncs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_ticket_syncs_target", "ticket_syncs", ["target", "seq"])


def downgrade() -> None:
    raise NotImplementedError("the history store is never downgraded: it would lose history")
