"""`scanner iam evaluate` as users run it: JSON on stdout, agreement with the corpus, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

from tests.clikit import run_cli

CASES = Path(__file__).resolve().parent / "iam_cases"


def test_evaluate_prints_decisions_that_agree_with_the_corpus() -> None:
    proc = run_cli("iam", "evaluate", str(CASES / "sagemaker_traps.json"))
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)["results"]
    cases = json.loads((CASES / "sagemaker_traps.json").read_text())["cases"]
    assert [r["id"] for r in results] == [c["id"] for c in cases]
    assert [r["decision"] for r in results] == [c["expected"] for c in cases]
    assert {r["decision"] for r in results} <= {
        "allowed",
        "explicit_deny",
        "implicit_deny",
        "invalid",
    }
    assert all("reason" in r for r in results)


def test_malformed_case_file_names_the_line_and_exits_2(tmp_path: Path) -> None:
    cases = tmp_path / "cases.json"
    cases.write_text('{"cases": [\n  {"id": "x",\n   "request": {}\n  }\n')  # unterminated
    proc = run_cli("iam", "evaluate", str(cases))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert f"{cases}:5" in proc.stderr


def test_case_with_invalid_policy_is_invalid_not_a_crash(tmp_path: Path) -> None:
    case = {
        "id": "no-effect",
        "request": {
            "principal": "arn:aws:iam::111122223333:user/alice",
            "principal_account": "111122223333",
            "action": "sagemaker:DescribeNotebookInstance",
            "resource": "arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/nb1",
            "context": {},
        },
        "identity_policies": [
            {"Version": "2012-10-17", "Statement": [{"Action": "*", "Resource": "*"}]}
        ],
        "expected": "invalid",
    }
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"cases": [case]}))
    proc = run_cli("iam", "evaluate", str(path))
    assert proc.returncode == 0, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert result["decision"] == "invalid"
    assert "Effect" in json.dumps(result["reason"])


def test_grammar_corpus_prints_invalid_with_the_named_element() -> None:
    """Every grammar-invalid case of grammar.json comes out ``invalid`` with a reason that
    names the offending element (the case's ``expected_error``), through the real CLI."""
    proc = run_cli("iam", "evaluate", str(CASES / "grammar.json"))
    assert proc.returncode == 0, proc.stderr
    results = {r["id"]: r for r in json.loads(proc.stdout)["results"]}
    cases = json.loads((CASES / "grammar.json").read_text())["cases"]
    invalid = [c for c in cases if c["expected"] == "invalid"]
    assert len(invalid) >= 10
    for case in invalid:
        result = results[case["id"]]
        assert result["decision"] == "invalid", case["id"]
        assert case["expected_error"] in result["reason"]["error"], case["id"]
