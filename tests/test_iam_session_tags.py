"""Role session tags: when a role's trust policy allows ``sts:TagSession``, whoever assumes it
chooses ``aws:PrincipalTag/*`` (session tags override the role's own tags), so a condition on a
principal tag is not fixed by the inventory.  Each test varies only the trust policy.
"""

from __future__ import annotations

from typing import Any

from scanner.iam.inventory import build_inventory
from scanner.iam.paths import Notebook, PathAnalyzer
from scanner.model.snapshot import Snapshot
from tests.test_iam_paths import ACCT, APPROVED, PRESIGN, doc, stmt

ROLE = f"arn:aws:iam::{ACCT}:role/Analyst"
NB = [Notebook(f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/nb1", ACCT)]
# Allowed from anywhere, but only for principals tagged team=platform; the role is tagged
# team=research, so with fixed tags there is no path.
TAG_GATED = doc(stmt(cond={"StringEquals": {"aws:PrincipalTag/team": "platform"}}))


def trust(*actions: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                "Action": list(actions),
            }
        ],
    }


def role_snapshot(trust_policy: Any) -> Snapshot:
    snap = Snapshot(accounts=[ACCT])
    snap.add(
        ACCT,
        "global",
        "iam:role",
        ROLE,
        {
            "RoleName": "Analyst",
            "Arn": ROLE,
            "Path": "/",
            "RoleId": "AROAX",
            "AssumeRolePolicyDocument": trust_policy,
            "RolePolicyList": [{"PolicyName": "gated", "PolicyDocument": TAG_GATED}],
            "AttachedManagedPolicies": [],
            "Tags": [{"Key": "team", "Value": "research"}],
        },
        arn=ROLE,
    )
    return snap


def analyse(trust_policy: Any) -> Any:
    (principal,) = build_inventory(role_snapshot(trust_policy)).principals
    return PathAnalyzer(NB, APPROVED).analyze(principal, PRESIGN)


def test_fixed_role_tags_close_the_tag_gated_grant() -> None:
    result = analyse(trust("sts:AssumeRole"))
    assert not result.has_path and result.undecided == []


def test_tag_session_lets_the_caller_choose_the_tag() -> None:
    result = analyse(trust("sts:AssumeRole", "sts:TagSession"))
    assert result.has_path
    assert dict(result.paths[0].context)["aws:principaltag/team"] == ("platform",)


def test_wildcard_sts_action_counts_as_tag_session() -> None:
    assert analyse(trust("sts:*")).has_path


def test_unreadable_trust_policy_is_read_conservatively() -> None:
    assert analyse('{"Statement": [').has_path
