"""A grammar-invalid policy met in a snapshot makes what depends on it ERROR, never PASS.

One test per kind of document the scan reads through the IAM parser: an inline identity
policy, a managed policy, a permissions boundary, a role's trust policy and an SCP.  Each
starts from a snapshot where the rule gives a definite answer and changes only the document,
to one AWS's validation would reject (issue 12; grammar cases in tests/iam_cases/grammar.json).
VPC endpoint policies are not read through the IAM parser by the scan (enrichment keeps them
as JSON), so there is no endpoint-policy test here.
"""

from __future__ import annotations

from typing import Any

from scanner.model.finding import Status
from scanner.model.snapshot import Snapshot
from tests.snapshots import ACCOUNT, NOTEBOOK
from tests.test_iam_rules_offline import (
    DENY_OUTSIDE,
    POST,
    USER,
    add_org,
    base,
    doc,
    one,
    results,
    statement,
    status,
)

RULE = "iam-presigned-url-requires-vpc-endpoint"
SCP_RULE = "org-scp-enforces-vpc-endpoint"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/NotebookRole"
MANAGED = f"arn:aws:iam::{ACCOUNT}:policy/Notebook"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/Boundary"
# Principal in an identity policy: the grammar forbids it, the evaluator must not guess.
WITH_PRINCIPAL = doc({**statement(vpces=["vpce-notebook", "vpce-api"]), "Principal": "*"})


def _managed(snap: Snapshot, arn: str, document: Any) -> None:
    versions = [{"VersionId": "v1", "IsDefaultVersion": True, "Document": document}]
    snap.add(ACCOUNT, "global", "iam:policy", arn, {"Arn": arn, "PolicyVersionList": versions})


def _user_with(snap: Snapshot, **fields: Any) -> None:
    record = snap.get(ACCOUNT, "global", "iam:user", USER)
    assert record is not None
    snap.add(ACCOUNT, "global", "iam:user", USER, {**record.data, **fields}, arn=USER)


def test_invalid_inline_identity_policy_is_error() -> None:
    assert status(results(base(POST)), RULE, USER) is Status.PASS
    found = one(results(base(WITH_PRINCIPAL)), RULE, USER)
    assert found.status is Status.ERROR
    assert "Principal is not allowed in an identity-based policy" in found.message
    assert (
        status(results(base(WITH_PRINCIPAL)), "notebook-no-public-access-path", NOTEBOOK)
        is Status.ERROR
    )


def _with_managed(document: Any) -> Snapshot:
    snap = base(None)
    _managed(snap, MANAGED, document)
    _user_with(snap, AttachedManagedPolicies=[{"PolicyArn": MANAGED, "PolicyName": "Notebook"}])
    return snap


def test_invalid_managed_policy_is_error() -> None:
    assert status(results(_with_managed(POST)), RULE, USER) is Status.PASS
    bad = doc({**statement(vpces=["vpce-notebook", "vpce-api"]), "Sid": "Not Alphanumeric"})
    found = one(results(_with_managed(bad)), RULE, USER)
    assert found.status is Status.ERROR
    assert "Sid 'Not Alphanumeric'" in found.message


def _with_boundary(document: Any) -> Snapshot:
    snap = base(doc(statement()))  # an open path without the boundary: FAIL
    _managed(snap, BOUNDARY, document)
    _user_with(snap, PermissionsBoundary={"PermissionsBoundaryArn": BOUNDARY})
    return snap


def test_invalid_permissions_boundary_is_error() -> None:
    # A boundary that allows only DescribeNotebookInstance closes the presign path: PASS.
    closing = doc(statement(action="sagemaker:DescribeNotebookInstance"))
    assert status(results(_with_boundary(closing)), RULE, USER) is Status.PASS
    broken = doc({**statement(action="sagemaker:DescribeNotebookInstance"), "Resource": "nb1"})
    found = one(results(_with_boundary(broken)), RULE, USER)
    assert found.status is Status.ERROR
    assert 'must be "*" or an ARN' in found.message


def _with_role(trust: Any) -> Snapshot:
    snap = base(None)
    snap.add(
        ACCOUNT,
        "global",
        "iam:role",
        ROLE,
        {
            "RoleName": "NotebookRole",
            "Arn": ROLE,
            "RoleId": "AROANOTEBOOK",
            "Path": "/",
            "AssumeRolePolicyDocument": trust,
            "RolePolicyList": [{"PolicyName": "notebook", "PolicyDocument": POST}],
            "AttachedManagedPolicies": [],
        },
        arn=ROLE,
    )
    return snap


TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def test_invalid_trust_policy_is_error() -> None:
    assert status(results(_with_role(TRUST)), RULE, ROLE) is Status.PASS
    with_resource = {
        "Version": "2012-10-17",
        "Statement": [{**TRUST["Statement"][0], "Resource": "*"}],
    }
    found = one(results(_with_role(with_resource)), RULE, ROLE)
    assert found.status is Status.ERROR
    assert "a trust policy has no Resource element" in found.message


def test_invalid_scp_is_error() -> None:
    snap = base(doc(statement()))
    add_org(snap, [("RequireVpce", DENY_OUTSIDE, [ACCOUNT])])
    assert status(results(snap), SCP_RULE, ACCOUNT) is Status.PASS
    invalid = doc({**DENY_OUTSIDE["Statement"][0], "Principal": "*"})
    snap = base(doc(statement()))
    add_org(snap, [("RequireVpce", invalid, [ACCOUNT])])
    found = one(results(snap), SCP_RULE, ACCOUNT)
    assert found.status is Status.ERROR
    assert "Principal is not allowed in an SCP" in found.message
