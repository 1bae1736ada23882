"""Collectors: read the estate over AWS APIs into a :class:`~scanner.model.snapshot.Snapshot`.

Entry point: :func:`collect`.  Specs live in :mod:`scanner.collectors.registry` (with the
list of collector names), the generic engine in :mod:`scanner.collectors.engine`.
"""

from scanner.collectors.collect import collect
from scanner.collectors.registry import COLLECTORS, all_operations

__all__ = ["COLLECTORS", "all_operations", "collect"]
