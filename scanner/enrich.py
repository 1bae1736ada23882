"""Public entry point of the enrichment step (implementation: :mod:`scanner.enrichment`).

Kept as a module of its own so callers write ``from scanner.enrich import enrich`` as the
architecture document describes, while the joins live in small modules by topic.
"""

from __future__ import annotations

from scanner.enrichment import Estate, EstateResource, enrich

__all__ = ["Estate", "EstateResource", "enrich"]
