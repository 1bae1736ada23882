"""Public access paths: can a request that did NOT come through an approved VPC endpoint or VPC
be allowed for principal P, action A, notebook N, and how?

The outside request is modelled existentially (issue #3 §2):

- ``aws:SourceVpce`` and ``aws:SourceVpc`` are both absent (public internet) or both foreign
  (an endpoint in someone else's account, reached with stolen credentials), never approved;
- keys the caller controls or that vary (``aws:SourceIp``, ``aws:UserAgent``,
  ``aws:CurrentTime``, ``aws:RequestedRegion``, ``aws:SecureTransport``, and
  ``aws:MultiFactorAuthPresent`` for users) may take any value;
- keys fixed by the principal or the notebook resolve from the inventory;
- any other key counts as satisfiable, and the path says so (``unmodelled_keys``).

A path exists when *any* such context is allowed by :func:`scanner.iam.evaluator.evaluate`.
Candidate values per key come from :mod:`scanner.iam.candidates` (the policies' own values,
one fresh value and absence), which makes the search finite and exact for string, ARN and IP
operators; a search too large to enumerate is reported as undecided, never as "no path".

Cost follows the statements that match the action: every policy's statements are indexed by
action once, notebooks that every relevant statement treats alike are evaluated once, and
resource-pattern matches are cached across principals.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scanner.iam.candidates import Candidate, key_candidates, network_candidates
from scanner.iam.conditions import Condition
from scanner.iam.evaluator import Decision, PolicySet, Request, evaluate
from scanner.iam.glob import compile_glob
from scanner.iam.inventory import AttachedPolicy, Inventory, Principal
from scanner.iam.policy import Effect, Policy, Statement

VPCE, VPC = "aws:sourcevpce", "aws:sourcevpc"
TAG_PREFIX = "aws:principaltag/"
CALLER_KEYS = frozenset(
    {
        "aws:sourceip",
        "aws:useragent",
        "aws:currenttime",
        "aws:epochtime",
        "aws:requestedregion",
        "aws:securetransport",
        "aws:referer",
    }
)
USER_CALLER_KEYS = frozenset({"aws:multifactorauthpresent", "aws:multifactorauthage"})
RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "sagemaker:resourcetag/")
MAX_COMBINATIONS = 4096
PRINCIPAL_FIXED = frozenset(
    {
        "aws:principalarn",
        "aws:principalaccount",
        "aws:principaltype",
        "aws:principalisawsservice",
        "aws:username",
    }
)
ACCOUNT_FIXED = frozenset(
    {"aws:principalaccount", "aws:principalisawsservice", "aws:principalorgid"}
)
"""Keys every IAM user and role of one account share (kept when analysing "any principal")."""
PRINCIPAL_KEYS = PRINCIPAL_FIXED | {"aws:userid"}
"""Keys a particular principal fixes (its tags, under ``aws:PrincipalTag/``, too)."""


@dataclass(frozen=True)
class Approved:
    """The approved SageMaker endpoints and VPCs (ids as AWS issues them)."""

    vpc_endpoints: frozenset[str] = frozenset()
    vpcs: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Notebook:
    """A notebook instance as the analysis needs it."""

    arn: str
    account_id: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Grant:
    """The statement that grants, and how it reaches the principal."""

    policy: str  # managed policy ARN or inline policy name
    policy_kind: str  # inline | managed
    via: str  # user | role | group:NAME
    statement_index: int
    sid: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "policy_kind": self.policy_kind,
            "via": self.via,
            "statement_index": self.statement_index,
            "sid": self.sid,
        }


@dataclass(frozen=True)
class PublicPath:
    """One way in: who, what, which notebooks, through which grant, in which context.

    Notebooks that every relevant statement treats alike share one path (a role allowed on
    ``*`` has one path naming all its account's notebooks, not hundreds of copies).
    """

    principal_arn: str
    principal_kind: str
    action: str
    notebook_arns: tuple[str, ...]  # every notebook this same grant and context reaches
    grant: Grant
    context: tuple[tuple[str, tuple[str, ...] | None], ...]
    description: str
    remediation: str
    unmodelled_keys: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal_arn,
            "principal_kind": self.principal_kind,
            "action": self.action,
            "notebooks": list(self.notebook_arns),
            "grant": self.grant.to_dict(),
            "context": {k: (list(v) if v is not None else None) for k, v in self.context},
            "description": self.description,
            "remediation": self.remediation,
            "unmodelled_keys": list(self.unmodelled_keys),
        }


@dataclass
class PrincipalAnalysis:
    """The answer for one principal and one action over the notebooks of its account.

    ``undecided`` lists reasons the answer may be incomplete (unresolved policies, a search
    too large); a rule should report ERROR, not PASS, when it is non-empty and no path exists.
    """

    principal: Principal
    action: str
    paths: list[PublicPath] = field(default_factory=list)
    undecided: list[str] = field(default_factory=list)

    @property
    def has_path(self) -> bool:
        return bool(self.paths)

    def paths_to(self, notebook_arn: str) -> list[PublicPath]:
        """The paths that reach one notebook."""
        return [p for p in self.paths if notebook_arn in p.notebook_arns]


def paths_by_notebook(analyses: Iterable[PrincipalAnalysis]) -> dict[str, list[PublicPath]]:
    """Every path, indexed by the notebook it reaches (for per-notebook findings)."""
    out: dict[str, list[PublicPath]] = {}
    for analysis in analyses:
        for path in analysis.paths:
            for arn in path.notebook_arns:
                out.setdefault(arn, []).append(path)
    return out


class _ActionIndex:
    """Statements of one policy indexed by lower-cased action.

    Exact action names go to a dict; wildcard and NotAction statements are checked one by one
    (they are few in practice).  The index is built once per policy object.
    """

    def __init__(self, policy: Policy) -> None:
        self.exact: dict[str, list[Statement]] = {}
        self.other: list[Statement] = []
        for stmt in policy.statements:
            if stmt.not_action or any(not g.is_literal for g in stmt.actions):
                self.other.append(stmt)
            else:
                for text in dict.fromkeys(stmt.action_texts):
                    self.exact.setdefault(text, []).append(stmt)

    def lookup(self, action: str) -> list[Statement]:
        hits = list(self.exact.get(action, ()))
        hits += [s for s in self.other if s.matches_action(action)]
        return sorted(hits, key=lambda s: s.index) if len(hits) > 1 else hits


class PathAnalyzer:
    """Shared caches for analysing many principals against the same notebooks."""

    def __init__(self, notebooks: Sequence[Notebook], approved: Approved) -> None:
        self.notebooks = list(notebooks)
        self.approved = approved
        self._by_account: dict[str, list[Notebook]] = {}
        for nb in self.notebooks:
            self._by_account.setdefault(nb.account_id, []).append(nb)
        self._indexes: dict[int, tuple[Policy, _ActionIndex]] = {}
        self._resource_sets: dict[tuple[tuple[str, ...], bool, str], frozenset[str]] = {}
        self._arns: dict[str, frozenset[str]] = {}

    # -- indexing -----------------------------------------------------------------------
    def relevant(self, policy: Policy, action: str) -> list[Statement]:
        entry = self._indexes.get(id(policy))
        if entry is None or entry[0] is not policy:
            entry = (policy, _ActionIndex(policy))
            self._indexes[id(policy)] = entry
        return entry[1].lookup(action)

    def _matched(self, stmt: Statement, account: str) -> frozenset[str] | None:
        """Notebook ARNs (of ``account``) a statement's resources select; None = all of them."""
        if stmt.resources is None:
            return None
        raws = tuple(v.raw for v in stmt.resources)
        if not stmt.not_resource and "*" in raws:
            return None
        key = (raws, stmt.not_resource, account)
        cached = self._resource_sets.get(key)
        if (
            cached is None
            and not stmt.not_resource
            and all(v.template is None and compile_glob(v.raw).is_literal for v in stmt.resources)
        ):
            arns = self._arns.setdefault(
                account, frozenset(nb.arn for nb in self._by_account.get(account, ()))
            )
            cached = frozenset(raws) & arns
            self._resource_sets[key] = cached
        if cached is None:
            empty: dict[str, tuple[str, ...]] = {}
            cached = frozenset(
                nb.arn
                for nb in self._by_account.get(account, ())
                if stmt.matches_resource(nb.arn, empty)
            )
            self._resource_sets[key] = cached
        return cached

    # -- analysis -----------------------------------------------------------------------
    def analyze(
        self,
        principal: Principal,
        action: str,
        scps: Sequence[Sequence[Policy]] = (),
        *,
        scp_exempt: bool = False,
        org_id: str | None = None,
        any_principal: bool = False,
    ) -> PrincipalAnalysis:
        """Every public path of ``principal`` for ``action`` over its account's notebooks.

        With ``any_principal`` the principal stands for every user and role of its account:
        the keys a real principal fixes (ARN, type, name, tags) range over candidates too, so a
        condition exempting some principal (``ArnNotLike aws:PrincipalArn …/BreakGlass``)
        opens a path instead of passing for the one stand-in that is not exempt."""
        result = PrincipalAnalysis(principal, action)
        if principal.unresolved:
            result.undecided.append(
                "policies not in the snapshot or invalid: " + ", ".join(principal.unresolved)
            )
        act = action.lower()
        notebooks = self._by_account.get(principal.account_id, [])
        identity: list[Policy] = []
        owners: list[AttachedPolicy] = []
        for attached in principal.policies:
            stmts = self.relevant(attached.policy, act)
            if stmts:
                identity.append(_reduced(attached.policy, stmts))
                owners.append(attached)
        if not notebooks or not any(
            s.effect is Effect.ALLOW for p in identity for s in p.statements
        ):
            return result
        boundary: tuple[Policy, ...] = ()
        if principal.boundary is not None:
            boundary = (_reduced(principal.boundary, self.relevant(principal.boundary, act)),)
        scp_levels = (
            ()
            if scp_exempt
            else tuple(tuple(_reduced(p, self.relevant(p, act)) for p in level) for level in scps)
        )
        policy_set = PolicySet(identity=tuple(identity), boundaries=boundary, scps=scp_levels)
        statements = [s for p in _all_policies(policy_set) for s in p.statements]
        search = _Search(principal, statements, self.approved, org_id, any_principal)
        for group in self._groups(statements, notebooks, search):
            found, undecided = search.run(policy_set, action, group[0], scp_exempt)
            if undecided:
                result.undecided.append(undecided)
            for decision, combo in found:
                grant = _grant(decision, owners)
                if grant is None:
                    continue
                stmt = owners[decision.statements[0].policy_index].policy.statements[
                    decision.statements[0].statement_index
                ]
                result.paths.append(
                    PublicPath(
                        principal_arn=principal.arn,
                        principal_kind=principal.kind,
                        action=action,
                        notebook_arns=tuple(nb.arn for nb in group),
                        grant=grant,
                        context=combo,
                        description=_describe(combo),
                        remediation=_remedy(stmt, grant, action, self.approved),
                        unmodelled_keys=search.unmodelled,
                    )
                )
        return result

    def _groups(
        self, statements: list[Statement], notebooks: list[Notebook], search: _Search
    ) -> list[list[Notebook]]:
        """Notebooks every relevant statement treats alike (same resource matches, same
        values of the resource tags the conditions read) are evaluated once."""
        if any(v.template is not None for s in statements for v in (s.resources or ())):
            return [[nb] for nb in notebooks]  # variables in resources: decide one by one
        sets = [
            m
            for m in (self._matched(s, notebooks[0].account_id) for s in statements)
            if m is not None
        ]
        tag_keys = search.resource_tag_keys
        if not sets and not tag_keys:
            return [notebooks]
        # Notebooks no specific statement selects all look alike; only the others need a
        # signature (so a role granted on two ARNs costs two look-ups, not one per notebook).
        touched = frozenset().union(*sets) if sets and not tag_keys else None
        groups: dict[tuple[Any, ...], list[Notebook]] = {}
        for nb in notebooks:
            if touched is not None and nb.arn not in touched:
                groups.setdefault((), []).append(nb)
                continue
            sig = (tuple(nb.arn in m for m in sets), tuple(_tag(nb.tags, k) for k in tag_keys))
            groups.setdefault(sig, []).append(nb)
        return list(groups.values())


def _tag(tags: Mapping[str, str], key: str) -> str | None:
    name = key.split("/", 1)[1]
    for k, v in tags.items():
        if k.lower() == name:
            return v
    return None


def _reduced(policy: Policy, statements: list[Statement]) -> Policy:
    """The same policy restricted to the statements that match the action (indices kept)."""
    return Policy(
        version=policy.version, statements=tuple(statements), id=policy.id, label=policy.label
    )


def _all_policies(ps: PolicySet) -> list[Policy]:
    return [*ps.identity, *ps.boundaries, *(p for level in ps.scps for p in level)]


def _grant(decision: Decision, owners: list[AttachedPolicy]) -> Grant | None:
    ref = next((r for r in decision.statements if r.kind == "identity"), None)
    if ref is None:
        return None
    owner = owners[ref.policy_index]
    return Grant(owner.name, owner.kind, owner.via, ref.statement_index, ref.sid)


class _Search:
    """The candidate contexts of one principal's relevant statements."""

    def __init__(
        self,
        principal: Principal,
        statements: list[Statement],
        approved: Approved,
        org_id: str | None,
        any_principal: bool = False,
    ) -> None:
        self.principal = principal
        self.approved = approved
        by_key: dict[str, list[Condition]] = {}
        for stmt in statements:
            for cond in stmt.conditions:
                by_key.setdefault(cond.key, []).append(cond)
            for value in (*(stmt.resources or ()), *(v for c in stmt.conditions for v in c.values)):
                if value.template is not None:
                    for key in value.template.variable_keys():
                        if key:
                            by_key.setdefault(key, [])
        self.fixed = _fixed_context(principal, org_id)
        if any_principal:
            self.fixed = {k: v for k, v in self.fixed.items() if k in ACCOUNT_FIXED}
        # Session tags chosen by whoever assumes the role override its tags: caller-controlled.
        tags_chosen = any_principal or principal.session_tags_settable
        if principal.session_tags_settable:
            self.fixed = {k: v for k, v in self.fixed.items() if not k.startswith(TAG_PREFIX)}
        resolve = _resolved_values(by_key.values(), self.fixed)
        self.resource_tag_keys = tuple(
            sorted(k for k in by_key if k.startswith(RESOURCE_TAG_PREFIXES))
        )
        self.vpce = network_candidates(
            by_key.pop(VPCE, []), "vpce-", frozenset(approved.vpc_endpoints), resolve
        )
        self.vpc = network_candidates(
            by_key.pop(VPC, []), "vpc-", frozenset(approved.vpcs), resolve
        )
        variable_keys: list[str] = []
        unmodelled: list[str] = []
        self.dimensions: list[tuple[str, list[Candidate]]] = []
        caller = CALLER_KEYS | (
            USER_CALLER_KEYS if principal.kind == "user" or any_principal else frozenset()
        )
        for key in sorted(by_key):
            if (
                key in self.fixed
                or key.startswith(RESOURCE_TAG_PREFIXES)
                or (key == "aws:resourceaccount")
            ):
                continue
            tag_key = key.startswith(TAG_PREFIX)
            principal_key = tag_key or key in PRINCIPAL_KEYS
            if principal_key and not (any_principal or (tag_key and tags_chosen)):
                continue  # fixed by the principal; absent when the tag or name is absent
            if principal_key:
                variable_keys.append(key)
                self.dimensions.append((key, key_candidates(by_key[key], resolve)))
                continue
            if key not in caller:
                unmodelled.append(key)
            variable_keys.append(key)
            self.dimensions.append((key, key_candidates(by_key[key], resolve)))
        self.unmodelled = tuple(unmodelled)

    def contexts(self) -> Iterable[tuple[tuple[str, tuple[str, ...] | None], ...]]:
        """Every candidate context, the public internet (no endpoint at all) first."""
        network: list[tuple[str | None, str | None]] = [(None, None)]
        network += list(itertools.product(self.vpce, self.vpc))
        keys = [k for k, _ in self.dimensions]
        for net in network:
            head = tuple(
                (k, (v,) if v is not None else None) for k, v in zip((VPCE, VPC), net, strict=True)
            )
            for rest in itertools.product(*(c for _, c in self.dimensions)):
                yield head + tuple(zip(keys, rest, strict=True))

    def size(self) -> int:
        total = 1 + len(self.vpce) * len(self.vpc)
        for _, cands in self.dimensions:
            total *= len(cands)
        return total

    def run(
        self, policy_set: PolicySet, action: str, notebook: Notebook, scp_exempt: bool
    ) -> tuple[list[tuple[Decision, tuple[tuple[str, tuple[str, ...] | None], ...]]], str | None]:
        """Allowed decisions, one per granting statement (first context found for each)."""
        if self.size() > MAX_COMBINATIONS:
            return [], (
                f"{self.size()} candidate contexts for {notebook.arn} exceed "
                f"{MAX_COMBINATIONS}: not enumerated, treat as possibly open"
            )
        base = dict(self.fixed)
        base.update({k: (v,) for k, v in _resource_context(notebook, self.resource_tag_keys)})
        seen: dict[tuple[int, int], tuple[Decision, Any]] = {}
        for combo in self.contexts():
            ctx = dict(base)
            ctx.update({k: v for k, v in combo if v is not None})
            req = Request(
                self.principal.arn,
                self.principal.account_id,
                action,
                notebook.arn,
                notebook.account_id,
                ctx,
                is_management_account=scp_exempt,
            )
            decision = evaluate(req, policy_set)
            if decision.allowed:
                ref = decision.statements[0]
                seen.setdefault((ref.policy_index, ref.statement_index), (decision, combo))
        return list(seen.values()), None


def _resolved_values(
    conditions: Iterable[list[Condition]], fixed: Mapping[str, tuple[str, ...]]
) -> dict[str, str]:
    """Condition values with variables the principal fixes (``${aws:username}``,
    ``${aws:PrincipalTag/x}``), substituted: the request value that satisfies
    ``StringEquals aws:SourceVpce ${aws:PrincipalTag/vpce}`` is the tag's value, not the
    literal text."""
    out: dict[str, str] = {}
    for conds in conditions:
        for cond in conds:
            for value in cond.values:
                text = value.text(fixed) if value.template is not None else None
                if text is not None:
                    out[value.raw] = text
    return out


def _fixed_context(principal: Principal, org_id: str | None) -> dict[str, tuple[str, ...]]:
    """Keys whose value the principal fixes (absent keys stay absent)."""
    ctx: dict[str, tuple[str, ...]] = {
        "aws:principalarn": (principal.arn,),
        "aws:principalaccount": (principal.account_id,),
        "aws:principaltype": ("User" if principal.kind == "user" else "AssumedRole",),
        "aws:principalisawsservice": ("false",),
    }
    if principal.kind == "user":
        ctx["aws:username"] = (principal.name,)
        if principal.unique_id:
            ctx["aws:userid"] = (principal.unique_id,)
    if org_id:
        ctx["aws:principalorgid"] = (org_id,)
    for key, value in principal.tags.items():
        ctx[f"aws:principaltag/{key.lower()}"] = (value,)
    return ctx


def _resource_context(nb: Notebook, tag_keys: Iterable[str]) -> list[tuple[str, str]]:
    out = [("aws:resourceaccount", nb.account_id)]
    for key in tag_keys:
        value = _tag(nb.tags, key)
        if value is not None:
            out.append((key, value))
    return out


def _describe(combo: tuple[tuple[str, tuple[str, ...] | None], ...]) -> str:
    values = dict(combo)
    vpce = values.get(VPCE)
    if vpce is None:
        parts = ["no aws:SourceVpce (public internet)"]
    else:
        vpc = values.get(VPC)
        parts = [
            f"aws:SourceVpce={vpce[0]} (an endpoint outside the approved set, e.g. in "
            f"another account)" + (f", aws:SourceVpc={vpc[0]}" if vpc else "")
        ]
    for key, value in combo:
        if key in (VPCE, VPC):
            continue
        parts.append(f"no {key}" if value is None else f"{key}={','.join(value) or '[]'}")
    return "; ".join(parts)


def _remedy(stmt: Statement, grant: Grant, action: str, approved: Approved) -> str:
    where = f"statement {stmt.label!r} of {grant.policy_kind} policy {grant.policy}"
    endpoints = ", ".join(sorted(approved.vpc_endpoints)) or "<approved endpoint ids>"
    network = [c for c in stmt.conditions if c.key in (VPCE, VPC)]
    advice: list[str] = []
    if stmt.not_action:
        advice.append(f"replace NotAction in {where} with an explicit Action list")
    if not network:
        advice.append(f"add Condition StringEquals aws:SourceVpce [{endpoints}] to {where}")
    for cond in network:
        if cond.if_exists:
            advice.append(
                f"use {cond.operator} instead of {cond.spelled} in {where}: "
                "IfExists is true when the request has no aws:SourceVpce"
            )
        elif cond.qualifier == "ForAllValues":
            advice.append(
                f"drop ForAllValues: from {cond.spelled} in {where}: it is true when "
                "the key is absent"
            )
        elif any("*" in v.raw or "?" in v.raw for v in cond.values):
            advice.append(
                f"list the approved endpoint ids instead of wildcards in {where}: a "
                "pattern matches endpoints in other accounts"
            )
        elif cond.operator.startswith(("StringNot", "ArnNot")):
            advice.append(
                f"a negated operator ({cond.spelled}) in an Allow is true for every "
                f"other endpoint and for none; use StringEquals in {where}"
            )
        else:
            stale = [
                v.raw for v in cond.values if v.raw not in approved.vpc_endpoints | approved.vpcs
            ]
            if stale:
                advice.append(f"remove {', '.join(stale)} from {where}: not approved")
    advice.append(
        f"or add a Deny on {action} with StringNotEquals aws:SourceVpce [{endpoints}] "
        "(identity policy, permissions boundary or SCP)"
    )
    return "; ".join(advice)


def analyze_inventory(
    inventory: Inventory,
    actions: Sequence[str],
    notebooks: Sequence[Notebook],
    approved: Approved,
    scp_paths: Mapping[str, Sequence[Sequence[Policy]]] | None = None,
    management_accounts: Iterable[str] = (),
    org_ids: Mapping[str, str] | None = None,
) -> list[PrincipalAnalysis]:
    """Analyse every principal for every action; one :class:`PrincipalAnalysis` each.

    ``scp_paths`` maps an account id to its SCP levels (root first); an account absent from it
    has no organization policies applied.  SCPs are skipped for management accounts.
    """
    analyzer = PathAnalyzer(notebooks, approved)
    mgmt = set(management_accounts)
    out: list[PrincipalAnalysis] = []
    for principal in inventory.principals:
        scps = (scp_paths or {}).get(principal.account_id, ())
        org = (org_ids or {}).get(principal.account_id)
        for action in actions:
            out.append(
                analyzer.analyze(
                    principal, action, scps, scp_exempt=principal.account_id in mgmt, org_id=org
                )
            )
    return out
