"""The five issue-3 IAM rules on offline snapshots, each test varying one thing.

The baseline is :func:`tests.snapshots.compliant_snapshot` (notebook ``analytics``, notebook
and API endpoints ``vpce-notebook`` / ``vpce-api`` in one VPC) plus the AWS post's policy on
one user: every IAM rule PASSes.  Organizations data is absent unless a test adds it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from scanner.config import Config, IamConfig
from scanner.iam.estate import analyze_estate
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import OutcomeStatus, Snapshot
from tests.snapshots import (
    ACCOUNT,
    EP_API,
    EP_NOTEBOOK,
    NOTEBOOK,
    ORG_MASTER,
    ORG_OU,
    REGION,
    compliant_snapshot,
    data,
    scan,
    set_outcome,
)

PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"
DESCRIBE = "sagemaker:DescribeNotebookInstance"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
NB_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{NOTEBOOK}"
OTHER_NB = "other"
OTHER_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{OTHER_NB}"
PRINCIPAL_RULES = (
    "iam-presigned-url-requires-vpc-endpoint",
    "iam-notebook-api-requires-vpc-endpoint",
)


def statement(
    action: Any = (PRESIGN, DESCRIBE),
    vpces: list[str] | None = None,
    effect: str = "Allow",
    operator: str = "StringEquals",
    resource: Any = "*",
    sid: str = "Notebook",
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": list(action) if not isinstance(action, str) else action,
        "Resource": resource,
    }
    if vpces is not None:
        out["Condition"] = {operator: {"aws:sourceVpce": vpces}}
    return out


def doc(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


POST = doc(statement(vpces=[EP_NOTEBOOK, EP_API]))


def base(policy: Any = POST) -> Snapshot:
    """The compliant snapshot plus user alice with ``policy`` inline (``None``: no policy)."""
    snap = compliant_snapshot()
    inline = [] if policy is None else [{"PolicyName": "notebook", "PolicyDocument": policy}]
    snap.add(
        ACCOUNT,
        "global",
        "iam:user",
        USER,
        {
            "UserName": "alice",
            "Arn": USER,
            "UserId": "AIDAALICE",
            "GroupList": [],
            "UserPolicyList": inline,
            "AttachedManagedPolicies": [],
        },
        arn=USER,
    )
    # SCPs are varied only by the SCP tests; elsewhere the account is seen as a member whose
    # Organizations data could not be read (so the compliant SCP does not close paths).
    set_outcome(snap, "organizations", OutcomeStatus.NOT_COLLECTED)
    return snap


def add_notebook(snap: Snapshot, name: str = OTHER_NB) -> None:
    nb = dict(data(snap, "sagemaker:notebook-instance", NOTEBOOK))
    nb["NotebookInstanceName"] = name
    snap.add(
        ACCOUNT,
        REGION,
        "sagemaker:notebook-instance",
        name,
        nb,
        arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{name}",
    )


def add_org(
    snap: Snapshot,
    scps: list[tuple[str, dict[str, Any] | str, list[str]]],
    *,
    master: str = ORG_MASTER,
    status: OutcomeStatus = OutcomeStatus.OK,
) -> None:
    """Vary the compliant snapshot's Organizations data: its outcome, the management account
    and the deny SCP (replaced by ``scps``: name, content, targets)."""
    set_outcome(snap, "organizations", status)
    data(snap, "organizations:organization", "o-example", "global")["MasterAccountId"] = master
    del snap.resources[ACCOUNT]["global"]["organizations:policy"]["p-vpce"]
    for i, (name, content, targets) in enumerate(scps):
        text = content if isinstance(content, str) else json.dumps(content)
        snap.add(
            ACCOUNT,
            "global",
            "organizations:policy",
            f"p-{i}",
            {
                "Id": f"p-{i}",
                "Name": name,
                "Content": text,
                "Targets": [{"TargetId": t} for t in targets],
            },
        )


DENY_OUTSIDE = doc(
    statement(
        action=PRESIGN, vpces=[EP_NOTEBOOK, EP_API], effect="Deny", operator="StringNotEquals"
    )
)


def results(snap: Snapshot, config: Config | None = None) -> list[Finding]:
    return scan(snap, config)


def one(findings: list[Finding], rule: str, rid: str) -> Finding:
    hits = [f for f in findings if f.rule_id == rule and f.resource_id == rid]
    assert len(hits) == 1, (
        rule,
        rid,
        [(f.rule_id, f.resource_id) for f in findings if f.rule_id == rule],
    )
    return hits[0]


def status(findings: list[Finding], rule: str, rid: str) -> Status:
    return one(findings, rule, rid).status


# -- baseline and principal rules -----------------------------------------------------


def test_post_policy_passes_every_iam_rule() -> None:
    f = results(base())
    for rule in PRINCIPAL_RULES:
        assert status(f, rule, USER) is Status.PASS
    assert status(f, "notebook-no-public-access-path", NOTEBOOK) is Status.PASS
    assert (
        status(f, "iam-vpce-condition-references-known-endpoints", f"{USER}/notebook")
        is Status.PASS
    )
    assert one(f, PRINCIPAL_RULES[0], USER).resource_type == "iam:user"


def test_unconditioned_grant_fails_with_the_path_explained() -> None:
    f = results(base(doc(statement())))
    found = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert found.status is Status.FAIL
    assert "no aws:SourceVpce (public internet)" in found.message
    assert "inline policy notebook" in found.message
    (path,) = found.evidence["paths"]
    assert path["grant"]["via"] == "user"
    assert path["notebooks"] == [NB_ARN]
    assert "put-user-policy --user-name alice --policy-name notebook" in path["fix_cli"]
    assert status(f, "iam-notebook-api-requires-vpc-endpoint", USER) is Status.FAIL
    nb = one(f, "notebook-no-public-access-path", NOTEBOOK)
    assert nb.status is Status.FAIL and USER in nb.message
    assert [p["principal"] for p in nb.evidence["paths"]] == [USER]


def test_no_notebook_access_passes_with_a_reason() -> None:
    found = one(results(base(None)), "iam-presigned-url-requires-vpc-endpoint", USER)
    assert found.status is Status.PASS
    assert "no policy of user alice allows" in found.message


def test_describe_only_grant_fails_only_the_api_rule() -> None:
    f = results(base(doc(statement(action=[DESCRIBE]))))
    assert status(f, "iam-presigned-url-requires-vpc-endpoint", USER) is Status.PASS
    assert status(f, "iam-notebook-api-requires-vpc-endpoint", USER) is Status.FAIL


def test_api_rule_not_applicable_when_only_presign_is_configured() -> None:
    cfg = Config(iam=IamConfig(actions=[PRESIGN]))
    f = results(base(doc(statement(action=[DESCRIBE]))), cfg)
    assert status(f, "iam-notebook-api-requires-vpc-endpoint", USER) is Status.NOT_APPLICABLE


def test_pinned_approved_endpoints_replace_discovered_ones() -> None:
    """The post's policy names vpce-api too; pinned to the notebook endpoint only, a request
    through vpce-api is outside the approved set."""
    f = results(base(), Config(approved_vpc_endpoints=[EP_NOTEBOOK]))
    found = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert found.status is Status.FAIL
    assert f"aws:SourceVpce={EP_API}" in found.message


def test_unparseable_policy_is_error_never_pass() -> None:
    bad = {"Version": "2012-10-17", "Statement": [{"Action": PRESIGN, "Resource": "*"}]}
    f = results(base(bad))
    found = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert found.status is Status.ERROR
    assert "Effect" in found.message
    assert status(f, "notebook-no-public-access-path", NOTEBOOK) is Status.ERROR


def test_iam_collector_error_makes_iam_rules_error() -> None:
    snap = base()
    for o in snap.collectors:
        if o.collector == "iam":
            o.status, o.error_code = OutcomeStatus.ERROR, "AccessDenied"
    f = results(snap)
    assert status(f, "iam-presigned-url-requires-vpc-endpoint", USER) is Status.ERROR
    assert status(f, "notebook-no-public-access-path", NOTEBOOK) is Status.ERROR


def test_analysis_runs_once_per_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return analyze_estate(*args, **kwargs)

    monkeypatch.setattr("scanner.engine.builtins.iam.analyze_estate", counting)
    results(base())
    assert calls == [1]


# -- notebooks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Disabled", Status.PASS), ("Enabled", Status.FAIL), (None, Status.FAIL)],
)
def test_notebook_direct_internet_access(value: str | None, expected: Status) -> None:
    snap = base()
    nb = data(snap, "sagemaker:notebook-instance", NOTEBOOK)
    if value is None:
        del nb["DirectInternetAccess"]
    else:
        nb["DirectInternetAccess"] = value
    found = one(results(snap), "notebook-no-public-access-path", NOTEBOOK)
    assert found.status is expected
    if value is None:
        assert "absent: AWS's default" in found.message


def test_grant_on_one_notebook_fails_only_that_notebook() -> None:
    snap = base(doc(statement(resource=OTHER_ARN)))
    add_notebook(snap)
    f = results(snap)
    assert status(f, "notebook-no-public-access-path", OTHER_NB) is Status.FAIL
    assert status(f, "notebook-no-public-access-path", NOTEBOOK) is Status.PASS
    found = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert found.status is Status.FAIL
    assert found.evidence["paths"][0]["notebooks"] == [OTHER_ARN]


# -- aws:sourceVpce references -----------------------------------------------------------


def test_stale_vpce_id_fails_naming_the_value() -> None:
    f = results(base(doc(statement(vpces=[EP_NOTEBOOK, EP_API, "vpce-0dead"]))))
    found = one(f, "iam-vpce-condition-references-known-endpoints", f"{USER}/notebook")
    assert found.status is Status.FAIL
    assert "vpce-0dead" in found.message and "names no VPC endpoint" in found.message
    assert found.resource_type == "iam:policy"


def test_deleted_endpoint_is_stale() -> None:
    snap = base()
    data(snap, "ec2:vpc-endpoint", EP_API)["State"] = "deleted"
    found = one(results(snap), "iam-vpce-condition-references-known-endpoints", f"{USER}/notebook")
    assert found.status is Status.FAIL
    assert f"{EP_API} (Notebook) names an endpoint that is deleted" in found.message


def test_notebook_endpoint_without_its_api_endpoint_fails() -> None:
    found = one(
        results(base(doc(statement(vpces=[EP_NOTEBOOK])))),
        "iam-vpce-condition-references-known-endpoints",
        f"{USER}/notebook",
    )
    assert found.status is Status.FAIL
    assert f"not its api endpoint ({EP_API})" in found.message


def test_guard_deny_references_are_judged_and_policies_without_them_are_not() -> None:
    guard = doc(
        statement(),
        statement(
            action=PRESIGN,
            vpces=["vpce-0gone"],
            effect="Deny",
            operator="StringNotEquals",
            sid="Guard",
        ),
    )
    f = results(base(guard))
    assert (
        status(f, "iam-vpce-condition-references-known-endpoints", f"{USER}/notebook")
        is Status.FAIL
    )
    f2 = results(base(doc(statement())))
    rule = "iam-vpce-condition-references-known-endpoints"
    assert [x for x in f2 if x.rule_id == rule and x.resource_id.startswith(USER)] == []


def test_managed_policy_subject_is_its_arn_default_version_only() -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:policy/NotebookViaVpce"

    def judged(default: str) -> Status:
        """The rule's verdict with ``default`` the default version (the other one fixed)."""
        snap = base(None)
        versions = [
            {
                "VersionId": "v1",
                "IsDefaultVersion": default == "v1",
                "Document": doc(statement(vpces=["vpce-0old"])),
            },
            {"VersionId": "v2", "IsDefaultVersion": default == "v2", "Document": POST},
        ]
        data = {"Arn": arn, "PolicyVersionList": versions}
        snap.add(ACCOUNT, "global", "iam:policy", arn, data, arn=arn)
        return status(results(snap), "iam-vpce-condition-references-known-endpoints", arn)

    assert judged("v2") is Status.PASS
    assert judged("v1") is Status.FAIL


