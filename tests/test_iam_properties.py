"""Property-based tests of the policy parser and the evaluator (issue 12, hostile input).

Three claims, each over generated input: parsing anything raises nothing but InputError;
evaluating any case gives one of the four decisions, ``invalid`` always with a reason; and a
valid Allow of exactly one action and resource decides ``allowed`` for that request (and
only ``implicit_deny`` for another action), whatever else the generator varies.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.errors import InputError
from scanner.iam.cases import DECISIONS, evaluate_case
from scanner.iam.policy import PolicyKind, parse_policy_any

ACCOUNT = "111122223333"
ELEMENTS = [
    "Version", "Id", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action",
    "NotAction", "Resource", "NotResource", "Condition",
]  # fmt: skip
OPERATORS = ["StringEquals", "StringLike", "DateLessThan", "NumericGreaterThan", "Bool",
             "IpAddress", "ArnLike", "Null", "ForAnyValue:StringEquals", "Bogus"]  # fmt: skip

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=12)
)
garbage = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(ELEMENTS) | st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
names = st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True)
actions = st.one_of(
    st.just("*"),
    st.builds(lambda s, a: f"{s}:{a}", names, st.from_regex(r"[A-Za-z*?]{1,8}", fullmatch=True)),
    st.text(max_size=10),
)
resources = st.one_of(
    st.just("*"),
    st.builds(lambda n: f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:notebook-instance/{n}", names),
    st.text(max_size=10),
)
condition_values = st.one_of(st.text(max_size=10), st.integers(), st.booleans())
conditions = st.dictionaries(
    st.sampled_from(OPERATORS),
    st.dictionaries(
        st.sampled_from(["aws:SourceVpce", "aws:CurrentTime", "aws:PrincipalArn", "k"]),
        condition_values | st.lists(condition_values, max_size=3),
        min_size=1,
        max_size=2,
    ),
    max_size=2,
)
principals = st.one_of(
    st.just("*"),
    st.fixed_dictionaries({"AWS": st.sampled_from([ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/a"])}),
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """Valid-shaped statements: every element optional, so many are invalid by grammar."""
    out: dict[str, Any] = {}
    if draw(st.booleans()):
        out["Effect"] = draw(st.sampled_from(["Allow", "Deny", "allow"]))
    out[draw(st.sampled_from(["Action", "NotAction"]))] = draw(
        actions | st.lists(actions, max_size=3)
    )
    if draw(st.booleans()):
        out[draw(st.sampled_from(["Resource", "NotResource"]))] = draw(resources)
    if draw(st.booleans()):
        out["Condition"] = draw(conditions)
    if draw(st.integers(0, 4)) == 0:
        out[draw(st.sampled_from(["Principal", "NotPrincipal"]))] = draw(principals)
    if draw(st.integers(0, 4)) == 0:
        out["Sid"] = draw(st.text(max_size=6))
    return out


policies = st.one_of(
    st.builds(
        lambda v, s: {"Version": v, "Statement": s},
        st.sampled_from(["2012-10-17", "2008-10-17"]),
        st.lists(statements(), max_size=3),
    ),
    garbage,
)


@settings(max_examples=150)
@given(policies, st.sampled_from(list(PolicyKind)), st.booleans())
def test_parse_raises_only_input_error(doc: Any, kind: PolicyKind, as_text: bool) -> None:
    source: Any = json.dumps(doc) if as_text and not isinstance(doc, str) else doc
    try:
        parse_policy_any(source, kind=kind)
    except InputError as exc:
        assert exc.problem  # a reason, always


@settings(max_examples=120)
@given(
    st.lists(policies, max_size=2),
    st.lists(policies, max_size=2),
    st.lists(policies, max_size=1),
    st.lists(st.lists(policies, max_size=1), max_size=2),
    actions,
    resources,
)
def test_evaluate_case_always_decides(
    identity: list[Any],
    resource: list[Any],
    boundaries: list[Any],
    scps: list[list[Any]],
    action: str,
    target: str,
) -> None:
    case = {
        "id": "generated",
        "request": {
            "principal": f"arn:aws:iam::{ACCOUNT}:user/a",
            "action": action or "s3:GetObject",
            "resource": target or "*",
            "context": {"aws:SourceVpce": "vpce-1"},
        },
        "identity_policies": identity,
        "resource_policies": resource,
        "permission_boundaries": boundaries,
        "scps": scps,
    }
    result = evaluate_case(case)
    assert result["decision"] in DECISIONS
    if result["decision"] == "invalid":
        assert result["reason"]["error"]
    else:
        assert result["reason"]["summary"]


@settings(max_examples=100)
@given(names, st.from_regex(r"[A-Za-z]{1,12}", fullmatch=True), names)
def test_allow_of_exactly_the_request_decides_allowed(
    service: str, action: str, notebook: str
) -> None:
    arn = f"arn:aws:sagemaker:us-west-2:{ACCOUNT}:notebook-instance/{notebook}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": f"{service}:{action}", "Resource": arn}],
    }
    request = {"principal": f"arn:aws:iam::{ACCOUNT}:user/a", "resource": arn}
    allowed = evaluate_case(
        {"request": {**request, "action": f"{service}:{action}"}, "identity_policies": [policy]}
    )
    assert allowed["decision"] == "allowed", allowed
    other = evaluate_case(
        {"request": {**request, "action": f"{service}:{action}X"}, "identity_policies": [policy]}
    )
    assert other["decision"] == "implicit_deny", other
