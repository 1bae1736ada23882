"""Inventory from real GetAccountAuthorizationDetails output (moto's server, over HTTP)."""

from __future__ import annotations

import json
from typing import Any

from scanner.collectors.normalize import decode_iam_documents
from scanner.iam.inventory import build_inventory
from scanner.iam.paths import Approved, Notebook, analyze_inventory
from scanner.model.snapshot import Snapshot

ACCT = "123456789012"
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
OPEN = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "Open", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}],
}
POST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "EnableNotebookAccess",
            "Effect": "Allow",
            "Action": [PRESIGN],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:sourceVpce": ["vpce-111bbccc"]}},
        }
    ],
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
        }
    ],
}


def _gaad_snapshot(iam: Any) -> Snapshot:
    snap = Snapshot(accounts=[ACCT])
    pages = iam.get_paginator("get_account_authorization_details").paginate(
        Filter=["User", "Role", "Group", "LocalManagedPolicy"]
    )
    for page in pages:
        for list_key, rtype in (
            ("UserDetailList", "iam:user"),
            ("GroupDetailList", "iam:group"),
            ("RoleDetailList", "iam:role"),
            ("Policies", "iam:policy"),
        ):
            for item in page.get(list_key, []):
                item = decode_iam_documents(json.loads(json.dumps(item, default=str)))
                snap.add(ACCT, "global", rtype, item["Arn"], item, arn=item["Arn"])
    return snap


def test_inventory_and_paths_from_moto(aws: Any) -> None:
    iam = aws("iam")
    managed = iam.create_policy(PolicyName="NotebookAccess", PolicyDocument=json.dumps(OPEN))
    arn = managed["Policy"]["Arn"]
    # v2 (the post's closed policy) becomes the default: only it may count.
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(POST), SetAsDefault=True)
    iam.create_group(GroupName="DataScientists")
    iam.put_group_policy(
        GroupName="DataScientists", PolicyName="grp", PolicyDocument=json.dumps(OPEN)
    )
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName="DataScientists", UserName="alice")
    iam.create_user(UserName="bob")
    iam.attach_user_policy(UserName="bob", PolicyArn=arn)
    iam.create_role(RoleName="Notebook", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="Notebook", PolicyArn=arn)

    inventory = build_inventory(_gaad_snapshot(iam))
    assert inventory.problems == []
    by_name = {p.name: p for p in inventory.principals}
    assert set(by_name) == {"alice", "bob", "Notebook"}
    assert by_name["alice"].groups == ("DataScientists",)
    assert [a.via for a in by_name["alice"].policies] == ["group:DataScientists"]

    nb = Notebook(f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/nb1", ACCT)
    results = analyze_inventory(inventory, [PRESIGN], [nb], Approved(frozenset({"vpce-111bbccc"})))
    open_ = {r.principal.name: r.has_path for r in results}
    assert open_ == {"alice": True, "bob": False, "Notebook": False}
    (path,) = next(r for r in results if r.principal.name == "alice").paths
    assert (path.grant.via, path.grant.sid) == ("group:DataScientists", "Open")


def test_a_group_is_resolved_once_for_all_its_members() -> None:
    """Members share their group's parsed policies; a broken group policy is one problem,
    not one per member, and still leaves every member unresolved."""
    snap = Snapshot(accounts=[ACCT])
    group_arn = f"arn:aws:iam::{ACCT}:group/DataScientists"
    snap.add(
        ACCT,
        "global",
        "iam:group",
        group_arn,
        {
            "GroupName": "DataScientists",
            "Arn": group_arn,
            "GroupPolicyList": [
                {"PolicyName": "open", "PolicyDocument": OPEN},
                {"PolicyName": "broken", "PolicyDocument": {"Statement": [{"Effect": "Alow"}]}},
            ],
            "AttachedManagedPolicies": [],
        },
    )
    for name in ("alice", "bob"):
        arn = f"arn:aws:iam::{ACCT}:user/{name}"
        snap.add(
            ACCT,
            "global",
            "iam:user",
            arn,
            {"UserName": name, "Arn": arn, "GroupList": ["DataScientists"]},
        )
    inventory = build_inventory(snap)
    alice, bob = inventory.principals
    assert alice.policies[0].policy is bob.policies[0].policy
    (problem,) = inventory.problems
    assert problem.startswith(f"{group_arn}/broken:")
    assert alice.unresolved == bob.unresolved == (f"{group_arn}/broken",)
