"""Findings into ticketing systems: one ticket per problem, kept true run after run.

- :mod:`.problems` judges a stored run's findings as problems (failing, resolved, unknown);
- :mod:`.ledger` keeps problem <-> ticket per target in the history store;
- :mod:`.plan` decides what to create, update, close or reopen (pure, for ``--dry-run``);
- :mod:`.sync` carries the plan out on each target, writing the ledger around each step;
- one module per kind of target: :mod:`.jira`, :mod:`.servicenow`, :mod:`.github`,
  :mod:`.webhook`, :mod:`.jiracsv`; what they share is :mod:`.target` and :mod:`.render`.
"""

from __future__ import annotations

from scanner.tickets.sync import SyncReport, TargetResult, sync

__all__ = ["SyncReport", "TargetResult", "sync"]
