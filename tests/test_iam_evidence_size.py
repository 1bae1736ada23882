"""Evidence stays bounded when many principals reach many notebooks.

Every path is listed in full in its principal's finding; a notebook's finding names at most
MAX_LISTED paths (with the total), and a path at most MAX_LISTED notebook ARNs (with the
count).  Each test crosses the cap by one and checks its twin just under it.
"""

from __future__ import annotations

from typing import Any

from scanner.engine.builtins.iam import MAX_LISTED
from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot
from tests.snapshots import ACCOUNT, NOTEBOOK
from tests.test_iam_rules_offline import USER, add_notebook, base, doc, one, results, statement

OPEN = doc(statement())


def add_users(snap: Snapshot, count: int) -> None:
    for i in range(count):
        arn = f"arn:aws:iam::{ACCOUNT}:user/open-{i:03d}"
        snap.add(
            ACCOUNT,
            "global",
            "iam:user",
            arn,
            {
                "UserName": f"open-{i:03d}",
                "Arn": arn,
                "UserId": f"AIDA{i:08d}",
                "GroupList": [],
                "UserPolicyList": [{"PolicyName": "open", "PolicyDocument": OPEN}],
                "AttachedManagedPolicies": [],
            },
            arn=arn,
        )


def notebook_evidence(extra_users: int) -> dict[str, Any]:
    snap = base(OPEN)  # alice is open too
    add_users(snap, extra_users)
    nb = one(results(snap), "notebook-no-public-access-path", NOTEBOOK)
    assert nb.status is Status.FAIL
    return nb.evidence


def test_notebook_lists_every_path_up_to_the_cap() -> None:
    evidence = notebook_evidence(MAX_LISTED - 1)
    assert evidence["paths_total"] == MAX_LISTED
    assert len(evidence["paths"]) == MAX_LISTED
    assert "paths_not_listed" not in evidence


def test_notebook_beyond_the_cap_says_how_many_more() -> None:
    evidence = notebook_evidence(MAX_LISTED)
    assert evidence["paths_total"] == MAX_LISTED + 1
    assert len(evidence["paths"]) == MAX_LISTED
    assert evidence["paths_not_listed"].startswith("1 more path(s)")
    assert all(p["fix_cli"].startswith("aws iam ") for p in evidence["paths"])
    listed = [p["principal"] for p in evidence["paths"]]
    assert listed == sorted(listed)  # the first MAX_LISTED principals, in a stable order
    assert listed[-1].endswith(f"open-{MAX_LISTED - 2:03d}")  # alice, open-000..098 listed


def principal_path(notebooks: int) -> dict[str, Any]:
    snap = base(OPEN)
    for i in range(notebooks - 1):  # the compliant snapshot has one notebook already
        add_notebook(snap, f"nb-{i:03d}")
    found = one(results(snap), "iam-presigned-url-requires-vpc-endpoint", USER)
    (path,) = found.evidence["paths"]
    return path  # type: ignore[no-any-return]


def test_path_lists_every_notebook_up_to_the_cap() -> None:
    path = principal_path(MAX_LISTED)
    assert path["notebook_count"] == MAX_LISTED == len(path["notebooks"])
    assert "notebooks_not_listed" not in path


def test_path_beyond_the_cap_counts_the_rest() -> None:
    path = principal_path(MAX_LISTED + 1)
    assert path["notebook_count"] == MAX_LISTED + 1
    assert len(path["notebooks"]) == MAX_LISTED
    assert path["notebooks_not_listed"] == 1
