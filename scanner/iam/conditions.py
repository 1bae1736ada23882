"""Condition operators: parsing the operator name and evaluating one condition.

Dispatch is a table from the base operator name to a typed predicate ``(request value,
policy value, context) -> bool`` plus a *negated* flag, so each family is written once and
its ``Not`` form, its ``IfExists`` form and its ``ForAllValues:``/``ForAnyValue:`` forms all
come from the same code.  Semantics follow
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html:

- a key absent from the request makes a positive operator false and a negated operator
  (``StringNotEquals``, ``ArnNotLike``, ``NotIpAddress``…) true ("If the policy condition
  requires that the key is not matched… and the right key is not present, the condition can
  evaluate to true");
- ``…IfExists`` makes an absent key true;
- several policy values for one key are ORed; a negated operator is the negation of that OR
  ("not any of");
- ``ForAllValues:`` is true on an absent or empty set, ``ForAnyValue:`` false.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from scanner.iam.glob import compile_glob
from scanner.iam.variables import Value

Context = Mapping[str, Sequence[str]]
"""Request context: lower-cased key -> values (one value for a single-valued key)."""

Predicate = Callable[[str, Value, Context], bool]


# -- parsing of typed values ------------------------------------------------------------
# Public because the candidate search (scanner.iam.candidates) must read a policy value exactly
# as the evaluator does: a value it parsed differently would be compared with candidates that
# never reach the evaluator's reading of it.


@lru_cache(maxsize=8192)
def parse_number(text: str) -> float | None:
    """A numeric condition value as the Numeric operators compare it; None if not a number."""
    try:
        return float(text)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def parse_date(text: str) -> float | None:
    """ISO 8601 (date or date-time, ``Z`` or offset) or epoch seconds, as a UTC timestamp."""
    num = parse_number(text)
    if num is not None:
        return num
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@lru_cache(maxsize=8192)
def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A CIDR (or single address) as IpAddress/NotIpAddress read it; None if malformed."""
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=8192)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return text.encode()


# -- predicates (the positive form of each family) --------------------------------------


def _string_equals(req: str, pol: Value, ctx: Context) -> bool:
    return pol.text(ctx) == req


def _string_equals_ic(req: str, pol: Value, ctx: Context) -> bool:
    text = pol.text(ctx)
    return text is not None and text.casefold() == req.casefold()


def _string_like(req: str, pol: Value, ctx: Context) -> bool:
    pattern = pol.glob(ctx)
    return pattern is not None and pattern.matches(req)


def _numeric(test: Callable[[float, float], bool]) -> Predicate:
    def pred(req: str, pol: Value, ctx: Context) -> bool:
        text = pol.text(ctx)
        a, b = parse_number(req), parse_number(text) if text is not None else None
        return a is not None and b is not None and test(a, b)

    return pred


def _dates(test: Callable[[float, float], bool]) -> Predicate:
    def pred(req: str, pol: Value, ctx: Context) -> bool:
        text = pol.text(ctx)
        a, b = parse_date(req), parse_date(text) if text is not None else None
        return a is not None and b is not None and test(a, b)

    return pred


def _bool(req: str, pol: Value, ctx: Context) -> bool:
    text = pol.text(ctx)
    return text is not None and text.lower() == req.lower()


def _binary_equals(req: str, pol: Value, ctx: Context) -> bool:
    text = pol.text(ctx)
    return text is not None and _binary(text) == _binary(req)


def _ip(req: str, pol: Value, ctx: Context) -> bool:
    text = pol.text(ctx)
    net = parse_network(text) if text is not None else None
    addr = _address(req)
    return net is not None and addr is not None and addr.version == net.version and addr in net


def _arn_like(req: str, pol: Value, ctx: Context) -> bool:
    """Component-wise: each of the six colon-separated parts is matched on its own."""
    text = pol.text(ctx)
    if text is None:
        return False
    want, have = text.split(":", 5), req.split(":", 5)
    if len(want) != 6 or len(have) != 6:
        return False
    return all(compile_glob(w).matches(h) for w, h in zip(want, have, strict=True))


@dataclass(frozen=True, slots=True)
class Operator:
    """One base operator: its predicate and whether it is the negated form."""

    name: str
    predicate: Predicate
    negated: bool = False


