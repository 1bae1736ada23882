"""The case-file format of ``scanner iam evaluate`` (issue #3 §1) and its evaluation.

A case file is ``{"cases": [case, ...]}``; each case gives a request, the policies in play and
optionally the ``expected`` decision.  A case whose *policies* are invalid is answered with
decision ``invalid`` and the error (the file is still fine); a file that is not JSON, or not in
this format, raises :class:`InputError` with the line and column.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.errors import InputError, decode_json
from scanner.iam.evaluator import (
    INVALID,
    Decision,
    PolicySet,
    Request,
    evaluate,
    make_context,
)
from scanner.iam.jsonpos import Path as JsonPath
from scanner.iam.jsonpos import Positions
from scanner.iam.policy import Policy, PolicyKind, parse_policy_any

DECISIONS = ("allowed", "explicit_deny", "implicit_deny", "invalid")
_POLICY_LISTS = (
    "identity_policies",
    "resource_policies",
    "permission_boundaries",
    "session_policies",
)
_KINDS = (PolicyKind.IDENTITY, PolicyKind.RESOURCE, PolicyKind.BOUNDARY, PolicyKind.SESSION)


class _Shape(Exception):
    def __init__(self, problem: str, path: JsonPath) -> None:
        super().__init__(problem)
        self.problem, self.path = problem, path


def _string(obj: dict[str, Any], key: str, path: JsonPath, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise _Shape(f"{key} must be a non-empty string", (*path, key))
    return value


def _request(raw: Any, path: JsonPath) -> Request:
    if not isinstance(raw, dict):
        raise _Shape("request must be an object", path)
    principal = _string(raw, "principal", path)
    assert principal is not None
    account = _string(raw, "principal_account", path, required=False)
    if account is None:
        parts = principal.split(":")
        if len(parts) < 5 or not parts[4]:
            raise _Shape(
                "principal_account is missing and the principal is not an ARN", (*path, "principal")
            )
        account = parts[4]
    context = raw.get("context", {})
    if not isinstance(context, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in context.values()
    ):
        raise _Shape("context must map keys to strings or lists of strings", (*path, "context"))
    for flag in ("is_management_account", "is_service_linked_role"):
        if not isinstance(raw.get(flag, False), bool):
            raise _Shape(f"{flag} must be true or false", (*path, flag))
    return Request(
        principal=principal,
        principal_account=account,
        action=_string(raw, "action", path) or "",
        resource=_string(raw, "resource", path) or "",
        resource_account=_string(raw, "resource_account", path, required=False) or account,
        context=make_context(context),
        is_management_account=raw.get("is_management_account", False),
        is_service_linked_role=raw.get("is_service_linked_role", False),
    )


def _policy_list(case: dict[str, Any], key: str, path: JsonPath) -> list[Any]:
    value = case.get(key, [])
    if not isinstance(value, list):
        raise _Shape(f"{key} must be a list of policies", (*path, key))
    return value


def _policies(case: dict[str, Any], path: JsonPath) -> tuple[list[list[Any]], list[list[Any]]]:
    lists = [_policy_list(case, key, path) for key in _POLICY_LISTS]
    scps = _policy_list(case, "scps", path)
    if not all(isinstance(level, list) for level in scps):
        raise _Shape("scps must be a list of levels, each a list of policies", (*path, "scps"))
    return lists, scps


def build_policy_set(lists: list[list[Any]], scps: list[list[Any]]) -> PolicySet:
    """Parse the policies of one case (raises InputError on an invalid policy)."""

    def parse(docs: list[Any], name: str, kind: PolicyKind) -> tuple[Policy, ...]:
        labels = [f"{name}[{i}]" for i in range(len(docs))]
        return tuple(_parse(d, label, kind) for d, label in zip(docs, labels, strict=True))

    identity, resource, boundaries, session = (
        parse(docs, key, kind) for key, docs, kind in zip(_POLICY_LISTS, lists, _KINDS, strict=True)
    )
    return PolicySet(
        identity=identity,
        resource=resource,
        boundaries=boundaries,
        session=session,
        scps=tuple(parse(level, f"scps[{n}]", PolicyKind.SCP) for n, level in enumerate(scps)),
    )


def _parse(doc: Any, label: str, kind: PolicyKind) -> Policy:
    """Parse one policy of a case; the error names which list and entry it came from, so a
    case with several policies says which one AWS would reject."""
    try:
        return parse_policy_any(doc, label=label, kind=kind)
    except InputError as exc:
        raise InputError(f"{label}: {exc.problem}", line=exc.line, column=exc.column) from None


def evaluate_case(case: dict[str, Any], path: JsonPath = ()) -> dict[str, Any]:
    """Evaluate one case (already shape-checked by :func:`evaluate_cases`)."""
    request = _request(case.get("request"), (*path, "request"))
    lists, scps = _policies(case, path)
    result: dict[str, Any] = {"id": case.get("id")}
    try:
        decision: Decision = evaluate(request, build_policy_set(lists, scps))
        result["decision"] = decision.decision
        result["reason"] = decision.reason
    except InputError as exc:
        result["decision"] = INVALID
        result["reason"] = {"summary": "a policy is invalid", "error": exc.problem}
    if "expected" in case:
        result["expected"] = case["expected"]
        result["agrees"] = case["expected"] == result["decision"]
    return result


def evaluate_cases(doc: Any, text: str | None = None, source: str | None = None) -> dict[str, Any]:
    """Evaluate a decoded case document; shape errors become InputError (with position
    when ``text`` is given)."""
    try:
        if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
            raise _Shape('a case file must be an object {"cases": [...]}', ())
        results = []
        for n, case in enumerate(doc["cases"]):
            path: JsonPath = ("cases", n)
            if not isinstance(case, dict):
                raise _Shape("each case must be an object", path)
            _string(case, "id", path)
            expected = case.get("expected")
            if expected is not None and expected not in DECISIONS:
                raise _Shape(f"expected must be one of {', '.join(DECISIONS)}", (*path, "expected"))
            results.append(evaluate_case(case, path))
        return {"results": results}
    except _Shape as exc:
        line, column = Positions(text).line_col(exc.path) if text else (None, None)
        raise InputError(exc.problem, path=source, line=line, column=column) from None


def load_cases_text(path: Path) -> tuple[Any, str]:
    """Read and decode a case file; bad JSON raises InputError with line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read case file: {exc.strerror}", path=str(path)) from None
    return decode_json(text, "case file", str(path)), text


def evaluate_cases_file(path: Path) -> dict[str, Any]:
    """``{"results": [{"id", "decision", "reason", "expected"?, "agrees"?}]}`` for a case file."""
    doc, text = load_cases_text(path)
    return evaluate_cases(doc, text, str(path))


def disagreements(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Results whose decision differs from the case's ``expected`` (for tests and the CLI)."""
    return [r for r in results["results"] if r.get("agrees") is False]
