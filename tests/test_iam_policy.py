"""Policy parsing: every accepted shape, and precise errors for malformed documents."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.iam.policy import Effect, PolicyKind, parse_policy, parse_policy_text

REFERENCE = Path("shared") / "reference" / "sagemaker-notebooks-privatelink.md"


def reference_post() -> Path | None:
    """The owners' copy of the AWS post: ``../shared/`` beside this checkout (as in CI), or
    beside the repository this checkout was cloned from (a scratch clone in /tmp)."""
    repo = Path(__file__).resolve().parents[1]
    roots = [repo.parent]
    origin = subprocess.run(
        ["git", "-C", str(repo), "remote", "get-url", "origin"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if origin and Path(origin).is_dir():
        roots.append(Path(origin).resolve().parent)
    return next((root / REFERENCE for root in roots if (root / REFERENCE).exists()), None)


# The AWS post's first example policy, verbatim: its Condition object is never closed.
POST_POLICY = """{
 "Id": "notebook-example-with-sourcevpce",
 "Version": "2012-10-17",
 "Statement": [
 {
 "Sid": "Enable Notebook Access",
 "Effect": "Allow",
 "Action": [
 "sagemaker:CreatePresignedNotebookInstanceUrl",
 "sagemaker:DescribeNotebookInstance"
 ],
 "Resource": "*",
 "Condition": {
 "StringEquals": {
 "aws:sourceVpce": [
 "vpce-111bbccc",
 "vpce-111bbddd"
 ]
 }
 }
 ]
}"""


def test_post_policy_missing_brace_reports_line_21() -> None:
    with pytest.raises(InputError) as err:
        parse_policy_text(POST_POLICY, source="post.json")
    assert err.value.line == 21  # the "]" where the Condition's "}" is missing
    assert err.value.column == 2
    assert err.value.path == "post.json"
    assert "JSON" in err.value.problem


def test_post_policy_matches_reference_text() -> None:
    """The embedded copy is the post's text to the byte (../shared/ sits beside every
    checkout and CI clone)."""
    post = reference_post()
    assert post is not None, f"no {REFERENCE} beside this checkout or its origin"
    assert POST_POLICY in post.read_text()


def test_post_policy_fixed_parses() -> None:
    fixed = POST_POLICY.replace(" }\n ]\n}", " }\n }\n ]\n}")
    # The post's Sid has spaces, which IAM's Sid grammar forbids (letters and digits only,
    # reference_policies_elements_sid.html): once the brace is fixed, that is what remains.
    with pytest.raises(InputError, match="Sid 'Enable Notebook Access' may contain only"):
        parse_policy_text(fixed)
    policy = parse_policy_text(fixed.replace("Enable Notebook Access", "EnableNotebookAccess"))
    (stmt,) = policy.statements
    assert stmt.sid == "EnableNotebookAccess"
    assert stmt.conditions[0].key == "aws:sourcevpce"
    assert stmt.conditions[0].key_as_written == "aws:sourceVpce"
    assert [v.raw for v in stmt.conditions[0].values] == ["vpce-111bbccc", "vpce-111bbddd"]


def _text(statement: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, indent=2)


@pytest.mark.parametrize(
    ("statement", "problem", "line"),
    [
        ({"Action": "s3:*", "Resource": "*"}, "missing Effect", 4),
        ({"Effect": "Alow", "Action": "s3:*"}, "Effect must be", 5),
        ({"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*"}, "both Action and", 7),
        (
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringEqualz": {"k": "v"}},
            },
            "unknown condition operator",
            9,
        ),
        ({"Effect": "Allow", "Resource": "*"}, "missing Action", 4),
        ({"Effect": "Allow", "Action": "s3GetObject"}, "service:Action", 6),
    ],
)
def test_validation_errors_have_line_and_column(statement: object, problem: str, line: int) -> None:
    with pytest.raises(InputError) as err:
        parse_policy_text(_text(statement), source="p.json")
    assert problem in err.value.problem
    assert err.value.line == line
    assert err.value.column is not None


def test_decoded_document_errors_name_the_json_path() -> None:
    with pytest.raises(InputError) as err:
        parse_policy(
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                    {"Effect": "Nope", "Action": "s3:*"},
                ]
            }
        )
    assert "Statement/1/Effect" in err.value.problem


def test_statement_object_and_missing_version() -> None:
    policy = parse_policy(
        {"Statement": {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}},
        kind=PolicyKind.TRUST,
    )
    assert policy.version == "2008-10-17"
    assert not policy.variables_enabled
    assert policy.statements[0].effect is Effect.DENY
    assert policy.statements[0].resources is None


def test_bad_version_rejected() -> None:
    with pytest.raises(InputError, match="Version"):
        parse_policy({"Version": "2012-10-18", "Statement": []})


@pytest.mark.parametrize(
    ("principal", "everyone", "aws", "service"),
    [
        ("*", True, (), ()),
        ({"AWS": "*"}, True, (), ()),
        (
            {"AWS": ["111122223333", "arn:aws:iam::444455556666:root"]},
            False,
            ("111122223333", "arn:aws:iam::444455556666:root"),
            (),
        ),
        ({"Service": "sagemaker.amazonaws.com"}, False, (), ("sagemaker.amazonaws.com",)),
    ],
)
def test_principal_forms(
    principal: object, everyone: bool, aws: tuple[str, ...], service: tuple[str, ...]
) -> None:
    stmt = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": principal, "Action": "s3:*", "Resource": "*"}
            ],
        },
        kind=PolicyKind.RESOURCE,
    ).statements[0]
    assert stmt.principal is not None
    assert stmt.principal.everyone is everyone
    assert stmt.principal.aws == aws
    assert stmt.principal.service == service


def test_federated_and_canonical_user_and_not_principal() -> None:
    stmt = parse_policy(
        {
            "Statement": [
                {
                    "Effect": "Deny",
                    "NotPrincipal": {
                        "Federated": "cognito-identity.amazonaws.com",
                        "CanonicalUser": "abc",
                    },
                    "Action": "s3:*",
                    "Resource": "*",
                }
            ]
        },
        kind=PolicyKind.RESOURCE,
    ).statements[0]
    assert stmt.not_principal
    assert stmt.principal is not None
    assert stmt.principal.federated == ("cognito-identity.amazonaws.com",)
    assert stmt.principal.canonical_user == ("abc",)


def test_unknown_principal_type_rejected() -> None:
    with pytest.raises(InputError, match="unknown principal type"):
        parse_policy(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Amazon": "x"},
                        "Action": "s3:*",
                        "Resource": "*",
                    }
                ]
            },
            kind=PolicyKind.RESOURCE,
        )


def test_condition_values_normalised_to_strings() -> None:
    stmt = parse_policy(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:*",
                    "Resource": "*",
                    "Condition": {
                        "Bool": {"aws:SecureTransport": True},
                        "NumericLessThan": {"s3:max-keys": 10},
                        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*"]},
                    },
                }
            ]
        }
    ).statements[0]
    raws = [[v.raw for v in c.values] for c in stmt.conditions]
    assert raws == [["true"], ["10"], ["a*"]]
    qualified = stmt.conditions[2]
    assert (qualified.operator, qualified.qualifier, qualified.if_exists) == (
        "StringLike",
        "ForAnyValue",
        True,
    )
    assert qualified.spelled == "ForAnyValue:StringLikeIfExists"


def test_variables_only_in_2012_documents() -> None:
    doc = {
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}"}
        ]
    }
    old = parse_policy(doc).statements[0]
    new = parse_policy({"Version": "2012-10-17", **doc}).statements[0]
    assert old.resources is not None and old.resources[0].template is None
    assert new.resources is not None and new.resources[0].template is not None
