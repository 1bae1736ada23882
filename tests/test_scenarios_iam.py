"""The issue-3 IAM rules on accounts seeded through moto's server over HTTP.

Every principal below varies ONE thing from the AWS post's policy (``aws:sourceVpce`` spelled
as in the post, naming the VPC's notebook and API endpoints), so each is one trap of issue #3
§3; the tests assert the exact PASS/FAIL of every rule for every principal, and that every
FAIL's evidence explains its path.  IAM is seeded with plain boto3 calls (the builders in
``scanner.demo.builders`` cover users, groups, roles and managed policies; policy versions,
group inline policies and boundaries are seeded here).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from scanner.demo.builders import (
    CachedClients,
    account_trust,
    build_group,
    build_managed_policy,
    build_role,
    build_user,
)
from scanner.demo.server import MotoServer
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import Snapshot
from tests.scenariokit import REGION, Baseline, Scan, add_notebook, build_baseline, scan

PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
DESCRIBE = "sagemaker:DescribeNotebookInstance"
BOTH = [PRESIGN, DESCRIBE]
PRESIGN_RULE = "iam-presigned-url-requires-vpc-endpoint"
API_RULE = "iam-notebook-api-requires-vpc-endpoint"
VPCE_RULE = "iam-vpce-condition-references-known-endpoints"
NB_RULE = "notebook-no-public-access-path"
SCP_RULE = "org-scp-enforces-vpc-endpoint"


def doc(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(
    action: Any = BOTH, cond: dict[str, Any] | None = None, resource: Any = "*", **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"Sid": "Notebook", "Effect": "Allow", "Action": action, **extra}
    out["Resource"] = resource
    if cond is not None:
        out["Condition"] = cond
    if "NotAction" in extra:
        del out["Action"]
    return out


def post_condition(base: Baseline, operator: str = "StringEquals") -> dict[str, Any]:
    """The post's condition, key spelled ``aws:sourceVpce`` exactly as the post does."""
    endpoints = [base.vpc.endpoints["notebook"], base.vpc.endpoints["api"]]
    return {operator: {"aws:sourceVpce": endpoints}}


def guard_deny(base: Baseline, action: Any = BOTH) -> dict[str, Any]:
    return {
        "Sid": "GuardOutsideVpce",
        "Effect": "Deny",
        "Action": action,
        "Resource": "*",
        "Condition": post_condition(base, "StringNotEquals"),
    }


def by_rule(findings: Iterable[Finding], rule: str) -> dict[str, Status]:
    return {f.resource_id: f.status for f in findings if f.rule_id == rule}


def assert_fails_explained(result: Scan, rules: Iterable[str]) -> None:
    """Every FAIL of the path rules with an IAM path names it: principal, grant, context,
    fix (a verdict's network paths, kind ``internet_outbound`` or ``public_internet``, have
    their own evidence)."""
    for f in result.findings:
        iam = [
            p
            for p in f.evidence.get("paths") or []
            if p.get("kind", "iam_inbound") == "iam_inbound"
        ]
        if f.rule_id in rules and f.status is Status.FAIL and iam:
            assert "can call" in f.message and "granted by" in f.message, f.message
            for path in iam:
                assert path["principal"] and path["description"]
                # A principal's own paths name the notebooks; a verdict is about its notebook.
                assert path.get("notebooks") or f.resource_type not in ("iam:user", "iam:role")
                assert path["grant"]["policy"] and path["grant"]["via"]
                assert path["remediation"] and path["fix_cli"].startswith("aws iam ")


def seed_policy_versions(
    make: Any, name: str, first: dict[str, Any], second: dict[str, Any], *, second_default: bool
) -> str:
    arn = build_managed_policy(make, REGION, name, first)
    make("iam", REGION).create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(second), SetAsDefault=second_default
    )
    return arn


