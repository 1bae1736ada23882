"""Principals and their effective policy sets, built from a snapshot's IAM resources.

Input is AWS's GetAccountAuthorizationDetails data as stored in the snapshot (types
``iam:user``, ``iam:group``, ``iam:role``, ``iam:policy``; see docs/ARCHITECTURE.md).  Each
user carries its own inline and attached policies *and* those of every group it belongs to,
each labelled with how it reaches the user, so a finding can say "through group
DataScientists".  Only the *default* version of a managed policy counts: the other versions
are stored but inert (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html).
Service-linked roles are skipped: SCPs never restrict them and no customer controls their
policies.

A policy that cannot be resolved (attached but absent from the snapshot, or invalid) is
recorded on the principal as *unresolved*: it might grant anything, so the path analysis
reports such a principal as undecided instead of guessing "no path".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.errors import InputError
from scanner.iam.evaluator import is_service_linked_role_arn
from scanner.iam.policy import Effect, Policy, PolicyKind, parse_policy_any
from scanner.model.snapshot import Snapshot


@dataclass(frozen=True)
class AttachedPolicy:
    """One policy as it reaches a principal.

    ``via`` is ``"user"``, ``"role"`` or ``"group:NAME"``; ``kind`` is ``"inline"`` or
    ``"managed"``; ``name`` is the inline policy name or the managed policy ARN.
    """

    policy: Policy
    via: str
    kind: str
    name: str

    @property
    def label(self) -> str:
        where = f"group {self.via[6:]}" if self.via.startswith("group:") else self.via
        return f"{self.kind} policy {self.name} (via {where})"


@dataclass(frozen=True)
class Principal:
    """An IAM user or role with everything needed to evaluate its requests."""

    arn: str
    account_id: str
    kind: str  # "user" | "role"
    name: str
    unique_id: str | None
    tags: Mapping[str, str]
    policies: tuple[AttachedPolicy, ...]
    boundary: Policy | None = None
    boundary_arn: str | None = None
    unresolved: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    # A role whose trust policy allows sts:TagSession: whoever assumes it may pass session
    # tags, which override the role's own tags in aws:PrincipalTag/*, so those keys are the
    # caller's to choose, not fixed by the inventory.
    session_tags_settable: bool = False


@dataclass
class Inventory:
    """Every principal of the scanned accounts, plus problems met while building them."""

    principals: list[Principal] = field(default_factory=list)
    managed: dict[str, Policy] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def default_version_document(data: Mapping[str, Any]) -> Any | None:
    """The document of a managed policy's default version (GAAD ``Policies`` item)."""
    default_id = data.get("DefaultVersionId")
    for version in data.get("PolicyVersionList") or []:
        if version.get("IsDefaultVersion") or (
            default_id is not None and version.get("VersionId") == default_id
        ):
            return version.get("Document")
    return None


def tags_of(data: Mapping[str, Any]) -> dict[str, str]:
    """AWS's ``Tags`` list (``[{Key, Value}]``, as IAM and SageMaker return it) as a dict."""
    return {t["Key"]: t.get("Value", "") for t in data.get("Tags") or [] if "Key" in t}


class _Builder:
    def __init__(self, inventory: Inventory) -> None:
        self.inv = inventory

    def parse(self, doc: Any, label: str) -> Policy | None:
        try:
            return parse_policy_any(doc, label=label)
        except InputError as exc:
            self.inv.problems.append(f"{label}: {exc.problem}")
            return None

    def attach(
        self, data: Mapping[str, Any], inline_key: str, via: str, owner: str
    ) -> tuple[list[AttachedPolicy], list[str]]:
        """Inline and managed policies of one user, group or role."""
        out: list[AttachedPolicy] = []
        unresolved: list[str] = []
        for inline in data.get(inline_key) or []:
            name = inline.get("PolicyName", "?")
            label = f"{owner}/{name}"
            policy = self.parse(inline.get("PolicyDocument"), label)
            if policy is None:
                unresolved.append(label)
            else:
                out.append(AttachedPolicy(policy, via, "inline", name))
        for managed in data.get("AttachedManagedPolicies") or []:
            arn = managed.get("PolicyArn", "?")
            policy = self.inv.managed.get(arn)
            if policy is None:
                unresolved.append(arn)
            else:
                out.append(AttachedPolicy(policy, via, "managed", arn))
        return out, unresolved


