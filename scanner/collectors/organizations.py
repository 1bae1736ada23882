"""Organizations: the one step no spec can express, walking from the account up to the root.

SCP evaluation needs every policy on the path root -> OU -> ... -> account, so the account
record carries ``ParentPath``: the ids from the root down to the account's direct parent.
"""

from __future__ import annotations

from scanner.collectors.specs import CallFn, PagesFn, Record, Scope

# Organizations allows at most five levels of OUs under the root; anything deeper is a loop.
MAX_DEPTH = 10


class ParentChainError(RuntimeError):
    """ListParents did not lead to a root within :data:`MAX_DEPTH` steps."""


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
