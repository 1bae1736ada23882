"""The case-file format: defaults, invalid policies, and file-level errors with positions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.errors import InputError
from scanner.iam.cases import disagreements, evaluate_cases_file

ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}],
}
NB = "arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/nb1"


def _case(**overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "id": "c1",
        "request": {
            "principal": "arn:aws:iam::111122223333:user/alice",
            "principal_account": "111122223333",
            "action": "sagemaker:DescribeNotebookInstance",
            "resource": NB,
        },
        "identity_policies": [ALLOW],
    }
    case.update(overrides)
    return case


def _run(tmp_path: Path, *cases: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": list(cases)}, indent=1))
    return evaluate_cases_file(path)


def test_optional_lists_may_be_missing(tmp_path: Path) -> None:
    (result,) = _run(tmp_path, _case())["results"]
    assert result["decision"] == "allowed"
    assert "expected" not in result
    assert result["reason"]["statements"][0]["kind"] == "identity"


def test_resource_account_defaults_to_principal_account(tmp_path: Path) -> None:
    # With resource_account defaulted, the request is same-account: identity alone suffices.
    same = _case()
    cross = _case(id="c2")
    cross["request"] = {**cross["request"], "resource_account": "444455556666"}
    results = _run(tmp_path, same, cross)["results"]
    assert [r["decision"] for r in results] == ["allowed", "implicit_deny"]


def test_principal_account_derived_from_arn(tmp_path: Path) -> None:
    case = _case()
    del case["request"]["principal_account"]
    case["request"]["resource_account"] = "111122223333"
    assert _run(tmp_path, case)["results"][0]["decision"] == "allowed"


def test_context_accepts_lists(tmp_path: Path) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "*",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "b"}},
            }
        ],
    }
    case = _case(identity_policies=[policy])
    case["request"]["context"] = {"aws:TagKeys": ["a", "b"]}
    assert _run(tmp_path, case)["results"][0]["decision"] == "allowed"


def test_invalid_policy_is_a_decision_not_a_crash(tmp_path: Path) -> None:
    bad = _case(
        id="bad", identity_policies=[{"Statement": [{"Action": "s3:*"}]}], expected="invalid"
    )
    good = _case(id="good", expected="implicit_deny")
    results = _run(tmp_path, bad, good)
    first, second = results["results"]
    assert first["decision"] == "invalid" and "Effect" in first["reason"]["error"]
    assert first["agrees"] is True
    assert second["agrees"] is False
    assert [r["id"] for r in disagreements(results)] == ["good"]


def test_empty_scp_list_means_no_organization(tmp_path: Path) -> None:
    results = _run(tmp_path, _case(scps=[]), _case(id="c2", scps=[[]]))["results"]
    assert [r["decision"] for r in results] == ["allowed", "implicit_deny"]


def test_bad_json_has_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    path.write_text('{"cases": [\n  {"id": "x",\n  }\n]}')
    with pytest.raises(InputError) as err:
        evaluate_cases_file(path)
    assert (err.value.line, err.value.path) == (3, str(path))


def test_wrong_shape_has_position(tmp_path: Path) -> None:
    case = _case()
    case["request"]["action"] = 5
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": [case]}, indent=1))
    with pytest.raises(InputError) as err:
        evaluate_cases_file(path)
    assert "action" in err.value.problem
    assert err.value.line is not None and err.value.line > 1


@pytest.mark.parametrize("doc", [[], {"case": []}, {"cases": [1]}])
def test_not_a_case_file(tmp_path: Path, doc: object) -> None:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError):
        evaluate_cases_file(path)


def test_bad_expected_value_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="expected"):
        _run(tmp_path, _case(expected="deny"))
