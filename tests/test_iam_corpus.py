"""The evaluator agrees with AWS's documented behaviour on every case of the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.iam.cases import evaluate_cases_file

CASES_DIR = Path(__file__).parent / "iam_cases"
FILES = sorted(CASES_DIR.glob("*.json"))


def _all_cases() -> list[dict[str, object]]:
    return [c for f in FILES for c in json.loads(f.read_text())["cases"]]


def test_corpus_is_large_enough_and_ids_unique() -> None:
    cases = _all_cases()
    assert len(cases) >= 150
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids))


def test_every_case_cites_aws_documentation() -> None:
    for case in _all_cases():
        source = case.get("source")
        assert isinstance(source, str) and source.startswith("https://docs.aws.amazon.com/"), case[
            "id"
        ]
        assert case.get("expected") in ("allowed", "explicit_deny", "implicit_deny", "invalid")


def test_every_decision_is_exercised() -> None:
    expected = {c["expected"] for c in _all_cases()}
    assert expected == {"allowed", "explicit_deny", "implicit_deny", "invalid"}


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_corpus_file_agrees(path: Path) -> None:
    results = evaluate_cases_file(path)["results"]
    wrong = [(r["id"], r["decision"], r["expected"]) for r in results if not r["agrees"]]
    assert wrong == []
    assert len(results) == len(json.loads(path.read_text())["cases"])
