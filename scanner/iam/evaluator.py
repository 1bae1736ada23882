"""The decision: AWS's documented policy evaluation logic, one request at a time.

Order (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):

1. An explicit ``Deny`` in any applicable policy wins: identity, resource (when its Principal
   names the caller), permissions boundary, session policy, or an SCP that applies.
2. SCPs, when an organization applies: every level of the path from the root to the account
   must have a matching ``Allow``; a level without one is an implicit deny.  SCPs never affect
   the management account nor service-linked roles
   (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html).
3. Resource-based policies.  Within one account an allow from either the identity side or the
   resource side suffices
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html),
   with the nuance documented for boundaries and session policies
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html,
   https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session):
   a resource policy naming the *role session ARN* directly is not limited by an implicit
   deny in identity policies, boundaries or session policies; one naming the *IAM user ARN* is
   not limited by identity policies or the boundary, but its permissions are added before the
   session is created, so a session policy still limits them; one naming the *role ARN* (or
   everyone, ``"*"``, whatever ``aws:PrincipalArn`` condition narrows it: the condition selects
   callers, it does not name the session) is limited by the boundary and the session policy.  A resource
   policy naming only the *account* delegates to the account's identity policies and grants
   nothing by itself.  Across accounts both sides must allow
   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
4. Permissions boundaries intersect with identity policies and never grant.
5. Session policies intersect likewise.
6. Identity policies.
7. Otherwise an implicit deny.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.iam.policy import Effect, Policy, PrincipalSpec, Statement

ALLOWED = "allowed"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"
INVALID = "invalid"

_ACCOUNT_ROOT = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):root$")
_ASSUMED = re.compile(r"^arn:(aws[\w-]*):sts::(\d{12}):assumed-role/([^/]+)/.+$")


def make_context(raw: Mapping[str, str | Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    """Normalise a request context: keys lower-cased (keys are case-insensitive), values tuples."""
    out: dict[str, tuple[str, ...]] = {}
    for key, value in (raw or {}).items():
        out[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
    return out


def is_service_linked_role_arn(arn: str) -> bool:
    """Service-linked roles live under the path ``/aws-service-role/``."""
    return ":role/aws-service-role/" in arn


@dataclass(frozen=True)
class Request:
    """One API request as the evaluator sees it.  ``context`` keys are lower-case."""

    principal: str
    principal_account: str
    action: str
    resource: str
    resource_account: str | None = None
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    is_management_account: bool = False
    is_service_linked_role: bool = False

    @property
    def target_account(self) -> str:
        return self.resource_account or self.principal_account

    @property
    def scp_exempt(self) -> bool:
        return (
            self.is_management_account
            or self.is_service_linked_role
            or (is_service_linked_role_arn(self.principal))
        )


@dataclass(frozen=True)
class PolicySet:
    """Every policy that bears on one request.

    ``scps`` is the organization path, one tuple of policies per level (root, OUs, account);
    empty means no organization applies.  Non-empty ``boundaries`` / ``session`` apply.
    """

    identity: tuple[Policy, ...] = ()
    resource: tuple[Policy, ...] = ()
    boundaries: tuple[Policy, ...] = ()
    session: tuple[Policy, ...] = ()
    scps: tuple[tuple[Policy, ...], ...] = ()


@dataclass(frozen=True)
class StatementRef:
    """Names one statement that took part in a decision."""

    kind: str  # identity | resource | boundary | session | scp
    policy_index: int
    statement_index: int
    sid: str | None
    effect: str
    policy_label: str = ""
    level: int | None = None  # SCP level (0 = root)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "policy_index": self.policy_index,
            "statement_index": self.statement_index,
            "sid": self.sid,
            "effect": self.effect,
        }
        if self.policy_label:
            out["policy"] = self.policy_label
        if self.level is not None:
            out["level"] = self.level
        return out


@dataclass(frozen=True)
class Decision:
    """The outcome and the statements that decided it."""

    decision: str
    summary: str
    statements: tuple[StatementRef, ...] = ()

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED

    @property
    def reason(self) -> dict[str, Any]:
        return {"summary": self.summary, "statements": [s.to_dict() for s in self.statements]}


def _applies(stmt: Statement, req: Request, action: str) -> bool:
    return (
        stmt.matches_action(action)
        and stmt.matches_resource(req.resource, req.context)
        and stmt.conditions_hold(req.context)
    )


def _ref(
    kind: str, index: int, policy: Policy, stmt: Statement, level: int | None = None
) -> StatementRef:
    return StatementRef(kind, index, stmt.index, stmt.sid, str(stmt.effect), policy.label, level)


def matching(
    kind: str, policies: Sequence[Policy], req: Request, effect: Effect, level: int | None = None
) -> list[StatementRef]:
    """Statements of ``effect`` in ``policies`` that apply to the request (no principal check)."""
    action = req.action.lower()
    return [
        _ref(kind, i, p, s, level)
        for i, p in enumerate(policies)
        for s in p.statements
        if s.effect is effect and _applies(s, req, action)
    ]


def principal_match(
    spec: PrincipalSpec | None, negated: bool, req: Request, has_boundary: bool = False
) -> str | None:
    """How a resource-policy Principal names the caller: user, session, role, everyone,
    account; or None when it does not.  NotPrincipal names everyone it does not exempt."""
    if spec is None:
        return None
    if negated:
        return None if _not_principal_exempts(spec, req, has_boundary) else "everyone"
    return _principal_kind(spec, req)


def _not_principal_exempts(spec: PrincipalSpec, req: Request, has_boundary: bool) -> bool:
    """Is the caller among those a ``Deny`` + ``NotPrincipal`` spares?

    A principal with a permissions boundary is *always* denied, whatever the list says
    (access_policies_boundaries.html, reference_policies_elements_notprincipal.html).
    Otherwise the caller is spared when the list names it, its role (for a role session) or
    its account.  The NotPrincipal page says that without the account ARN the policy
    "might" deny the whole account, depending on the service; that is not a rule we can
    apply, and the stricter reading would turn an uncertain deny into "no access path"
    (a PASS the scanner could not defend), so the listed principal is spared.
    """
    if has_boundary and not spec.everyone and req.principal not in spec.service:
        return False
    return _principal_kind(spec, req) is not None


def _account_of(entry: str) -> str | None:
    """The account an account principal (root ARN or bare id) stands for; None otherwise."""
    root = _ACCOUNT_ROOT.match(entry)
    return root.group(1) if root else (entry if re.fullmatch(r"\d{12}", entry) else None)


def _principal_kind(spec: PrincipalSpec, req: Request) -> str | None:
    caller = req.principal
    if caller in spec.service:
        return "service"
    assumed = _ASSUMED.match(caller)
    best: str | None = "everyone" if spec.everyone else None
    for entry in spec.aws:
        if entry == caller:
            if assumed:
                return "session"
            return "user" if ":user/" in caller else "role"
        if (
            assumed
            and entry.startswith(f"arn:{assumed.group(1)}:iam::{assumed.group(2)}:role/")
            and entry.rsplit("/", 1)[-1] == assumed.group(3)
        ):
            best = "role"
        if _account_of(entry) == req.principal_account and best is None:
            best = "account"
    return best


def _resource_statements(
    policies: Sequence[Policy], req: Request, effect: Effect, has_boundary: bool = False
) -> list[tuple[StatementRef, str]]:
    action = req.action.lower()
    out: list[tuple[StatementRef, str]] = []
    for i, p in enumerate(policies):
        for s in p.statements:
            if s.effect is not effect:
                continue
            how = principal_match(s.principal, s.not_principal, req, has_boundary)
            if how is not None and _applies(s, req, action):
                out.append((_ref("resource", i, p, s), how))
    return out


def evaluate(req: Request, policies: PolicySet) -> Decision:
    """Decide one request exactly as AWS's documented evaluation logic does."""
    scps_apply = bool(policies.scps) and not req.scp_exempt

    # 1. Explicit deny anywhere.
    denies = (
        matching("identity", policies.identity, req, Effect.DENY)
        + [
            r
            for r, _ in _resource_statements(
                policies.resource, req, Effect.DENY, bool(policies.boundaries)
            )
        ]
        + matching("boundary", policies.boundaries, req, Effect.DENY)
        + matching("session", policies.session, req, Effect.DENY)
    )
    if scps_apply:
        for level, scps in enumerate(policies.scps):
            denies += matching("scp", scps, req, Effect.DENY, level)
    if denies:
        return Decision(EXPLICIT_DENY, "an explicit Deny applies", tuple(denies))

    # 2. Every SCP level must allow.
    scp_allows: list[StatementRef] = []
    if scps_apply:
        for level, scps in enumerate(policies.scps):
            found = matching("scp", scps, req, Effect.ALLOW, level)
            if not found:
                return Decision(
                    IMPLICIT_DENY, f"no SCP at organization level {level} allows the action"
                )
            scp_allows += found[:1]

    identity = matching("identity", policies.identity, req, Effect.ALLOW)
    resource = _resource_statements(policies.resource, req, Effect.ALLOW)
    boundary = matching("boundary", policies.boundaries, req, Effect.ALLOW)
    session = matching("session", policies.session, req, Effect.ALLOW)
    boundary_ok = not policies.boundaries or bool(boundary)
    session_ok = not policies.session or bool(session)
    limits = boundary[:1] + session[:1] + scp_allows

    same_account = req.target_account == req.principal_account
    if same_account:
        # 3. Resource policies: naming the session directly is unlimited by implicit denies
        # elsewhere; naming the user escapes identity policies and the boundary but not a
        # session policy; naming the role (or everyone) is limited by boundary and session
        # policy; naming the account only delegates to identity policies.
        direct = [r for r, how in resource if how == "session" or (how == "user" and session_ok)]
        if direct:
            return Decision(
                ALLOWED,
                "a resource-based policy names the caller directly",
                (direct[0], *scp_allows),
            )
        granting = [r for r, how in resource if how in ("role", "everyone", "service")]
        if granting and boundary_ok and session_ok:
            return Decision(
                ALLOWED, "a resource-based policy allows the caller", (granting[0], *limits)
            )
    else:
        granting = [r for r, _ in resource]
        if not granting:
            return Decision(
                IMPLICIT_DENY,
                "cross-account access needs the resource-based "
                "policy to allow the caller, and none does",
            )
    # 4-6. Identity policies within the boundary and the session policy.
    if not identity:
        return Decision(IMPLICIT_DENY, "no identity-based policy allows the action")
    if not boundary_ok:
        return Decision(
            IMPLICIT_DENY,
            "the permissions boundary does not allow the action "
            "(a boundary never grants; it limits identity-based policies)",
        )
    if not session_ok:
        return Decision(IMPLICIT_DENY, "the session policy does not allow the action")
    if same_account:
        return Decision(
            ALLOWED, "an identity-based policy allows the action", (identity[0], *limits)
        )
    return Decision(
        ALLOWED,
        "both the identity-based and the resource-based policy allow the cross-account request",
        (identity[0], granting[0], *limits),
    )