def test_traps_on_users_and_roles(aws: Any, moto: MotoServer) -> None:
    make = CachedClients(aws)
    base = build_baseline(make)
    acct = base.account
    open_ = doc(allow())
    post = doc(allow(cond=post_condition(base)))
    arn = {}
    # The post's policy, as written in the post: PASS.
    arn["post"] = build_user(make, REGION, "post", inline={"nb": post})
    # StringEqualsIfExists: true when the request has no aws:SourceVpce.
    arn["ifexists"] = build_user(
        make,
        REGION,
        "ifexists",
        inline={"nb": doc(allow(cond=post_condition(base, "StringEqualsIfExists")))},
    )
    # ForAnyValue on an absent key is false (closed); ForAllValues on it is true (open).
    arn["foranyvalue"] = build_user(
        make,
        REGION,
        "foranyvalue",
        inline={"nb": doc(allow(cond=post_condition(base, "ForAnyValue:StringEquals")))},
    )
    arn["forallvalues"] = build_user(
        make,
        REGION,
        "forallvalues",
        inline={"nb": doc(allow(cond=post_condition(base, "ForAllValues:StringEquals")))},
    )
    # NotAction allows everything it does not list.
    arn["notaction"] = build_user(
        make, REGION, "notaction", inline={"nb": doc(allow(NotAction="iam:*"))}
    )
    # A guard Deny with StringNotEquals closes an open grant; a guard on one action only does not close the other.
    arn["guarded"] = build_user(
        make, REGION, "guarded", inline={"nb": doc(allow(), guard_deny(base))}
    )
    arn["guard-presign-only"] = build_user(
        make, REGION, "guard-presign-only", inline={"nb": doc(allow(), guard_deny(base, PRESIGN))}
    )
    # Boundaries: one without sagemaker closes the open grant; one with sagemaker:* does not.
    iam = make("iam", REGION)
    no_sm = build_managed_policy(make, REGION, "BoundaryS3", doc(allow("s3:*")))
    with_sm = build_managed_policy(make, REGION, "BoundarySageMaker", doc(allow("sagemaker:*")))
    for name, boundary in (("bounded-closed", no_sm), ("bounded-open", with_sm)):
        arn[name] = build_role(make, REGION, name, trust=account_trust(acct), inline={"nb": open_})
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
    # Only the default version of a managed policy counts.
    v_open = seed_policy_versions(make, "NowOpen", post, open_, second_default=True)
    v_closed = seed_policy_versions(make, "StillClosed", post, open_, second_default=False)
    arn["version-open"] = build_user(make, REGION, "version-open", managed=[v_open])
    arn["version-closed"] = build_user(make, REGION, "version-closed", managed=[v_closed])
    # Group-inherited grants count for members only.
    build_group(make, REGION, "contractors")
    iam.put_group_policy(
        GroupName="contractors", PolicyName="nb-open", PolicyDocument=json.dumps(open_)
    )
    arn["member"] = build_user(make, REGION, "member", groups=["contractors"])
    arn["nonmember"] = build_user(make, REGION, "nonmember")

    result = scan(moto.url)
    assert [f for f in result.findings if f.status is Status.ERROR] == []
    fails = {"ifexists", "forallvalues", "notaction", "bounded-open", "version-open", "member"}
    presign = {arn[k]: Status.FAIL if k in fails else Status.PASS for k in arn}
    api = dict(presign)
    api[arn["guard-presign-only"]] = Status.FAIL
    notebook_role = f"arn:aws:iam::{acct}:role/SageMakerNotebook"
    assert by_rule(result.findings, PRESIGN_RULE) == {**presign, notebook_role: Status.PASS}
    assert by_rule(result.findings, API_RULE) == {**api, notebook_role: Status.PASS}
    types = {f.resource_id: f.resource_type for f in result.findings if f.rule_id == PRESIGN_RULE}
    assert types[arn["bounded-open"]] == "iam:role" and types[arn["post"]] == "iam:user"

    member = result.finding(PRESIGN_RULE, arn["member"])
    assert "through group contractors" in member.message
    assert member.evidence["paths"][0]["grant"]["via"] == "group:contractors"
    assert "put-group-policy --group-name contractors" in member.evidence["paths"][0]["fix_cli"]
    assert (
        "no aws:SourceVpce (public internet)"
        in result.finding(PRESIGN_RULE, arn["ifexists"]).message
    )
    assert (
        "IfExists"
        in result.finding(PRESIGN_RULE, arn["ifexists"]).evidence["paths"][0]["remediation"]
    )
    assert v_open in result.finding(PRESIGN_RULE, arn["version-open"]).message
    assert_fails_explained(result, (PRESIGN_RULE, API_RULE, NB_RULE))

    # Every policy naming aws:sourceVpce names the VPC's notebook + API endpoints: all PASS.
    vpce = by_rule(result.findings, VPCE_RULE)
    named = ("post", "ifexists", "foranyvalue", "forallvalues", "guarded", "guard-presign-only")
    expected_vpce = {f"{arn[k]}/nb": Status.PASS for k in named}
    expected_vpce[v_closed] = Status.PASS  # v_open's default version names no endpoint
    assert vpce == expected_vpce
    # The notebook is open through every failing principal.
    nb = result.finding(NB_RULE, "nb")
    assert nb.status is Status.FAIL
    assert {p["principal"] for p in nb.evidence["paths"]} == {arn[k] for k in fails}


