"""Lookup tables over a snapshot, built once so every join is a dictionary access."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from scanner.model.snapshot import GLOBAL_REGION, Resource, Snapshot

Scope = tuple[str, str]  # (account_id, region)


class SnapshotIndex:
    """Resources by (account, region, type) and by id, read from a snapshot without copying."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._by_scope: dict[tuple[str, str, str], dict[str, Resource]] = defaultdict(dict)
        for res in snapshot.iter_resources():
            self._by_scope[(res.account_id, res.region, res.type)][res.id] = res

    def in_scope(self, account_id: str, region: str, rtype: str) -> list[Resource]:
        """Resources of ``rtype`` in one (account, region), sorted by id."""
        found = self._by_scope.get((account_id, region, rtype), {})
        return [found[k] for k in sorted(found)]

    def data(self, account_id: str, region: str, rtype: str, rid: str) -> dict[str, Any] | None:
        """The ``data`` of one resource, or None when it was not collected."""
        res = self._by_scope.get((account_id, region, rtype), {}).get(rid)
        return res.data if res is not None else None

    def in_account(self, account_id: str, rtype: str) -> list[Resource]:
        """Resources of ``rtype`` in every region of an account (global ones included)."""
        out: list[Resource] = []
        for (acct, _region, typ), items in sorted(self._by_scope.items()):
            if acct == account_id and typ == rtype:
                out.extend(items[k] for k in sorted(items))
        return out

    def global_in(self, account_id: str, rtype: str) -> list[Resource]:
        """Resources of a global type (Route 53 zones, Direct Connect gateways) in an account."""
        return self.in_scope(account_id, GLOBAL_REGION, rtype)

    def accounts(self) -> list[str]:
        """The scanned accounts; for a snapshot that names none, those holding resources.

        Not every account holding resources: an organization scan keeps the management
        account's Organizations data (the SCPs, every account's OU path) even when that
        account itself is excluded from the scan, and it must not be judged unscanned.
        """
        if self.snapshot.accounts:
            return sorted(set(self.snapshot.accounts))
        return sorted(self.snapshot.resources)
