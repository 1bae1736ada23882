"""Pathological policies, each bounded in time and memory (issue 12, hostile input).

A scanner that reads other people's policies must not be stalled or exhausted by one.  Each
scenario runs in a child process under ``RLIMIT_CPU`` (CPU seconds, so a slow shared CI
machine does not make it flaky) and ``RLIMIT_AS``; inside, ``tracemalloc`` bounds the
Python heap the scenario allocates.  The test asserts the child finished cleanly: a
catastrophic backtrack or a RecursionError would end it with a signal or a traceback.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from scanner.collectors.normalize import decode_policy_document
from scanner.errors import InputError
from scanner.iam.cases import evaluate_case
from scanner.iam.glob import glob_match
from scanner.iam.policy import parse_policy, parse_policy_any, parse_policy_text

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
NB = f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:notebook-instance/nb1"
ACTION = "sagemaker:CreatePresignedNotebookInstanceUrl"
CPU_SECONDS = 10
ADDRESS_SPACE = 2 * 1024**3
MiB = 1024**2


def _decide(policy: object, action: str = ACTION, resource: str = NB, **context: str) -> str:
    case = {
        "request": {"principal": USER, "action": action, "resource": resource, "context": context},
        "identity_policies": [policy],
    }
    return str(evaluate_case(case)["decision"])


def _allow(**extra: object) -> dict[str, object]:
    return {"Effect": "Allow", "Action": ACTION, "Resource": "*", **extra}


def _peak(fn: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def deep_nesting() -> None:
    """JSON nested far beyond the recursion limit is a clear InputError, not RecursionError."""
    for text in ("[" * 200_000 + "]" * 200_000, '{"a":' * 200_000 + "1" + "}" * 200_000):
        try:
            parse_policy_text(text)
        except InputError as exc:
            assert "nests too deeply" in exc.problem or "a policy must be" in exc.problem
        else:
            raise AssertionError("deep nesting parsed")
    nested: object = "x"
    for _ in range(100_000):
        nested = [nested]
    try:
        parse_policy({"Statement": [_allow(Condition={"StringEquals": {"k": nested}})]})
    except InputError as exc:
        assert "condition values must be" in exc.problem


def huge_condition() -> None:
    """2,000 keys x 10 values under one operator: parsed and decided within 64 MiB."""
    keys = {f"aws:PrincipalTag/t{i}": [f"v{j}" for j in range(10)] for i in range(2_000)}
    policy = {"Version": "2012-10-17", "Statement": [_allow(Condition={"StringEquals": keys})]}
    context = {f"aws:PrincipalTag/t{i}": "v9" for i in range(2_000)}
    peak = _peak(lambda: None if _decide(policy, **context) == "allowed" else _fail("huge"))
    assert peak < 64 * MiB, peak


def ten_thousand_statements() -> None:
    """10,000 statements, the match in the last: decided within 256 MiB."""
    stmts = [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": f"s3:Get{i}", "Resource": "*"}
        for i in range(9_999)
    ]
    policy = {"Version": "2012-10-17", "Statement": [*stmts, _allow(Sid="Last")]}
    peak = _peak(lambda: None if _decide(policy) == "allowed" else _fail("10k"))
    assert peak < 256 * MiB, peak


def unicode_values() -> None:
    """Non-BMP characters, combining marks and right-to-left text compare as code points;
    ``?`` is one code point."""
    for name in ("\U0001f600", "e\u0301", "\u05e9\u05dc\u05d5\u05dd", "\u202eevil"):
        arn = f"arn:aws:s3:::bucket/{name}"
        exact = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": arn}]}
        assert _decide(exact, "s3:GetObject", arn) == "allowed"
        one = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                              "Resource": "arn:aws:s3:::bucket/" + "?" * len(name)}]}  # fmt: skip
        assert _decide(one, "s3:GetObject", arn) == "allowed"
        assert _decide(exact, "s3:GetObject", arn + "x") == "implicit_deny"
    # "é" precomposed is not "e" + combining acute: IAM compares characters, not glyphs.
    precomposed = {"Statement": [_allow(Resource="arn:aws:s3:::bucket/\u00e9")]}
    assert _decide(precomposed, ACTION, "arn:aws:s3:::bucket/e\u0301") == "implicit_deny"


def backtracking_glob() -> None:
    """``a*a*…a*b`` against 100,000 ``a``: a regex engine backtracks exponentially; the
    segment matcher is linear in the text per segment."""
    pattern = "a*" * 40 + "b"
    text = "a" * 100_000
    assert not glob_match(pattern, text)
    assert glob_match(pattern, text + "b")
    assert not glob_match("*a?a?a?a?a?a?b", "a" * 20_000)
    policy = {"Statement": [_allow(Resource="arn:aws:s3:::" + "a*" * 40 + "b")]}
    assert _decide(policy, ACTION, "arn:aws:s3:::" + "a" * 50_000) == "implicit_deny"


def duplicate_keys() -> None:
    """1,000 statements each repeating Effect: rejected at the first, in bounded memory."""
    stmt = '{"Effect": "Allow", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}'
    text = '{"Statement": [' + ", ".join([stmt] * 1_000) + "]}"

    def run() -> None:
        try:
            parse_policy_text(text)
        except InputError as exc:
            assert "duplicate key 'Effect' (at Statement/0/Effect)" in exc.problem
        else:
            _fail("duplicates")

    assert _peak(run) < 64 * MiB


def url_encoded_document() -> None:
    """GetAccountAuthorizationDetails returns documents URL-encoded; the collector decodes
    them and the parser reads the result like the original."""
    doc = {"Version": "2012-10-17", "Statement": [_allow(Sid="A1", Resource=NB)]}
    decoded = decode_policy_document(quote(json.dumps(doc)))
    assert parse_policy_any(decoded) == parse_policy_any(doc)
    assert _decide(decoded) == "allowed"
    # Left encoded (a snapshot written without the collector), it is a clear InputError.
    try:
        parse_policy_any(quote(json.dumps(doc)))
    except InputError as exc:
        assert "not valid JSON" in exc.problem
    else:
        _fail("encoded text parsed")


def _fail(what: str) -> None:
    raise AssertionError(what)


SCENARIOS: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        deep_nesting,
        huge_condition,
        ten_thousand_statements,
        unicode_values,
        backtracking_glob,
        duplicate_keys,
        url_encoded_document,
    )
}


def _limits() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_pathological_policy_is_bounded(name: str) -> None:
    code = f"import tests.test_iam_pathological as m; m.SCENARIOS[{name!r}](); print('done')"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=_limits,
        check=False,
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout.strip() == "done"
    assert "RecursionError" not in proc.stderr
