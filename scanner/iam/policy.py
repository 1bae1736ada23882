"""Parsing, validation and normalisation of IAM policy documents.

Every shape variation AWS accepts is normalised once, here, into frozen dataclasses, so the
evaluator never asks "is Action a string or a list?":

- ``Statement`` as one object or a list;
- ``Action``/``NotAction`` and ``Resource``/``NotResource`` as a string or a list;
- ``Principal``/``NotPrincipal`` as ``"*"``, ``{"AWS": "*"}``, ``{"AWS": [ARNs or account ids]}``,
  ``Service``, ``Federated`` and ``CanonicalUser``;
- ``Condition`` values as strings, numbers, booleans or lists of them (all become strings);
- ``Version``: ``2012-10-17`` enables policy variables; ``2008-10-17`` (the default when the
  element is missing) keeps ``${…}`` literal
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html).

A malformed document raises :class:`scanner.errors.InputError`; when the policy came from text,
the error carries the line and column of the offending element.

Grammar depends on the policy's *kind* (:class:`PolicyKind`), as IAM's own validation does
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html): ``Principal``
is forbidden in identity policies, boundaries, session policies and SCPs and required in resource
and trust policies; trust policies have no ``Resource``; ``NotPrincipal`` only with ``Deny`` and
only in resource policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
A document AWS would reject is never evaluated: an evaluation of it could only be a guess.
Duplicate JSON keys are rejected too: ``json`` keeps the last, and which one AWS reads is not
documented, so any decision made from such a document could be the wrong one.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from scanner.errors import InputError, decode_json
from scanner.iam.conditions import (
    Condition,
    Context,
    evaluate_condition,
    parse_date,
    parse_operator,
)
from scanner.iam.glob import Glob, compile_glob
from scanner.iam.jsonpos import Path, Positions
from scanner.iam.variables import Value, make_value

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
PRINCIPAL_TYPES = {
    "aws": "AWS",
    "service": "Service",
    "federated": "Federated",
    "canonicaluser": "CanonicalUser",
}


_STATEMENT_FIELDS = frozenset(
    (
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    )
)
_POLICY_FIELDS = frozenset(("Version", "Id", "Statement"))
_SID = re.compile(r"[A-Za-z0-9]*")
# service prefix ":" action name; no wildcard in the prefix, exactly one colon
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html).
_ACTION = re.compile(r"[A-Za-z0-9-]+:[^:]+")


class PolicyKind(StrEnum):
    """Where a document is used; the grammar differs by kind (module docstring)."""

    IDENTITY = "identity"
    RESOURCE = "resource"
    TRUST = "trust"
    BOUNDARY = "boundary"
    SESSION = "session"
    SCP = "scp"

    @property
    def has_principal(self) -> bool:
        """Resource and trust policies name principals; the others must not."""
        return self in (PolicyKind.RESOURCE, PolicyKind.TRUST)

    @property
    def iam_sid(self) -> bool:
        """IAM (and Organizations) restrict Sid to ASCII letters and digits; a resource
        policy follows its own service's rules (S3 and SQS allow more), so only its type
        is checked there."""
        return self is not PolicyKind.RESOURCE


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class PrincipalSpec:
    """A normalised Principal/NotPrincipal element.

    ``everyone`` is set by ``"*"`` and by ``{"AWS": "*"}``.  ``aws`` keeps ARNs and bare
    account ids as written (an account id stands for ``arn:aws:iam::ID:root``).
    """

    everyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    canonical_user: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Statement:
    """One normalised statement.  ``index`` is its position in the policy (0-based)."""

    index: int
    sid: str | None
    effect: Effect
    actions: tuple[Glob, ...]
    action_texts: tuple[str, ...]
    not_action: bool
    resources: tuple[Value, ...] | None  # None: the element is absent (trust policies)
    not_resource: bool
    principal: PrincipalSpec | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """How a finding names this statement: its Sid, else its position."""
        return self.sid if self.sid else f"statement #{self.index}"

    def matches_action(self, action: str) -> bool:
        """Actions compare case-insensitively; NotAction matches every action it does not list."""
        hit = any(g.matches(action) for g in self.actions)
        return not hit if self.not_action else hit

    def matches_resource(self, resource: str, ctx: Context) -> bool:
        """Resources compare case-sensitively; an unresolvable variable matches nothing."""
        if self.resources is None:
            return True
        hit = False
        for value in self.resources:
            pattern = value.glob(ctx)
            if pattern is not None and pattern.matches(resource):
                hit = True
                break
        return not hit if self.not_resource else hit

    def conditions_hold(self, ctx: Context) -> bool:
        """Every operator and every key of the block must hold (they are ANDed)."""
        return all(evaluate_condition(c, ctx) for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Policy:
    """A normalised policy document.  ``label`` says where it came from (for findings)."""

    version: str
    statements: tuple[Statement, ...]
    id: str | None = None
    label: str = field(default="", compare=False)

    @property
    def variables_enabled(self) -> bool:
        return self.version == VERSION_2012


class _Invalid(Exception):
    """A validation problem at a JSON path (converted to InputError by the public functions)."""

    def __init__(self, problem: str, path: Path, at_key: bool = False) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path
        self.at_key = at_key


def _lookup(obj: Mapping[str, Any], name: str) -> tuple[str, Any] | None:
    """Element names are matched exactly as AWS documents them (case-sensitive)."""
    if name in obj:
        return name, obj[name]
    return None


def _strings(value: Any, path: Path, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value:
            raise _Invalid(f"{what} must not be an empty list", path)
        return list(value)
    raise _Invalid(f"{what} must be a string or a list of strings", path)


def _principal(value: Any, path: Path) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec(everyone=True)
    if not isinstance(value, dict) or not value:
        raise _Invalid('Principal must be "*" or an object such as {"AWS": [...]}', path)
    parts: dict[str, tuple[str, ...]] = {}
    for key, raw in value.items():
        kind = PRINCIPAL_TYPES.get(key.lower())
        if kind is None:
            raise _Invalid(
                f"unknown principal type {key!r} (expected AWS, Service, "
                "Federated or CanonicalUser)",
                (*path, key),
                at_key=True,
            )
        parts[kind] = tuple(_strings(raw, (*path, key), f"Principal {kind}"))
    aws = parts.get("AWS", ())
    return PrincipalSpec(
        everyone="*" in aws,
        aws=tuple(a for a in aws if a != "*"),
        service=parts.get("Service", ()),
        federated=parts.get("Federated", ()),
        canonical_user=parts.get("CanonicalUser", ()),
    )


def _condition_values(raw: Any, path: Path) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            out.append(str(item))
        else:
            raise _Invalid("condition values must be strings, numbers or booleans", path)
    return out


def _conditions(block: Any, path: Path, variables: bool) -> tuple[Condition, ...]:
    if not isinstance(block, dict):
        raise _Invalid("Condition must be an object of operator -> {key: values}", path)
    out: list[Condition] = []
    for op_name, keys in block.items():
        try:
            base, qualifier, if_exists = parse_operator(op_name)
        except ValueError as exc:
            raise _Invalid(str(exc), (*path, op_name), at_key=True) from None
        if not isinstance(keys, dict) or not keys:
            raise _Invalid(f"{op_name} must map condition keys to values", (*path, op_name))
        for key, raw in keys.items():
            values = _condition_values(raw, (*path, op_name, key))
            out.append(
                Condition(
                    operator=base,
                    qualifier=qualifier,
                    if_exists=if_exists,
                    key=key.lower(),
                    key_as_written=key,
                    values=tuple(make_value(v, variables) for v in values),
                )
            )
    return tuple(out)


def _pair(stmt: Mapping[str, Any], name: str, path: Path) -> tuple[Any, bool] | None:
    """Read ``X`` / ``NotX``: the value and whether it was the Not form; both -> error."""
    plain, negated = _lookup(stmt, name), _lookup(stmt, "Not" + name)
    if plain and negated:
        raise _Invalid(
            f"a statement cannot contain both {name} and Not{name}",
            (*path, "Not" + name),
            at_key=True,
        )
    if plain:
        return plain[1], False
    if negated:
        return negated[1], True
    return None


def _statement(raw: Any, index: int, path: Path, variables: bool, kind: PolicyKind) -> Statement:
    if not isinstance(raw, dict):
        raise _Invalid("each statement must be a JSON object", path)
    for name in raw:
        if name not in _STATEMENT_FIELDS:
            raise _Invalid(f"unknown statement element {name!r}", (*path, name), at_key=True)
    effect_raw = raw.get("Effect")
    if effect_raw is None:
        raise _Invalid("statement is missing Effect", path)
    if effect_raw not in ("Allow", "Deny"):
        raise _Invalid(f'Effect must be "Allow" or "Deny", not {effect_raw!r}', (*path, "Effect"))
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _Invalid("Sid must be a string", (*path, "Sid"))
    if sid and kind.iam_sid and not _SID.fullmatch(sid):
        raise _Invalid(
            f"Sid {sid!r} may contain only ASCII letters (A-Z, a-z) and digits (0-9)",
            (*path, "Sid"),
        )

    action = _pair(raw, "Action", path)
    if action is None:
        raise _Invalid("statement is missing Action or NotAction", path)
    action_path = (*path, "NotAction" if action[1] else "Action")
    texts = _strings(action[0], action_path, "Action")
    for i, text in enumerate(texts):
        if text != "*" and not _ACTION.fullmatch(text):
            raise _Invalid(
                f'action {text!r} must be "*" or service:Action (one colon, no wildcard in '
                "the service prefix)",
                (*action_path, i) if isinstance(action[0], list) else action_path,
            )

    resources = _resources(raw, path, variables, kind)
    resource = _pair(raw, "Resource", path)

    principal = _pair(raw, "Principal", path)
    spec = None
    if principal is not None:
        name = "NotPrincipal" if principal[1] else "Principal"
        if not kind.has_principal:
            raise _Invalid(
                f"{name} is not allowed in {_article(kind)} policy", (*path, name), at_key=True
            )
        if principal[1] and (kind is PolicyKind.TRUST or effect_raw != "Deny"):
            raise _Invalid(
                "NotPrincipal is supported only with Effect Deny in a resource-based policy",
                (*path, name),
                at_key=True,
            )
        spec = _principal(principal[0], (*path, name))
    elif kind.has_principal:
        raise _Invalid(f"{_article(kind)} policy statement must have a Principal", path)

    conditions: tuple[Condition, ...] = ()
    if "Condition" in raw:
        if isinstance(raw["Condition"], dict):
            _check_dates(raw["Condition"], (*path, "Condition"))
        conditions = _conditions(raw["Condition"], (*path, "Condition"), variables)

    return Statement(
        index=index,
        sid=sid,
        effect=Effect(effect_raw),
        actions=tuple(compile_glob(t, ignore_case=True) for t in texts),
        action_texts=tuple(t.lower() for t in texts),
        not_action=action[1],
        resources=resources,
        not_resource=bool(resource and resource[1]),
        principal=spec,
        not_principal=bool(principal and principal[1]),
        conditions=conditions,
    )


def _article(kind: PolicyKind) -> str:
    return {
        PolicyKind.IDENTITY: "an identity-based",
        PolicyKind.RESOURCE: "a resource-based",
        PolicyKind.TRUST: "a trust",
        PolicyKind.BOUNDARY: "a permissions boundary",
        PolicyKind.SESSION: "a session",
        PolicyKind.SCP: "an SCP",
    }[kind]


def _resources(
    raw: Mapping[str, Any], path: Path, variables: bool, kind: PolicyKind
) -> tuple[Value, ...] | None:
    """Resource/NotResource: required except in trust policies, where it is prohibited
    (MalformedPolicyDocument "Has prohibited field Resource"); each value ``*`` or an ARN."""
    resource = _pair(raw, "Resource", path)
    if resource is None:
        if kind is PolicyKind.TRUST:
            return None
        raise _Invalid("statement is missing Resource or NotResource", path)
    res_path = (*path, "NotResource" if resource[1] else "Resource")
    if kind is PolicyKind.TRUST:
        raise _Invalid(f"a trust policy has no {res_path[-1]} element", res_path, at_key=True)
    texts = _strings(resource[0], res_path, "Resource")
    for i, text in enumerate(texts):
        if text != "*" and not (text.startswith("arn:") and text.count(":") >= 5):
            raise _Invalid(
                f'resource {text!r} must be "*" or an ARN (arn:partition:service:region:'
                "account:resource)",
                (*res_path, i) if isinstance(resource[0], list) else res_path,
            )
    return tuple(make_value(r, variables) for r in texts)


def _check_dates(block: Mapping[str, Any], path: Path) -> None:
    """Date operators take ISO 8601 dates or epoch seconds; anything else is a policy error
    (reference_policies_elements_condition_operators.html#Conditions_Date).  A policy
    variable is resolved at request time, so it is not checked here."""
    for op_name, keys in block.items():
        base = op_name.rpartition(":")[2].lower()
        if not base.startswith("date") or not isinstance(keys, dict):
            continue
        for key, raw in keys.items():
            for value in raw if isinstance(raw, list) else [raw]:
                if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                    continue  # reported by _condition_values
                text = str(value)
                when = parse_date(text)
                if "${" not in text and (when is None or not math.isfinite(when)):
                    raise _Invalid(
                        f"{op_name} value {text!r} is not a date (ISO 8601 or epoch seconds)",
                        (*path, op_name, key),
                    )


def _policy(doc: Any, label: str, kind: PolicyKind) -> Policy:
    if not isinstance(doc, dict):
        raise _Invalid("a policy must be a JSON object", ())
    for name in doc:
        if name not in _POLICY_FIELDS:
            raise _Invalid(f"unknown policy element {name!r}", (name,), at_key=True)
    version = doc.get("Version", VERSION_2008)
    if version not in (VERSION_2012, VERSION_2008):
        raise _Invalid(
            f"Version must be {VERSION_2012!r} or {VERSION_2008!r}, not {version!r}", ("Version",)
        )
    if "Statement" not in doc:
        raise _Invalid("policy is missing Statement", ())
    raw = doc["Statement"]
    statements = raw if isinstance(raw, list) else [raw]
    single = not isinstance(raw, list)
    variables = version == VERSION_2012
    parsed = tuple(
        _statement(s, i, ("Statement",) if single else ("Statement", i), variables, kind)
        for i, s in enumerate(statements)
    )
    seen: set[str] = set()
    for stmt in parsed:
        if stmt.sid:
            if stmt.sid in seen:
                where: Path = ("Statement",) if single else ("Statement", stmt.index, "Sid")
                raise _Invalid(f"duplicate Sid {stmt.sid!r}: Sids must be unique", where)
            seen.add(stmt.sid)
    pid = doc.get("Id")
    return Policy(
        version=version, statements=parsed, id=pid if isinstance(pid, str) else None, label=label
    )


class _Pairs(dict[str, Any]):
    """A decoded JSON object that remembers the first key it saw twice."""

    duplicate: str | None = None


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs()
    for key, value in items:
        if key in out and out.duplicate is None:
            out.duplicate = key
        out[key] = value
    return out


def _find_duplicate(value: Any, path: Path) -> Path | None:
    """The path of the first duplicated key in a document decoded with :func:`_pairs`
    (iterative: the document may nest as deep as the decoder allowed)."""
    stack: list[tuple[Any, Path]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, _Pairs):
            if node.duplicate is not None:
                return (*where, node.duplicate)
            stack.extend((v, (*where, k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(node))))
    return None


def decode_policy_text(text: str, source: str | None = None) -> Any:
    """``json.loads`` for a policy: syntax errors, duplicate keys and nesting beyond what the
    decoder can hold become InputError with line and column, never a RecursionError."""
    try:
        doc = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError:
        return decode_json(text, "policy", source)  # the project's own syntax-error message
    except RecursionError:
        raise InputError("policy nests too deeply to be a policy", path=source) from None
    dup = _find_duplicate(doc, ())
    if dup is not None:
        line, column = Positions(text).line_col(dup, key=True)
        raise InputError(
            f"duplicate key {dup[-1]!r} (at {'/'.join(str(p) for p in dup)}): which value "
            "AWS reads is undefined, so the document is rejected",
            path=source,
            line=line,
            column=column,
        )
    return doc


def parse_policy(
    doc: Any,
    *,
    label: str = "",
    source: str | None = None,
    kind: PolicyKind = PolicyKind.IDENTITY,
) -> Policy:
    """Normalise an already-decoded policy document.  Errors name the JSON path."""
    try:
        return _policy(doc, label, kind)
    except _Invalid as exc:
        where = "/".join(str(p) for p in exc.path)
        problem = f"{exc.problem} (at {where})" if where else exc.problem
        raise InputError(problem, path=source) from None


def parse_policy_text(
    text: str,
    *,
    label: str = "",
    source: str | None = None,
    kind: PolicyKind = PolicyKind.IDENTITY,
) -> Policy:
    """Parse policy JSON text; syntax and validation errors carry line and column."""
    doc = decode_policy_text(text, source)
    try:
        return _policy(doc, label, kind)
    except _Invalid as exc:
        line, column = Positions(text).line_col(exc.path, key=exc.at_key)
        where = "/".join(str(p) for p in exc.path)
        problem = f"{exc.problem} (at {where})" if where else exc.problem
        raise InputError(problem, path=source, line=line, column=column) from None


def parse_policy_any(
    doc: Any,
    *,
    label: str = "",
    source: str | None = None,
    kind: PolicyKind = PolicyKind.IDENTITY,
) -> Policy:
    """Accept a decoded document or JSON text (AWS returns both, e.g. SCP ``Content``)."""
    if isinstance(doc, str):
        return parse_policy_text(doc, label=label, source=source, kind=kind)
    return parse_policy(doc, label=label, source=source, kind=kind)
