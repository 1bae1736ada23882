"""tests/orgkit.py builds the organization it says, over moto's HTTP server."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ACCOUNT
from tests.orgkit import ACCESS_ROLE, Org, attach_scp, break_role, build_org

ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@pytest.fixture
def org(moto: Any) -> Org:
    return build_org(moto.url, members=3)


def _children(orgs: Any, parent: str) -> list[str]:
    pages = orgs.get_paginator("list_accounts_for_parent").paginate(ParentId=parent)
    return sorted(a["Id"] for page in pages for a in page["Accounts"])


def test_the_tree_is_as_built(org: Org) -> None:
    orgs = org.client("organizations", org.management_id)
    assert org.management_id == ACCOUNT
    assert orgs.describe_organization()["Organization"]["FeatureSet"] == "ALL"
    root = orgs.list_roots()["Roots"][0]
    assert root["Id"] == org.root_id
    assert {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in root["PolicyTypes"]
    ous = orgs.list_organizational_units_for_parent(ParentId=org.root_id)["OrganizationalUnits"]
    assert {ou["Name"]: ou["Id"] for ou in ous} == org.ous
    assert set(org.ous) == {"prod", "sandbox"}
    assert len(set(org.members)) == 3 and ACCOUNT not in org.members
    assert _children(orgs, org.ous["prod"]) == sorted(org.members[:2])
    assert _children(orgs, org.ous["sandbox"]) == [org.members[2]]
    assert _children(orgs, org.root_id) == [ACCOUNT]
    listed = {a["Id"]: a for a in orgs.list_accounts()["Accounts"]}
    assert set(listed) == set(org.accounts)
    assert len({listed[m]["Email"] for m in org.members}) == 3  # distinct emails


def test_a_member_client_reaches_the_member_account(org: Org) -> None:
    member = org.members[1]
    me = org.client("sts", member).get_caller_identity()
    assert me["Account"] == member
    assert me["Arn"] == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/orgkit"
    assert org.client("sts", member) is org.client("sts", member)  # cached
    # A resource seeded through the member client lives in the member account only.
    org.client("iam", member).create_role(RoleName="seeded", AssumeRolePolicyDocument="{}")
    assert org.client("iam", member).get_role(RoleName="seeded")["Role"]["Arn"] == (
        f"arn:aws:iam::{member}:role/seeded"
    )
    with pytest.raises(ClientError, match="NoSuchEntity"):
        org.client("iam", org.management_id).get_role(RoleName="seeded")


def test_attach_scp_attaches_to_the_target(org: Org) -> None:
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*"}]}
    policy_id = attach_scp(org, org.ous["sandbox"], deny, "deny-all")
    orgs = org.client("organizations", org.management_id)
    attached = orgs.list_policies_for_target(
        TargetId=org.ous["sandbox"], Filter="SERVICE_CONTROL_POLICY"
    )["Policies"]
    # AWS attaches FullAWSAccess to every new OU; the new SCP is attached beside it.
    assert sorted(p["Name"] for p in attached) == ["FullAWSAccess", "deny-all"]
    assert policy_id in [p["Id"] for p in attached]
    assert orgs.describe_policy(PolicyId=policy_id)["Policy"]["PolicySummary"]["Name"] == (
        "deny-all"
    )


def test_break_role_makes_assume_role_fail(org: Org, aws: Any) -> None:
    broken, intact = org.members[0], org.members[2]
    iam = org.client("iam", broken)
    admin = iam.create_policy(PolicyName="admin", PolicyDocument=json.dumps(ALLOW_ALL))
    iam.attach_role_policy(RoleName=ACCESS_ROLE, PolicyArn=admin["Policy"]["Arn"])
    iam.put_role_policy(
        RoleName=ACCESS_ROLE, PolicyName="inline", PolicyDocument=json.dumps(ALLOW_ALL)
    )
    assert org.client("sts", broken).get_caller_identity()["Account"] == broken
    break_role(org, broken)
    with pytest.raises(ClientError) as raised:
        aws("sts").assume_role(RoleArn=org.role_arn(broken), RoleSessionName="scan")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError, match="AccessDenied"):
        org.client("sts", broken)  # the cached session was dropped: it assumes again
    assert org.client("sts", intact).get_caller_identity()["Account"] == intact
