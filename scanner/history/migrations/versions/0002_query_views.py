"""Views for SQL users (Grafana, Metabase, an auditor's query): one row per run and item.

``findings`` and ``run_resources`` expand the version spans of revision 0001 into plain
per-run rows, so ``SELECT * FROM findings WHERE run_id = ... AND status = 'FAIL'`` works
without knowing how history is stored.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SPAN = "v.first_seq <= r.seq AND (v.until_seq IS NULL OR v.until_seq > r.seq)"


def upgrade() -> None:
    op.execute(
        "CREATE VIEW findings AS SELECT r.id AS run_id, r.started_at AS run_started_at, "
        "r.status AS run_status, v.fingerprint, v.rule_id, v.status, v.severity, "
        "v.account_id, v.region, v.resource_type, v.resource_id, v.resource_arn, v.title, "
        "v.message, v.waived, v.waiver_id "
        f"FROM runs r JOIN finding_versions v ON {_SPAN}"
    )
    op.execute(
        "CREATE VIEW run_resources AS SELECT r.id AS run_id, r.started_at AS run_started_at, "
        "v.account_id, v.region, v.resource_type, v.resource_id, v.content_hash "
        f"FROM runs r JOIN resource_versions v ON {_SPAN}"
    )


def downgrade() -> None:
    raise NotImplementedError("the history store is never downgraded: it would lose history")
