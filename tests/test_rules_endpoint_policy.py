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