def _table() -> dict[str, Operator]:
    ops: list[Operator] = [
        Operator("StringEquals", _string_equals),
        Operator("StringNotEquals", _string_equals, True),
        Operator("StringEqualsIgnoreCase", _string_equals_ic),
        Operator("StringNotEqualsIgnoreCase", _string_equals_ic, True),
        Operator("StringLike", _string_like),
        Operator("StringNotLike", _string_like, True),
        Operator("NumericEquals", _numeric(lambda a, b: a == b)),
        Operator("NumericNotEquals", _numeric(lambda a, b: a == b), True),
        Operator("NumericLessThan", _numeric(lambda a, b: a < b)),
        Operator("NumericLessThanEquals", _numeric(lambda a, b: a <= b)),
        Operator("NumericGreaterThan", _numeric(lambda a, b: a > b)),
        Operator("NumericGreaterThanEquals", _numeric(lambda a, b: a >= b)),
        Operator("DateEquals", _dates(lambda a, b: a == b)),
        Operator("DateNotEquals", _dates(lambda a, b: a == b), True),
        Operator("DateLessThan", _dates(lambda a, b: a < b)),
        Operator("DateLessThanEquals", _dates(lambda a, b: a <= b)),
        Operator("DateGreaterThan", _dates(lambda a, b: a > b)),
        Operator("DateGreaterThanEquals", _dates(lambda a, b: a >= b)),
        Operator("Bool", _bool),
        Operator("BinaryEquals", _binary_equals),
        Operator("IpAddress", _ip),
        Operator("NotIpAddress", _ip, True),
        Operator("ArnEquals", _arn_like),
        Operator("ArnLike", _arn_like),
        Operator("ArnNotEquals", _arn_like, True),
        Operator("ArnNotLike", _arn_like, True),
    ]
    return {op.name.lower(): op for op in ops}


OPERATORS: dict[str, Operator] = _table()
NULL = "Null"
QUALIFIERS = {"forallvalues": "ForAllValues", "foranyvalue": "ForAnyValue"}


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key) pair of a Condition block, normalised."""

    operator: str  # canonical base name, e.g. "StringNotEquals" or "Null"
    qualifier: str | None  # "ForAllValues" | "ForAnyValue" | None
    if_exists: bool
    key: str  # lower-cased
    key_as_written: str
    values: tuple[Value, ...]

    @property
    def spelled(self) -> str:
        """The operator as a policy would spell it (for messages)."""
        name = self.operator + ("IfExists" if self.if_exists else "")
        return f"{self.qualifier}:{name}" if self.qualifier else name


def parse_operator(text: str) -> tuple[str, str | None, bool]:
    """``"ForAnyValue:StringLikeIfExists"`` -> ``("StringLike", "ForAnyValue", True)``.

    Raises ValueError naming the unknown operator.
    """
    qualifier: str | None = None
    rest = text
    if ":" in text:
        prefix, _, rest = text.partition(":")
        qualifier = QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            raise ValueError(f"unknown condition set operator {prefix!r} in {text!r}")
    low = rest.lower()
    if low == "null":
        return NULL, qualifier, False
    if_exists = low.endswith("ifexists")
    base = low[: -len("ifexists")] if if_exists else low
    op = OPERATORS.get(base)
    if op is None:
        raise ValueError(f"unknown condition operator {text!r}")
    return op.name, qualifier, if_exists


def evaluate_condition(cond: Condition, ctx: Context) -> bool:
    """Does the request context satisfy this one condition?"""
    values = ctx.get(cond.key)
    absent = values is None or len(values) == 0
    if cond.operator == NULL:
        # Null: "true" asks for the key to be absent, "false" for it to be present.
        return any((v.raw.lower() == "true") == absent for v in cond.values)
    if absent:
        if cond.if_exists:
            return True
        if cond.qualifier == "ForAllValues":
            return True
        if cond.qualifier == "ForAnyValue":
            return False
        return OPERATORS[cond.operator.lower()].negated
    assert values is not None
    op = OPERATORS[cond.operator.lower()]

    def one(req: str) -> bool:
        hit = any(op.predicate(req, pv, ctx) for pv in cond.values)
        return not hit if op.negated else hit

    if cond.qualifier == "ForAllValues":
        return all(one(v) for v in values)
    if cond.qualifier == "ForAnyValue":
        return any(one(v) for v in values)
    # A single-valued operator on several request values: true when any value matches; the
    # negated form is true when none does.
    hit = any(op.predicate(req, pv, ctx) for req in values for pv in cond.values)
    return not hit if op.negated else hit
