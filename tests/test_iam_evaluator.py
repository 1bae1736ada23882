"""Evaluator details the corpus cannot show: which statements a decision names."""

from __future__ import annotations

from scanner.iam.evaluator import PolicySet, Request, evaluate, make_context
from scanner.iam.policy import parse_policy

NB = "arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/nb1"
ACTION = "sagemaker:CreatePresignedNotebookInstanceUrl"


def _req(**ctx: str) -> Request:
    return Request(
        "arn:aws:iam::111122223333:user/alice",
        "111122223333",
        ACTION,
        NB,
        context=make_context(ctx),
    )


ALLOW = {"Sid": "Open", "Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}
GUARD = {
    "Effect": "Deny",
    "Action": ACTION,
    "Resource": "*",
    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
}


def test_allow_names_the_granting_statement() -> None:
    policies = PolicySet(identity=(parse_policy({"Statement": [ALLOW]}, label="managed/x"),))
    decision = evaluate(_req(), policies)
    assert decision.allowed
    (ref,) = decision.statements
    assert (ref.kind, ref.policy_index, ref.sid, ref.policy_label) == (
        "identity",
        0,
        "Open",
        "managed/x",
    )


def test_deny_names_the_deny_statement_by_index() -> None:
    policy = parse_policy({"Version": "2012-10-17", "Statement": [ALLOW, GUARD]})
    decision = evaluate(_req(), PolicySet(identity=(policy,)))
    assert decision.decision == "explicit_deny"
    assert [(s.statement_index, s.sid, s.effect) for s in decision.statements] == [
        (1, None, "Deny")
    ]
    assert decision.reason["statements"][0]["statement_index"] == 1


def test_scp_reason_names_the_level() -> None:
    allow = parse_policy({"Statement": [ALLOW]})
    only_s3 = parse_policy({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    decision = evaluate(_req(), PolicySet(identity=(allow,), scps=((allow,), (only_s3,))))
    assert decision.decision == "implicit_deny"
    assert "level 1" in decision.summary


def test_context_keys_are_case_insensitive_values_kept() -> None:
    ctx = make_context({"AWS:SourceVpce": "VPCE-1", "aws:TagKeys": ["a", "b"]})
    assert ctx == {"aws:sourcevpce": ("VPCE-1",), "aws:tagkeys": ("a", "b")}
