"""``sts:AssumeRole`` judged as AWS judges it, for moto's server.

Why this exists: moto 5.2.5's ``AssumeRole`` succeeds for *any* role ARN.  Its backend says
so ("the role does not need to exist"): it neither looks the role up nor reads its trust
policy, and hands out credentials for the ARN's account whatever the caller and
``ExternalId``.  Real AWS answers ``AccessDenied`` (HTTP 403) when the role does not exist
or its trust policy does not let the caller in, with one message for both cases, so a
caller cannot tell which::

    User: arn:aws:iam::111111111111:user/x is not authorized to perform: sts:AssumeRole
    on resource: arn:aws:iam::222222222222:role/Name

An organization scan reaches each member account by assuming a role in it, and must report
an account whose role cannot be assumed; without this module that path cannot be tested
against moto at all.  Nothing in the scanner knows about it:
:func:`scanner.demo.server.start_moto` calls :func:`install` before the server starts, and
the scanner keeps talking plain HTTP to it.

What is judged (everything else goes to moto's own ``AssumeRole`` unchanged):

- The role must exist: it is looked up by its ARN (path included) in the IAM backend of the
  ARN's account and partition.
- Its trust policy must have an ``Allow`` statement for ``sts:AssumeRole`` whose principal
  is the caller and whose conditions hold, and no such ``Deny``.  The caller is who
  ``GetCallerIdentity`` says the request's access key is (moto's default credentials are
  ``arn:aws:sts::123456789012:user/moto``; an assumed role's keys are its session).
  ``Principal`` shapes: ``"*"``/``{"AWS": "*"}``; ``{"AWS": ...}`` naming an account id,
  ``arn:aws:iam::ACCT:root`` (any principal of that account), a user ARN, a role ARN (any
  session of that role) or an assumed-role session ARN; ``NotPrincipal``.  ``Action`` and
  ``NotAction`` with IAM's ``*``/``?`` wildcards, case-insensitive.
- Conditions: ``StringEquals`` and ``StringLike`` on ``sts:ExternalId``.  A key missing
  from the request fails its condition, as in AWS, so a role that requires an ExternalId
  refuses a request without one.  Any other operator or key is not understood here; such a
  statement fails closed: an ``Allow`` grants nothing and a ``Deny`` denies.

Not judged: the caller's own identity policies (AWS also needs ``sts:AssumeRole`` allowed
to the caller; moto's default credentials belong to no IAM user and carry no policy), SCPs,
session policies, ``DurationSeconds`` against the role's ``MaxSessionDuration``, MFA.

How: :func:`install` wraps moto's ``TokenResponse.assume_role``; a denied request is
answered with the STS query-protocol error document (``ErrorResponse`` / ``Error`` with
``Type`` Sender, ``Code`` AccessDenied, ``Message``; moto fills in the ``RequestId``) and
status 403, which botocore raises as ``ClientError`` with ``Error.Code == "AccessDenied"``.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

_INSTALLED_MARK = "_privatelink_scanner_sts_installed"
_INSTALL_LOCK = threading.Lock()

ACTION = "sts:AssumeRole"
STS_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"

_ROLE_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?P<path>.+)$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:[\w-]+:iam::(?P<account>\d{12}):root$")
_USER_ARN = re.compile(r"^arn:[\w-]+:(?:iam|sts)::(?P<account>\d{12}):user/(?P<rest>.+)$")
_SESSION_ARN = re.compile(
    r"^arn:[\w-]+:sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)

# Condition operators understood here -> does the request's value match the policy's one?
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda actual, wanted: actual == wanted,
    "stringlike": lambda actual, wanted: (
        _glob(wanted, case_sensitive=True).match(actual) is not None
    ),
}
_KEYS = ("sts:externalid",)
"""Condition keys understood here (lower case: IAM condition keys are case-insensitive)."""


@dataclass(frozen=True)
class Caller:
    """Who sends the AssumeRole: the account and ARN ``GetCallerIdentity`` reports."""

    account: str
    arn: str


@dataclass(frozen=True)
class Request:
    """What the trust policy is judged against."""

    caller: Caller
    external_id: str | None = None


def _glob(pattern: str, *, case_sensitive: bool) -> re.Pattern[str]:
    """IAM's ``*``/``?`` wildcards (``[`` is literal in IAM, unlike fnmatch)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(rf"\A{regex}\Z", re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def _strings(value: Any) -> list[str]:
    """A policy field that is one string or a list of them, as a list."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def principal_matches(value: str, caller: Caller) -> bool:
    """Whether one ``Principal.AWS`` entry names ``caller``."""
    if value == "*":
        return True
    if _ACCOUNT_ID.match(value):
        return caller.account == value
    root = _ROOT_ARN.match(value)
    if root:
        return caller.account == root["account"]
    role = _ROLE_ARN.match(value)
    if role:  # any session of the role: AWS matches the session's role, not its path
        session = _SESSION_ARN.match(caller.arn)
        return bool(
            session
            and session["account"] == role["account"]
            and session["role"] == role["path"].rsplit("/", 1)[-1]
        )
    user = _USER_ARN.match(value)
    if user:  # moto reports its default identity as arn:aws:sts::ACCT:user/moto
        mine = _USER_ARN.match(caller.arn)
        return bool(mine and (mine["account"], mine["rest"]) == (user["account"], user["rest"]))
    return value == caller.arn


def _principal(statement: Mapping[str, Any], key: str, caller: Caller) -> bool:
    principal = statement.get(key)
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    return any(principal_matches(v, caller) for v in _strings(principal.get("AWS")))


def _action(statement: Mapping[str, Any]) -> bool:
    if "Action" in statement:
        actions = _strings(statement["Action"])
        return any(_glob(a, case_sensitive=False).match(ACTION) for a in actions)
    excluded = _strings(statement.get("NotAction"))
    return bool(excluded) and not any(
        _glob(a, case_sensitive=False).match(ACTION) for a in excluded
    )


def conditions_hold(condition: Any, request: Request) -> bool | None:
    """Whether every condition holds; ``None`` when one is not understood here."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return None
    context = {"sts:externalid": request.external_id}
    verdict = True
    for operator, tests in condition.items():
        compare = _OPERATORS.get(str(operator).lower())
        if compare is None or not isinstance(tests, Mapping):
            return None
        for key, wanted in tests.items():
            name = str(key).lower()
            if name not in _KEYS:
                return None
            actual = context[name]
            # A key absent from the request fails the condition (no ...IfExists here).
            if actual is None or not any(compare(actual, w) for w in _strings(wanted)):
                verdict = False
    return verdict