# -- SCPs ------------------------------------------------------------------------------------


def test_scp_not_collected_is_not_applicable() -> None:
    snap = base()
    add_org(snap, [], status=OutcomeStatus.NOT_COLLECTED)
    assert status(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.NOT_APPLICABLE


def test_scp_collector_error_is_error() -> None:
    snap = base()
    add_org(snap, [], status=OutcomeStatus.ERROR)
    assert status(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.ERROR


def test_scp_without_deny_fails() -> None:
    snap = base()
    add_org(snap, [])
    found = one(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT)
    assert found.status is Status.FAIL
    assert "no aws:SourceVpce (public internet)" in found.message


@pytest.mark.parametrize("target", [ACCOUNT, ORG_OU])
def test_applying_deny_scp_passes_and_closes_principal_paths(target: str) -> None:
    snap = base(doc(statement()))
    add_org(snap, [("RequireVpce", DENY_OUTSIDE, [target])])
    f = results(snap)
    found = one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT)
    assert found.status is Status.PASS
    assert "RequireVpce" in found.message
    assert status(f, "iam-presigned-url-requires-vpc-endpoint", USER) is Status.PASS
    # DescribeNotebookInstance is not covered by that SCP: still open.
    assert status(f, "iam-notebook-api-requires-vpc-endpoint", USER) is Status.FAIL


def test_deny_scp_attached_elsewhere_does_not_apply() -> None:
    snap = base()
    add_org(snap, [("RequireVpce", DENY_OUTSIDE, ["ou-other"])])
    assert status(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.FAIL


def test_management_account_fails_and_scps_do_not_close_its_paths() -> None:
    snap = base(doc(statement()))
    add_org(snap, [("RequireVpce", DENY_OUTSIDE, [ACCOUNT])], master=ACCOUNT)
    f = results(snap)
    found = one(f, "org-scp-enforces-vpc-endpoint", ACCOUNT)
    assert found.status is Status.FAIL
    assert "SCPs never apply" in found.message
    principal = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert "management account" in principal.evidence["scps"]


def test_unparseable_scp_is_error_and_assumed_absent_for_paths() -> None:
    snap = base(doc(statement()))
    add_org(snap, [("Broken", '{"Statement": [', [ACCOUNT])])
    f = results(snap)
    assert status(f, "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.ERROR
    principal = one(f, "iam-presigned-url-requires-vpc-endpoint", USER)
    assert principal.status is Status.FAIL
    assert "assumed no SCP" in principal.evidence["scps"]


def test_scp_deny_limited_to_one_regions_notebooks_fails_for_the_other_scanned_region() -> None:
    """A Deny that names only us-west-2 notebook ARNs leaves notebooks created tomorrow in
    the other scanned region open; with one region scanned the same SCP passes."""
    west_only = doc(
        statement(
            action=PRESIGN,
            vpces=[EP_NOTEBOOK, EP_API],
            effect="Deny",
            operator="StringNotEquals",
            resource=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/*",
        )
    )
    snap = base()
    add_org(snap, [("RequireVpceWest", west_only, [ACCOUNT])])
    snap.regions = [REGION]
    assert status(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.PASS
    snap.regions = [REGION, "eu-west-1"]
    assert status(results(snap), "org-scp-enforces-vpc-endpoint", ACCOUNT) is Status.FAIL
