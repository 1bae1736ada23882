"""endpoint-policy-restricted with NotAction and NotResource.

An Allow for every principal written with ``NotAction`` or ``NotResource`` grants all but the
listed actions or resources, so excluding one unrelated action or ARN is still the default
full-access policy (FAIL); excluding every SageMaker action leaves nothing reachable through
the endpoint (PASS).  Offline, on :func:`tests.snapshots.compliant_snapshot`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.snapshots import EP_API, compliant_snapshot, data, finding

EP = "ec2:vpc-endpoint"


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # NotAction of one unrelated action grants every principal everything else
        ({"NotAction": "iam:CreateUser"}, "FAIL"),
        # NotResource of one unrelated ARN leaves every other resource open
        ({"NotResource": "arn:aws:s3:::other-bucket"}, "FAIL"),
        # excluding every SageMaker action leaves nothing reachable through this endpoint
        ({"NotAction": "sagemaker:*"}, "PASS"),
    ],
)
def test_allow_everyone_with_not_action_or_not_resource(
    statement: dict[str, Any], expected: str
) -> None:
    s = compliant_snapshot()
    full = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
    key = next(iter(statement))
    replaced = {"NotAction": "Action", "NotResource": "Resource"}[key]
    body = {k: v for k, v in full.items() if k != replaced} | statement
    data(s, EP, EP_API)["PolicyDocument"] = json.dumps({"Statement": [body]})
    assert finding(s, "endpoint-policy-restricted", EP_API).status == expected


RESTRICTED = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": "sagemaker:CreatePresignedNotebookInstanceUrl",
    "Resource": "*",
    "Condition": {"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"Principal": None}, "Principal"),  # a resource-based policy must name principals
        ({"Resorce": "*"}, "Resorce"),  # an element IAM's grammar does not know
        ({"Action": "sagemaker::Create*"}, "sagemaker::Create*"),  # two colons
    ],
)
def test_an_endpoint_policy_iam_would_reject_is_an_error_not_a_pass(
    change: dict[str, Any], named: str
) -> None:
    """The same restricted statement PASSes; broken by one element it is ERROR naming it."""
    s = compliant_snapshot()
    data(s, EP, EP_API)["PolicyDocument"] = json.dumps({"Statement": [RESTRICTED]})
    assert finding(s, "endpoint-policy-restricted", EP_API).status == "PASS"
    broken = {k: v for k, v in (RESTRICTED | change).items() if v is not None}
    s = compliant_snapshot()
    data(s, EP, EP_API)["PolicyDocument"] = json.dumps({"Statement": [broken]})
    got = finding(s, "endpoint-policy-restricted", EP_API)
    assert got.status == "ERROR"
    assert "not a valid policy document" in got.message and named in got.message, got.message