def _statements(document: Any) -> Iterable[Mapping[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:  # a URL-encoded document, as IAM returns them
            document = json.loads(urllib.parse.unquote(document))
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    if isinstance(statements, Mapping):
        statements = [statements]
    return [s for s in statements if isinstance(s, Mapping)]


def trust_allows(document: Any, request: Request) -> bool:
    """Whether the trust policy ``document`` (JSON text or parsed) lets ``request`` assume
    the role: an applicable Allow and no applicable Deny (module docstring)."""
    allowed = False
    for statement in _statements(document):
        if "Principal" in statement:
            names_caller = _principal(statement, "Principal", request.caller)
        elif "NotPrincipal" in statement:
            names_caller = not _principal(statement, "NotPrincipal", request.caller)
        else:
            names_caller = False
        if not (names_caller and _action(statement)):
            continue
        holds = conditions_hold(statement.get("Condition"), request)
        if statement.get("Effect") == "Deny":
            if holds is not False:  # a Deny this module cannot read fails closed
                return False
        elif statement.get("Effect") == "Allow" and holds is True:
            allowed = True
    return allowed


def _role(role_arn: str) -> Any | None:
    """moto's Role at ``role_arn`` (path included), or None."""
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.match(role_arn)
    if match is None:
        return None
    backend = iam_backends[match["account"]][match["partition"]]
    # A copy: another request thread may be creating roles in this account meanwhile.
    for role in list(backend.roles.values()):
        if role.arn == role_arn:
            return role
    return None


def _caller(response: Any) -> Caller:
    _user_id, arn, account = response.backend.get_caller_identity(
        response.get_access_key(), response.region
    )
    return Caller(account=str(account), arn=str(arn))


def access_denied(caller: Caller, role_arn: str) -> tuple[str, dict[str, Any]]:
    """AWS's AccessDenied for AssumeRole: query-protocol XML, HTTP 403 (moto fills in the
    RequestId)."""
    message = f"User: {caller.arn} is not authorized to perform: {ACTION} on resource: {role_arn}"
    body = (
        f'<ErrorResponse xmlns="{STS_NAMESPACE}"><Error><Type>Sender</Type>'
        f"<Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return body, {"status": 403, "Content-Type": "text/xml"}


def judged(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """moto's ``TokenResponse.assume_role``, answering AccessDenied first where AWS would."""

    def assume_role(self: Any) -> Any:
        role_arn = str(self._get_param("RoleArn"))
        caller = _caller(self)
        role = _role(role_arn)
        request = Request(caller=caller, external_id=self._get_param("ExternalId"))
        if role is None or not trust_allows(role.assume_role_policy_document, request):
            return access_denied(caller, role_arn)
        return original(self)

    assume_role.__wrapped__ = original  # type: ignore[attr-defined]
    return assume_role


def install() -> None:
    """Wrap moto's ``TokenResponse.assume_role`` with the trust check.

    Idempotent: a second call changes nothing.  Call it before the server handles a request.
    """
    from moto.sts.responses import TokenResponse

    with _INSTALL_LOCK:
        if getattr(TokenResponse, _INSTALLED_MARK, False):
            return
        setattr(TokenResponse, "assume_role", judged(TokenResponse.assume_role))  # noqa: B010
        setattr(TokenResponse, _INSTALLED_MARK, True)
