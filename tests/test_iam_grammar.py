"""IAM policy grammar by policy kind (issue 12): what AWS's validation rejects is ``invalid``
with a reason naming the element, never evaluated.  The corpus files (grammar.json,
not_principal.json) carry the documented cases; these tests pin what a case file cannot
express: the kind-specific rules for trust policies, positions of duplicate keys, and that
every corpus ``expected_error`` names the element."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.iam.cases import evaluate_cases_file
from scanner.iam.policy import PolicyKind, parse_policy, parse_policy_text

CASES = Path(__file__).resolve().parent / "iam_cases"
TRUST_STATEMENT = {
    "Effect": "Allow",
    "Principal": {"Service": "sagemaker.amazonaws.com"},
    "Action": "sts:AssumeRole",
}


@pytest.mark.parametrize("name", ["grammar", "not_principal", "resource_boundaries"])
def test_corpus_invalid_reasons_name_the_element(name: str) -> None:
    cases = {c["id"]: c for c in json.loads((CASES / f"{name}.json").read_text())["cases"]}
    for result in evaluate_cases_file(CASES / f"{name}.json")["results"]:
        want = cases[result["id"]].get("expected_error")
        assert result["agrees"], result
        if want:
            assert want in result["reason"]["error"], result


def test_trust_policy_needs_principal_and_has_no_resource() -> None:
    doc = {"Version": "2012-10-17", "Statement": [TRUST_STATEMENT]}
    assert parse_policy(doc, kind=PolicyKind.TRUST).statements[0].resources is None
    with pytest.raises(InputError, match="a trust policy has no NotResource element"):
        parse_policy(
            {"Statement": [{**TRUST_STATEMENT, "NotResource": "*"}]}, kind=PolicyKind.TRUST
        )
    no_principal = {k: v for k, v in TRUST_STATEMENT.items() if k != "Principal"}
    with pytest.raises(InputError, match="a trust policy statement must have a Principal"):
        parse_policy({"Statement": [no_principal]}, kind=PolicyKind.TRUST)


def test_not_principal_is_not_allowed_in_a_trust_policy() -> None:
    stmt = {**TRUST_STATEMENT, "Effect": "Deny"}
    stmt["NotPrincipal"] = stmt.pop("Principal")
    with pytest.raises(InputError, match="NotPrincipal is supported only with Effect Deny"):
        parse_policy({"Statement": [stmt]}, kind=PolicyKind.TRUST)


def test_resource_policy_sid_follows_its_service_not_iam() -> None:
    """S3 and SQS allow spaces in Sid; only the type is checked for a resource policy."""
    stmt = {"Sid": "Allow notebook", "Effect": "Allow", "Principal": "*", "Action": "s3:*"}
    doc = {"Statement": [{**stmt, "Resource": "*"}]}
    assert parse_policy(doc, kind=PolicyKind.RESOURCE).statements[0].sid == "Allow notebook"
    with pytest.raises(InputError, match="may contain only ASCII"):
        parse_policy(
            {
                "Statement": [
                    {"Sid": "Allow notebook", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
                ]
            }
        )


def test_duplicate_key_is_located_at_the_second_occurrence() -> None:
    text = '{\n "Statement": [\n  {"Effect": "Allow",\n   "Effect": "Deny", "Action": "s3:*", "Resource": "*"}\n ]\n}'
    with pytest.raises(InputError) as err:
        parse_policy_text(text, source="p.json")
    assert "duplicate key 'Effect' (at Statement/0/Effect)" in err.value.problem
    assert (err.value.line, err.value.column) == (4, 4)


def test_duplicate_top_level_key_is_rejected() -> None:
    text = '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}'
    with pytest.raises(InputError, match="duplicate key 'Version'"):
        parse_policy_text(text)


def test_duplicate_sid_names_the_second_statement() -> None:
    stmt = {"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    with pytest.raises(InputError, match=r"duplicate Sid 'A'.*Statement/1/Sid"):
        parse_policy({"Statement": [stmt, stmt]})
