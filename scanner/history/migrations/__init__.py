"""Alembic migrations of the history store (run by :mod:`scanner.history.schema_version`)."""
