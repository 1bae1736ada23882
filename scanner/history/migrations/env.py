"""Alembic environment for the history store: always run programmatically.

The store hands Alembic its own open connection (``config.attributes["connection"]``), so
migrations run inside the same transaction and lock as the command that needed them, on
SQLite and PostgreSQL alike; there is no ``alembic.ini``.
"""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
