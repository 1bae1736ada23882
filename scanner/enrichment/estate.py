"""The enriched estate: every snapshot resource plus the cross-resource facts rules need.

A rule sees one *document* per resource: AWS's own fields exactly as collected, plus a
top-level ``enriched`` mapping computed by :mod:`scanner.enrichment`.  AWS's fields are
PascalCase (``SubnetId``) while ``enriched`` is lower case, so the two can never collide and
a rule author can always tell which facts came from AWS and which from the scanner.

Documents are shallow copies: the nested values are shared with the snapshot and must be
treated as read-only (enrichment only ever adds the ``enriched`` key).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class EstateResource:
    """One resource as rules see it: identity plus the enriched document."""

    account_id: str
    region: str
    type: str
    id: str
    arn: str | None
    doc: dict[str, Any]

    @property
    def enriched(self) -> dict[str, Any]:
        """The scanner-computed facts (always present, possibly empty)."""
        value: dict[str, Any] = self.doc.get("enriched", {})
        return value


@dataclass
class Estate:
    """All enriched resources, indexed by type and by key, iterated in a deterministic order."""

    _by_type: dict[str, list[EstateResource]] = field(default_factory=dict)
    _by_key: dict[tuple[str, str, str, str], EstateResource] = field(default_factory=dict)

    @classmethod
    def of(cls, resources: Iterable[EstateResource]) -> Estate:
        estate = cls()
        for res in resources:
            estate._by_type.setdefault(res.type, []).append(res)
            estate._by_key[(res.account_id, res.region, res.type, res.id)] = res
        for items in estate._by_type.values():
            items.sort(key=lambda r: (r.account_id, r.region, r.id))
        return estate

    def resources(self, rtype: str) -> list[EstateResource]:
        """Resources of one type, sorted by account, region and id."""
        return list(self._by_type.get(rtype, []))

    def get(self, account_id: str, region: str, rtype: str, rid: str) -> EstateResource | None:
        """One resource by key, or None."""
        return self._by_key.get((account_id, region, rtype, rid))

    def types(self) -> list[str]:
        """Resource types present, sorted."""
        return sorted(self._by_type)

    def __iter__(self) -> Iterator[EstateResource]:
        for rtype in self.types():
            yield from self._by_type[rtype]
