"""Organizations: the one step no spec can express, the accounts' places in the OU tree.

SCP evaluation needs every policy on the path root -> OU -> ... -> account, so each
``organizations:account`` record carries ``ParentPath``: the ids from the root down to the
account's direct parent.

- A one-account scan walks up from its account (``ListParents``, one call per level).
- An organization scan (``Scope.org_wide``) walks the whole tree down once, in the
  management or delegated-admin account: ``ListRoots``, then per root and OU
  ``ListOrganizationalUnitsForParent`` and ``ListAccountsForParent``.  That is one record per
  account of the organization (with ``Name``, ``Status``, ``ParentPath`` and the OU names in
  ``ParentNames``), from which every member's SCP path is read: one walk instead of one
  per member, and the accounts to scan are chosen from it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from scanner.collectors.normalize import MalformedResponse, jsonable
from scanner.collectors.specs import CallFn, PagesFn, Record, Scope

# Organizations allows at most five levels of OUs under the root; anything deeper is a loop.
MAX_DEPTH = 10


class ParentChainError(RuntimeError):
    """ListParents did not lead to a root within :data:`MAX_DEPTH` steps."""


def organization_accounts(
    call: CallFn, pages: PagesFn, scope: Scope, records: list[Record]
) -> list[Record]:
    """The ``organizations:account`` records of this scope (see the module docstring)."""
    if scope.org_wide:
        return organization_tree(pages, scope)
    return parent_path(call, pages, scope, records)


def _listed(pages: PagesFn, operation: str, params: dict[str, Any], key: str) -> list[Any]:
    found: list[Any] = []
    for page in pages(operation, params):
        items = page.get(key)
        if not isinstance(items, list):
            raise MalformedResponse(f"{operation} answer has no {key}")
        found += items
    return found


def organization_tree(pages: PagesFn, scope: Scope) -> list[Record]:
    """Every account of the organization, breadth-first from its root."""
    roots = _listed(pages, "ListRoots", {}, "Roots")
    if len(roots) != 1:
        raise ParentChainError(f"ListRoots returned {len(roots)} roots")
    root = roots[0]
    queue: deque[tuple[str, list[str], list[str]]] = deque(
        [(str(root["Id"]), [str(root["Id"])], [str(root.get("Name") or "Root")])]
    )
    out: list[Record] = []
    seen: set[str] = set()
    while queue:
        parent, path, names = queue.popleft()
        if parent in seen or len(path) > MAX_DEPTH:
            raise ParentChainError(f"the OU tree loops or is deeper than {MAX_DEPTH} at {parent}")
        seen.add(parent)
        for account in _listed(pages, "ListAccountsForParent", {"ParentId": parent}, "Accounts"):
            data = {**jsonable(account), "ParentPath": path, "ParentNames": names}
            out.append(
                Record("organizations:account", str(account["Id"]), account.get("Arn"), data)
            )
        for ou in _listed(
            pages, "ListOrganizationalUnitsForParent", {"ParentId": parent}, "OrganizationalUnits"
        ):
            queue.append((str(ou["Id"]), [*path, str(ou["Id"])], [*names, str(ou.get("Name"))]))
    return sorted(out, key=lambda r: r.id)


def parent_path(call: CallFn, pages: PagesFn, scope: Scope, records: list[Record]) -> list[Record]:
    """One ``organizations:account`` record for the scanned account with its ``ParentPath``."""
    del call  # only paginated ListParents is needed
    path: list[str] = []
    child = scope.account_id
    for _ in range(MAX_DEPTH):
        parents = [p for page in pages("ListParents", {"ChildId": child}) for p in page["Parents"]]
        if len(parents) != 1:
            raise ParentChainError(f"ListParents({child}) returned {len(parents)} parents")
        parent = parents[0]
        path.insert(0, str(parent["Id"]))
        if parent["Type"] == "ROOT":
            break
        child = str(parent["Id"])
    else:
        raise ParentChainError(f"no root within {MAX_DEPTH} levels above {scope.account_id}")
    arn = None
    orgs = [r for r in records if r.type == "organizations:organization"]
    if orgs:
        org = orgs[0].data
        arn = (
            f"arn:{scope.partition}:organizations::{org['MasterAccountId']}:account/"
            f"{org['Id']}/{scope.account_id}"
        )
    data = {"Id": scope.account_id, "ParentPath": path}
    return [Record("organizations:account", scope.account_id, arn, data)]
