"""Public access paths: the traps of issue #3 §3, each varying one thing from a closed baseline."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.iam.inventory import build_inventory
from scanner.iam.paths import (
    Approved,
    Notebook,
    PathAnalyzer,
    analyze_inventory,
    paths_by_notebook,
)
from scanner.iam.policy import Policy, parse_policy
from scanner.model.snapshot import Snapshot

ACCT = "111122223333"
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
APPROVED = Approved(frozenset({"vpce-111bbccc", "vpce-111bbddd"}), frozenset({"vpc-111bbaaa"}))
NB = [Notebook(f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/nb{i}", ACCT) for i in (1, 2)]
USER = f"arn:aws:iam::{ACCT}:user/alice"
ROLE = f"arn:aws:iam::{ACCT}:role/DataScientist"
MANAGED = f"arn:aws:iam::{ACCT}:policy/NotebookAccess"
BOUNDARY = f"arn:aws:iam::{ACCT}:policy/Boundary"


def stmt(
    effect: str = "Allow",
    action: Any = PRESIGN,
    resource: Any = "*",
    cond: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": extra.pop("Sid", "S0"), "Effect": effect, "Resource": resource}
    if action is not None:
        out["Action"] = action
    if cond:
        out["Condition"] = cond
    out.update(extra)
    return out


def doc(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


POST = doc(
    stmt(
        action=[PRESIGN, "sagemaker:DescribeNotebookInstance"],
        cond={"StringEquals": {"aws:sourceVpce": ["vpce-111bbccc", "vpce-111bbddd"]}},
    )
)


def snapshot(
    user_policy: dict[str, Any] | None = None,
    *,
    group_policy: dict[str, Any] | None = None,
    managed_versions: list[tuple[dict[str, Any], bool]] | None = None,
    boundary: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> Snapshot:
    snap = Snapshot(accounts=[ACCT])
    user: dict[str, Any] = {
        "UserName": "alice",
        "Arn": USER,
        "Path": "/",
        "UserId": "AIDAX",
        "GroupList": [],
        "UserPolicyList": [],
        "AttachedManagedPolicies": [],
        "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()],
    }
    if user_policy is not None:
        user["UserPolicyList"].append({"PolicyName": "inline", "PolicyDocument": user_policy})
    if group_policy is not None:
        group_arn = f"arn:aws:iam::{ACCT}:group/DataScientists"
        snap.add(
            ACCT,
            "global",
            "iam:group",
            group_arn,
            {
                "GroupName": "DataScientists",
                "Arn": group_arn,
                "AttachedManagedPolicies": [],
                "GroupPolicyList": [{"PolicyName": "grp", "PolicyDocument": group_policy}],
            },
        )
        user["GroupList"].append("DataScientists")
    if managed_versions is not None:
        versions = [
            {"VersionId": f"v{i}", "IsDefaultVersion": d, "Document": pd}
            for i, (pd, d) in enumerate(managed_versions, 1)
        ]
        snap.add(
            ACCT, "global", "iam:policy", MANAGED, {"Arn": MANAGED, "PolicyVersionList": versions}
        )
        user["AttachedManagedPolicies"].append(
            {"PolicyName": "NotebookAccess", "PolicyArn": MANAGED}
        )
    if boundary is not None:
        snap.add(
            ACCT,
            "global",
            "iam:policy",
            BOUNDARY,
            {
                "Arn": BOUNDARY,
                "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": True, "Document": boundary}
                ],
            },
        )
        user["PermissionsBoundary"] = {"PermissionsBoundaryArn": BOUNDARY}
    snap.add(ACCT, "global", "iam:user", USER, user)
    return snap


def analyse(
    snap: Snapshot,
    scps: list[list[Policy]] | None = None,
    mgmt: bool = False,
    notebooks: list[Notebook] = NB,
) -> Any:
    inv = build_inventory(snap)
    results = analyze_inventory(
        inv,
        [PRESIGN],
        notebooks,
        APPROVED,
        scp_paths={ACCT: scps or []},
        management_accounts=[ACCT] if mgmt else [],
    )
    (result,) = [r for r in results if r.principal.arn == USER]
    return result


def test_post_policy_has_no_path() -> None:
    result = analyse(snapshot(POST))
    assert not result.has_path and result.undecided == []


def test_unconditional_allow_is_open_from_the_internet() -> None:
    result = analyse(snapshot(doc(stmt())))
    assert {a for p in result.paths for a in p.notebook_arns} == {nb.arn for nb in NB}
    path = result.paths[0]
    assert path.description == "no aws:SourceVpce (public internet)"
    assert (path.grant.policy, path.grant.via, path.grant.sid) == ("inline", "user", "S0")
    assert "StringEquals aws:SourceVpce [vpce-111bbccc, vpce-111bbddd]" in path.remediation


def test_string_equals_if_exists_is_open() -> None:
    policy = doc(stmt(cond={"StringEqualsIfExists": {"aws:sourceVpce": ["vpce-111bbccc"]}}))
    result = analyse(snapshot(policy))
    assert result.has_path
    assert result.paths[0].context[0] == ("aws:sourcevpce", None)
    assert "IfExists" in result.paths[0].remediation


def test_stringlike_wildcard_is_open_through_a_foreign_endpoint() -> None:
    result = analyse(snapshot(doc(stmt(cond={"StringLike": {"aws:sourceVpce": "vpce-*"}}))))
    assert result.has_path
    vpce = dict(result.paths[0].context)["aws:sourcevpce"]
    assert vpce is not None and vpce[0] not in APPROVED.vpc_endpoints
    assert "another account" in result.paths[0].description


def test_unapproved_endpoint_listed_in_policy_is_a_path() -> None:
    policy = doc(stmt(cond={"StringEquals": {"aws:SourceVpce": ["vpce-111bbccc", "vpce-stale1"]}}))
    result = analyse(snapshot(policy))
    assert {dict(p.context)["aws:sourcevpce"] for p in result.paths} == {("vpce-stale1",)}
    assert "vpce-stale1" in result.paths[0].remediation


def test_approved_vpc_condition_has_no_path() -> None:
    result = analyse(snapshot(doc(stmt(cond={"StringEquals": {"aws:SourceVpc": "vpc-111bbaaa"}}))))
    assert not result.has_path


def test_foranyvalue_on_absent_key_in_allow_is_closed() -> None:
    cond = {"ForAnyValue:StringEquals": {"aws:SourceVpce": ["vpce-111bbccc"]}}
    assert not analyse(snapshot(doc(stmt(cond=cond)))).has_path


def test_forallvalues_on_absent_key_in_allow_is_open() -> None:
    cond = {"ForAllValues:StringEquals": {"aws:SourceVpce": ["vpce-111bbccc"]}}
    assert analyse(snapshot(doc(stmt(cond=cond)))).has_path


GUARD_ALLOW = stmt(action="sagemaker:*", Sid="Open")


def test_guard_deny_with_string_not_equals_closes() -> None:
    guard = stmt(
        "Deny", cond={"StringNotEquals": {"aws:SourceVpce": ["vpce-111bbccc"]}}, Sid="Guard"
    )
    assert not analyse(snapshot(doc(GUARD_ALLOW, guard))).has_path


def test_guard_deny_with_foranyvalue_is_ineffective() -> None:
    guard = stmt(
        "Deny",
        cond={"ForAnyValue:StringNotEquals": {"aws:SourceVpce": ["vpce-111bbccc"]}},
        Sid="Guard",
    )
    result = analyse(snapshot(doc(GUARD_ALLOW, guard)))
    assert result.has_path and result.paths[0].grant.sid == "Open"


def test_notaction_allow_is_open() -> None:
    result = analyse(snapshot(doc(stmt(action=None, NotAction=["iam:*"]))))
    assert result.has_path
    assert "NotAction" in result.paths[0].remediation


@pytest.mark.parametrize(("boundary_action", "open_"), [("sagemaker:*", True), ("s3:*", False)])
def test_boundary_with_and_without_sagemaker(boundary_action: str, open_: bool) -> None:
    result = analyse(snapshot(doc(stmt()), boundary=doc(stmt(action=boundary_action))))
    assert result.has_path is open_


def test_only_the_default_managed_version_counts() -> None:
    open_doc = doc(stmt())
    closed = analyse(snapshot(managed_versions=[(open_doc, False), (POST, True)]))
    opened = analyse(snapshot(managed_versions=[(open_doc, True), (POST, False)]))
    assert not closed.has_path
    assert opened.has_path and opened.paths[0].grant.policy == MANAGED
    assert opened.paths[0].grant.policy_kind == "managed"


def test_group_inherited_grant() -> None:
    result = analyse(snapshot(group_policy=doc(stmt())))
    assert result.has_path
    assert result.paths[0].grant.via == "group:DataScientists"


def test_grant_on_one_notebook_only() -> None:
    result = analyse(snapshot(doc(stmt(resource=NB[0].arn))))
    assert {a for p in result.paths for a in p.notebook_arns} == {NB[0].arn}


def test_scp_guard_closes_and_management_account_is_exempt() -> None:
    scp = parse_policy(
        doc(
            stmt(action="*", Sid="Full"),
            stmt("Deny", cond={"StringNotEquals": {"aws:SourceVpce": ["vpce-111bbccc"]}}),
        )
    )
    assert not analyse(snapshot(doc(stmt())), scps=[[scp]]).has_path
    assert analyse(snapshot(doc(stmt())), scps=[[scp]], mgmt=True).has_path


def test_principal_tag_is_fixed_by_the_inventory() -> None:
    policy = doc(stmt(cond={"StringEquals": {"aws:PrincipalTag/team": "ml"}}))
    assert analyse(snapshot(policy, tags={"team": "ml"})).has_path
    assert not analyse(snapshot(policy, tags={"team": "finance"})).has_path


def test_caller_controlled_ip_condition_does_not_close() -> None:
    result = analyse(snapshot(doc(stmt(cond={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))))
    assert result.has_path
    assert dict(result.paths[0].context)["aws:sourceip"] is not None
    assert result.paths[0].unmodelled_keys == ()


def test_unmodelled_key_is_satisfiable_and_reported() -> None:
    policy = doc(stmt(cond={"StringEquals": {"sagemaker:InstanceTypes": "ml.t3.medium"}}))
    result = analyse(snapshot(policy))
    assert result.has_path
    assert result.paths[0].unmodelled_keys == ("sagemaker:instancetypes",)


def test_unresolved_managed_policy_makes_the_answer_undecided() -> None:
    snap = snapshot(POST)
    snap.resources[ACCT]["global"]["iam:user"][USER]["data"]["AttachedManagedPolicies"].append(
        {"PolicyName": "Gone", "PolicyArn": f"arn:aws:iam::{ACCT}:policy/Gone"}
    )
    result = analyse(snap)
    assert not result.has_path
    assert result.undecided and "policy/Gone" in result.undecided[0]


def test_service_linked_roles_are_skipped() -> None:
    snap = snapshot(POST)
    slr = f"arn:aws:iam::{ACCT}:role/aws-service-role/sagemaker.amazonaws.com/AWSServiceRoleX"
    snap.add(
        ACCT,
        "global",
        "iam:role",
        slr,
        {
            "RoleName": "AWSServiceRoleX",
            "Arn": slr,
            "Path": "/aws-service-role/sagemaker.amazonaws.com/",
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
        },
    )
    snap.add(
        ACCT,
        "global",
        "iam:role",
        ROLE,
        {
            "RoleName": "DataScientist",
            "Arn": ROLE,
            "Path": "/",
            "RolePolicyList": [],
            "AttachedManagedPolicies": [],
        },
    )
    arns = {p.arn for p in build_inventory(snap).principals}
    assert arns == {USER, ROLE}


def test_notebooks_in_other_accounts_are_not_reachable() -> None:
    other = [
        Notebook("arn:aws:sagemaker:us-west-2:444455556666:notebook-instance/x", "444455556666")
    ]
    assert not analyse(snapshot(doc(stmt())), notebooks=other).has_path


def test_policy_variable_in_resource_decided_per_notebook() -> None:
    policy = doc(
        stmt(resource=f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/${{aws:username}}")
    )
    named = [*NB, Notebook(f"arn:aws:sagemaker:us-west-2:{ACCT}:notebook-instance/alice", ACCT)]
    result = analyse(snapshot(policy), notebooks=named)
    assert {a for p in result.paths for a in p.notebook_arns} == {named[2].arn}


def test_resource_tag_condition_uses_notebook_tags() -> None:
    policy = doc(stmt(cond={"StringEquals": {"sagemaker:ResourceTag/env": "dev"}}))
    tagged = [Notebook(NB[0].arn, ACCT, {"env": "dev"}), Notebook(NB[1].arn, ACCT, {"env": "prod"})]
    result = analyse(snapshot(policy), notebooks=tagged)
    assert {a for p in result.paths for a in p.notebook_arns} == {NB[0].arn}


def test_analyzer_reusable_across_principals() -> None:
    inv = build_inventory(snapshot(doc(stmt())))
    analyzer = PathAnalyzer(NB, APPROVED)
    first = analyzer.analyze(inv.principals[0], PRESIGN)
    second = analyzer.analyze(inv.principals[0], "sagemaker:DescribeNotebookInstance")
    assert first.has_path and not second.has_path


def test_paths_indexed_by_notebook() -> None:
    result = analyse(snapshot(doc(stmt(resource=NB[1].arn))))
    index = paths_by_notebook([result])
    assert set(index) == {NB[1].arn}
    assert result.paths_to(NB[0].arn) == []
    assert result.paths_to(NB[1].arn) == index[NB[1].arn]
    assert result.paths[0].to_dict()["notebooks"] == [NB[1].arn]