def build_inventory(snapshot: Snapshot, accounts: Iterable[str] | None = None) -> Inventory:
    """Principals (users with their groups' policies, roles; no service-linked roles)."""
    inv = Inventory()
    builder = _Builder(inv)
    wanted = set(accounts) if accounts is not None else None
    for res in snapshot.iter_resources("iam:policy"):
        if wanted is not None and res.account_id not in wanted:
            continue
        doc = default_version_document(res.data)
        policy = builder.parse(doc, res.id) if doc is not None else None
        if policy is not None:
            inv.managed[res.id] = policy
        elif doc is None:
            inv.problems.append(f"{res.id}: no default policy version in the snapshot")
    groups: dict[tuple[str, str], Mapping[str, Any]] = {}
    for res in snapshot.iter_resources("iam:group"):
        groups[(res.account_id, res.data.get("GroupName", ""))] = res.data
    # A group's policies, resolved on its first member and shared by the rest: parsed once,
    # a broken one reported once, and one Policy object for the path analysis to index.
    resolved: dict[tuple[str, str], tuple[list[AttachedPolicy], list[str]]] = {}

    for res in snapshot.iter_resources("iam:user"):
        if wanted is not None and res.account_id not in wanted:
            continue
        data = res.data
        policies, unresolved = builder.attach(data, "UserPolicyList", "user", res.id)
        names = tuple(data.get("GroupList") or [])
        for group_name in names:
            key = (res.account_id, group_name)
            group = groups.get(key)
            if group is None:
                unresolved.append(f"group {group_name}")
                continue
            if key not in resolved:
                resolved[key] = builder.attach(
                    group, "GroupPolicyList", f"group:{group_name}", group.get("Arn", group_name)
                )
            more, missing = resolved[key]
            policies += more
            unresolved += missing
        inv.principals.append(
            _principal(builder, res.id, res.account_id, "user", data, policies, unresolved, names)
        )

    for res in snapshot.iter_resources("iam:role"):
        if wanted is not None and res.account_id not in wanted:
            continue
        data = res.data
        if is_service_linked_role_arn(res.id) or str(data.get("Path", "")).startswith(
            "/aws-service-role/"
        ):
            continue
        policies, unresolved = builder.attach(data, "RolePolicyList", "role", res.id)
        inv.principals.append(
            _principal(builder, res.id, res.account_id, "role", data, policies, unresolved, ())
        )
    return inv


def _principal(
    builder: _Builder,
    arn: str,
    account: str,
    kind: str,
    data: Mapping[str, Any],
    policies: list[AttachedPolicy],
    unresolved: list[str],
    groups: tuple[str, ...],
) -> Principal:
    trust_problem = _trust_problem(data) if kind == "role" else None
    if trust_problem is not None:
        # AWS never stores an invalid trust policy, so this snapshot was edited or damaged:
        # who may assume the role (and with which session tags) is unknown, so the role's
        # analysis is undecided rather than decided from a guess.
        builder.inv.problems.append(f"{arn} trust policy: {trust_problem}")
        unresolved.append(f"{arn} trust policy")
    boundary_arn = (data.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    boundary = None
    if boundary_arn:
        boundary = builder.inv.managed.get(boundary_arn)
        if boundary is None:
            unresolved.append(f"permissions boundary {boundary_arn}")
    return Principal(
        arn=arn,
        account_id=account,
        kind=kind,
        name=data.get("UserName") or data.get("RoleName") or arn.rsplit("/", 1)[-1],
        unique_id=data.get("UserId") or data.get("RoleId"),
        tags=tags_of(data),
        policies=tuple(policies),
        boundary=boundary,
        boundary_arn=boundary_arn,
        unresolved=tuple(unresolved),
        groups=groups,
        session_tags_settable=kind == "role" and _trust_allows_tag_session(data),
    )


def _trust_problem(data: Mapping[str, Any]) -> str | None:
    """Why the role's trust policy is invalid, or None when it is valid (or absent)."""
    document = data.get("AssumeRolePolicyDocument")
    if document is None:
        return None
    try:
        parse_policy_any(document, label="trust policy", kind=PolicyKind.TRUST)
    except InputError as exc:
        return exc.problem
    return None


def _trust_allows_tag_session(data: Mapping[str, Any]) -> bool:
    """True when the role's trust policy allows ``sts:TagSession`` to anyone.

    An unreadable trust policy counts as allowing it: assuming callers can set tags can only
    add paths, so the conservative reading never hides one.
    """
    document = data.get("AssumeRolePolicyDocument")
    if document is None:
        return False
    try:
        trust = parse_policy_any(document, label="trust policy", kind=PolicyKind.TRUST)
    except InputError:
        return True
    return any(
        stmt.effect is Effect.ALLOW and stmt.matches_action("sts:TagSession")
        for stmt in trust.statements
    )
