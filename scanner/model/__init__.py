"""Plain data every stage shares: findings, the snapshot, the run record.

The bottom layer of the package: it imports nothing of ``scanner`` except
:mod:`scanner.errors`, so collectors, the rule engine, the store, the reporters and (later)
tickets can all read these types without importing each other (the import contract in
``pyproject.toml`` holds that).
"""
