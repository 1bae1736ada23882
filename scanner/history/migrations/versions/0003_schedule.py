"""The nightly job: claimed schedule slots and APScheduler's job store.

``schedule_slots`` holds one row per scheduled fire time a daemon ran (its primary key is
what keeps two daemons on one store from both running a cycle); ``scheduler_jobs`` is
APScheduler's ``SQLAlchemyJobStore`` table, so a restarted daemon neither loses nor repeats
a run.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_slots",
        sa.Column("job_id", sa.String(64), primary_key=True),
        sa.Column("slot", TS, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
    )
    op.create_table(
        "scheduler_jobs",
        sa.Column("id", sa.Unicode(191), primary_key=True),
        sa.Column("next_run_time", sa.Float(25)),
        sa.Column("job_state", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_scheduler_jobs_next_run_time", "scheduler_jobs", ["next_run_time"])


def downgrade() -> None:
    raise NotImplementedError("the history store is never downgraded: it would lose history")