def test_grant_on_one_notebook_arn_and_direct_internet_access(aws: Any, moto: MotoServer) -> None:
    make = CachedClients(aws)
    base = build_baseline(make)
    add_notebook(make, base, "nb2")
    add_notebook(make, base, "nb3", direct_internet="Enabled")
    nb2_arn = make("sagemaker", REGION).describe_notebook_instance(NotebookInstanceName="nb2")[
        "NotebookInstanceArn"
    ]
    user = build_user(make, REGION, "one-nb", inline={"nb": doc(allow(PRESIGN, resource=nb2_arn))})

    result = scan(moto.url)
    assert by_rule(result.findings, NB_RULE) == {
        "nb": Status.PASS,
        "nb2": Status.FAIL,
        "nb3": Status.FAIL,
    }
    nb2 = result.finding(NB_RULE, "nb2")
    assert [p["principal"] for p in nb2.evidence["paths"]] == [user]
    assert "DirectInternetAccess is Enabled" in result.finding(NB_RULE, "nb3").message
    principal = result.finding(PRESIGN_RULE, user)
    assert principal.status is Status.FAIL
    assert principal.evidence["paths"][0]["notebooks"] == [nb2_arn]
    assert_fails_explained(result, (PRESIGN_RULE, NB_RULE))


def test_stale_vpce_id_in_a_role_policy(aws: Any, moto: MotoServer) -> None:
    make = CachedClients(aws)
    base = build_baseline(make)
    stale = "vpce-0123456789abcdef0"
    cond = {"StringEquals": {"aws:sourceVpce": [stale]}}
    role = build_role(
        make,
        REGION,
        "Legacy",
        trust=account_trust(base.account),
        inline={"nb": doc(allow(cond=cond))},
    )
    result = scan(moto.url)
    found = result.finding(VPCE_RULE, f"{role}/nb")
    assert found.status is Status.FAIL and stale in found.message
    # The stale id is not an approved endpoint: a request through such an endpoint gets in.
    path = result.finding(PRESIGN_RULE, role)
    assert path.status is Status.FAIL and f"aws:SourceVpce={stale}" in path.message


def _seed_org(make: Any, base: Baseline) -> tuple[str, str]:
    """An organization whose (only) account sits in an OU with a deny-outside-VPCE SCP."""
    org = make("organizations", REGION)
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="data")["OrganizationalUnit"]["Id"]
    org.move_account(AccountId=base.account, SourceParentId=root, DestinationParentId=ou)
    content = doc(guard_deny(base, PRESIGN))
    pid = org.create_policy(
        Content=json.dumps(content),
        Description="notebooks only via VPC endpoints",
        Name="RequireNotebookVpce",
        Type="SERVICE_CONTROL_POLICY",
    )["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=pid, TargetId=ou)
    return ou, pid


def test_scp_at_ou_level_in_the_management_account(aws: Any, moto: MotoServer) -> None:
    """moto's account is the organization's management account: SCPs never apply to it."""
    make = CachedClients(aws)
    base = build_baseline(make)
    _seed_org(make, base)
    user = build_user(make, REGION, "open", inline={"nb": doc(allow())})
    result = scan(moto.url)
    found = result.finding(SCP_RULE, base.account)
    assert found.status is Status.FAIL and "SCPs never apply" in found.message
    principal = result.finding(PRESIGN_RULE, user)
    assert principal.status is Status.FAIL
    assert "management account" in principal.evidence["scps"]


def test_scp_at_ou_level_applies_to_a_member_account(aws: Any, moto: MotoServer) -> None:
    """The same seeded organization, varying one snapshot field: the management account is
    another account, so the OU's SCP applies to the scanned one."""
    make = CachedClients(aws)
    base = build_baseline(make)
    ou, pid = _seed_org(make, base)
    user = build_user(make, REGION, "open", inline={"nb": doc(allow())})

    def member(snapshot: Snapshot) -> None:
        for res in snapshot.iter_resources("organizations:organization"):
            snapshot.resources[res.account_id][res.region][res.type][res.id]["data"][
                "MasterAccountId"
            ] = "999988887777"

    result = scan(moto.url, mutate=member)
    found = result.finding(SCP_RULE, base.account)
    assert found.status is Status.PASS, found.message
    assert "RequireNotebookVpce" in found.message
    assert ou in [lvl["target"] for lvl in found.evidence["scp_levels"]]
    assert result.finding(PRESIGN_RULE, user).status is Status.PASS
    # The SCP covers CreatePresignedNotebookInstanceUrl only.
    assert result.finding(API_RULE, user).status is Status.FAIL

    # Control: detach the SCP (FullAWSAccess stays at every level): the path is open again.
    make("organizations", REGION).detach_policy(PolicyId=pid, TargetId=ou)
    again = scan(moto.url, mutate=member)
    assert again.finding(SCP_RULE, base.account).status is Status.FAIL
    assert again.finding(PRESIGN_RULE, user).status is Status.FAIL


def test_no_organization_is_not_applicable(aws: Any, moto: MotoServer) -> None:
    make = CachedClients(aws)
    base = build_baseline(make, with_trail=False)
    result = scan(moto.url)
    assert result.finding(SCP_RULE, base.account).status is Status.NOT_APPLICABLE
