"""Wildcard matching: semantics of ``*`` and ``?``, case rules, literal tokens."""

from __future__ import annotations

import pytest

from scanner.iam.glob import ANY_ONE, STAR, compile_glob, from_tokens, glob_match


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("abc", "abc", True),
        ("abc", "abcd", False),
        ("a*c", "ac", True),
        ("a*c", "abbbc", True),
        ("a*c", "abbbd", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*", "", True),
        ("?", "", False),
        ("*b*b*", "abab", True),
        ("*b*b*", "ab", False),
        ("a*b?d*e", "axxbcdyye", True),
        ("a*b?d*e", "axxbcdyyf", False),
        ("*?", "x", True),
        ("x*x", "x", False),
        ("arn:aws:s3:::b/*", "arn:aws:s3:::b/k/e/y", True),
    ],
)
def test_glob_semantics(pattern: str, text: str, expected: bool) -> None:
    assert glob_match(pattern, text) is expected


def test_case_rules() -> None:
    assert glob_match("SageMaker:Create*", "sagemaker:createpresignednotebookinstanceurl", True)
    assert not glob_match("SageMaker:Create*", "sagemaker:createpresignednotebookinstanceurl")


def test_hostile_pattern_answers_correctly() -> None:
    # A regex translation of this pattern backtracks exponentially; the greedy segment
    # matcher answers from one left-to-right pass.
    pattern = "a*" * 40 + "b"
    assert not glob_match(pattern, "a" * 5000)
    assert glob_match(pattern, "a" * 5000 + "b")


def test_literal_tokens_are_not_wildcards() -> None:
    literal_star = from_tokens(["tool-", "*"])
    assert literal_star.matches("tool-*")
    assert not literal_star.matches("tool-x")
    wild = from_tokens(["tool-", STAR, ANY_ONE])
    assert wild.matches("tool-xy")
    assert compile_glob("abc").is_literal
    assert not compile_glob("a?c").is_literal
