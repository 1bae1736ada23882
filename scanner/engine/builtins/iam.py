"""The issue-3 IAM rules as ``over_estate`` builtins (rules/iam.yaml).

The analysis itself lives in :mod:`scanner.iam` (no engine imports there); this module only
turns it into findings.  It runs **once per scan**: :func:`shared_analysis` caches the
:class:`~scanner.iam.estate.EstateAnalysis` in the evaluation's :class:`CheckContext`, which
:func:`scanner.engine.evaluate` shares between all rules of one evaluation, so the five rules
(and every principal within them) reuse one inventory and one path search.

Resource types: one rule has one ``resource_type``, but a principal finding is about a user
*or* a role.  The principal rules declare ``resource_type: iam:user`` (the listing they
depend on: users and roles come from the same GetAccountAuthorizationDetails call, so one
listing failure covers both) and ``requires`` the other IAM types; each finding carries its
principal's own type, ``iam:user`` or ``iam:role``.  Inline-policy findings use type
``iam:policy`` with id ``<owner ARN>/<policy name>``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from scanner.engine.builtins.access_paths import IAM_INBOUND, KIND_LABELS, IamPaths
from scanner.engine.builtins.studio import unseen
from scanner.engine.checks import CheckContext, CheckResult, Subject
from scanner.iam.estate import (
    DOMAIN_PRESIGN,
    PRESIGN,
    EstateAnalysis,
    OrgView,
    analyze_estate,
    scp_probe,
)
from scanner.iam.inventory import Principal
from scanner.iam.paths import PrincipalAnalysis, PublicPath
from scanner.iam.policy import Effect
from scanner.iam.vpce_refs import judge, policy_documents, references
from scanner.model.snapshot import GLOBAL_REGION

Pair = tuple[Subject, CheckResult]
_MEMO_KEY = "iam.analysis"
_PRINCIPAL_RULE = {
    PRESIGN.lower(): "iam-presigned-url-requires-vpc-endpoint",
    DOMAIN_PRESIGN.lower(): "iam-presigned-domain-url-requires-vpc-endpoint",
}


def shared_analysis(ctx: CheckContext) -> EstateAnalysis:
    """The estate's IAM analysis, computed on first use and reused by every IAM rule of the
    same evaluation (kept in the evaluation's own ``memo``, never in module state)."""
    cached = ctx.memo.get(_MEMO_KEY)
    if isinstance(cached, EstateAnalysis):
        return cached
    cfg = ctx.config
    result = analyze_estate(
        ctx.snapshot,
        actions=cfg.iam.actions,
        approved_vpc_endpoints=cfg.approved_vpc_endpoints,
        approved_vpcs=cfg.approved_vpcs,
    )
    ctx.memo[_MEMO_KEY] = result
    return result


# -- evidence helpers ------------------------------------------------------------------


def fix_cli(path: PublicPath) -> str:
    """The AWS CLI command that replaces the granting policy (after editing the document)."""
    g = path.grant
    doc = "--policy-document file://fixed-policy.json"
    if g.policy_kind == "managed":
        return f"aws iam create-policy-version --policy-arn {g.policy} {doc} --set-as-default"
    if g.via.startswith("group:"):
        return f"aws iam put-group-policy --group-name {g.via[6:]} --policy-name {g.policy} {doc}"
    owner = path.principal_arn.rsplit("/", 1)[-1]
    kind = "user" if path.principal_kind == "user" else "role"
    return f"aws iam put-{kind}-policy --{kind}-name {owner} --policy-name {g.policy} {doc}"


# A notebook finding names at most this many paths (with the total), and a principal's path
# at most this many notebook ARNs (with the count): every path is listed in full in its
# principal's own finding.  Without caps, an estate where thousands of roles reach hundreds
# of notebooks repeats every path and every notebook list: hundreds of MB of evidence.
MAX_LISTED = 100


def path_evidence(path: PublicPath) -> dict[str, Any]:
    """A path as the principal's finding shows it."""
    out = {**path.to_dict(), "notebook_count": len(path.notebook_arns), "fix_cli": fix_cli(path)}
    if len(path.notebook_arns) > MAX_LISTED:
        out["notebooks"] = list(path.notebook_arns[:MAX_LISTED])
        out["notebooks_not_listed"] = len(path.notebook_arns) - MAX_LISTED
    if path.action.lower() == DOMAIN_PRESIGN.lower():
        # The targets of CreatePresignedDomainUrl are user profiles: name them so.
        out = {_PROFILE_KEYS.get(k, k): v for k, v in out.items()}
    return out


_PROFILE_KEYS = {
    "notebooks": "user_profiles",
    "notebook_count": "user_profile_count",
    "notebooks_not_listed": "user_profiles_not_listed",
}


def path_summary(path: PublicPath, target_arn: str) -> dict[str, Any]:
    """A path as a notebook's (or domain's) evidence names it: who, what, through which
    grant, in which context, and what closes it.  The other targets it reaches are in the
    principal's finding (built without them: a path shared by hundreds of notebooks is
    summarised per notebook in constant size)."""
    out: dict[str, Any] = {
        "principal": path.principal_arn,
        "principal_kind": path.principal_kind,
        "action": path.action,
        "grant": path.grant.to_dict(),
        "description": path.description,
        "remediation": path.remediation,
        "unmodelled_keys": list(path.unmodelled_keys),
        "fix_cli": fix_cli(path),
    }
    if path.action.lower() == DOMAIN_PRESIGN.lower():
        # A domain has many user profiles: say which one the path opens.  A notebook's
        # verdict is about the notebook itself, so its summary names no target and the same
        # path reads the same in every notebook's verdict (stored once in findings.json).
        out["user_profiles"] = [target_arn]
    return out


def _via(path: PublicPath) -> str:
    via = path.grant.via
    return f"group {via[6:]}" if via.startswith("group:") else f"the {via}'s own policies"


def explain(path: PublicPath) -> str:
    """One sentence: who, what, where, through which grant, in which context."""
    g = path.grant
    stmt = g.sid or f"statement #{g.statement_index}"
    nbs = ", ".join(a.rsplit("/", 1)[-1] for a in path.notebook_arns[:3])
    more = f" (+{len(path.notebook_arns) - 3} more)" if len(path.notebook_arns) > 3 else ""
    return (
        f"{path.principal_arn} can call {path.action} on {nbs}{more} with "
        f"{path.description}: granted by {stmt} of {g.policy_kind} policy {g.policy} "
        f"through {_via(path)}"
    )


def _approved(result: EstateAnalysis) -> dict[str, Any]:
    return {
        "approved_vpc_endpoints": sorted(result.approved.vpc_endpoints),
        "approved_vpcs": sorted(result.approved.vpcs),
        "approved_from": result.approved_source,
    }


def _org(result: EstateAnalysis, account_id: str) -> OrgView:
    return result.orgs.get(account_id) or OrgView(account_id, "not_collected")


def _grants(principal: Principal, action: str) -> list[str]:
    """Allow statements of the principal that name the action (for PASS messages)."""
    return [
        f"{ap.label} {s.label}"
        for ap in principal.policies
        for s in ap.policy.statements
        if s.effect is Effect.ALLOW and s.matches_action(action)
    ]


# -- principal rules -------------------------------------------------------------------


@dataclass(frozen=True)
class _Targets:
    """What the principal rule's actions open, for its evidence and PASS messages."""

    count: int
    key: str  # evidence key: notebooks_in_account | user_profiles_in_account
    noun: str  # "notebook instance" | "Studio user profile (IAM-mode domains)"
    unseen: tuple[str, ...] = ()  # target listings nobody looked at (a PASS cannot stand)


def _principal_result(
    result: EstateAnalysis, principal: Principal, actions: tuple[str, ...], targets: _Targets
) -> CheckResult:
    """``targets``: how many notebooks (or user profiles) the principal's account has."""
    analyses: list[PrincipalAnalysis] = [result.analysis(principal.arn, a) for a in actions]
    paths = [p for a in analyses for p in a.paths]
    undecided = [u for a in analyses for u in a.undecided]
    evidence: dict[str, Any] = {
        "principal": principal.arn,
        "principal_type": principal.kind,
        "groups": list(principal.groups),
        "permissions_boundary": principal.boundary_arn,
        "actions": list(actions),
        targets.key: targets.count,
        "paths": [path_evidence(p) for p in paths],
        "scps": _org(result, principal.account_id).scp_note(),
        **_approved(result),
    }
    if undecided:
        evidence["undecided"] = undecided
    name = f"{principal.kind} {principal.name}"
    if principal.unresolved:
        problems = result.problems_for(principal)
        evidence["unreadable_policies"] = problems
        return CheckResult.error(
            f"cannot decide whether {name} has a public path: policies that reach it could not "
            f"be read ({'; '.join(problems)}); they might grant or deny anything",
            **evidence,
        )
    if paths:
        more = f" (and {len(paths) - 1} more path(s), see evidence)" if len(paths) > 1 else ""
        return CheckResult.failed(f"public path: {explain(paths[0])}{more}", **evidence)
    if undecided:
        return CheckResult.error(
            f"cannot decide whether {name} has a public path: {'; '.join(undecided)}", **evidence
        )
    grants = [g for a in actions for g in _grants(principal, a)]
    if grants and targets.unseen:
        return CheckResult.error(
            f"{name} is allowed {', '.join(actions)}, but {'; '.join(targets.unseen)} was not "
            f"looked at, so which {targets.noun}s it opens is unknown",
            **evidence,
        )
    if not grants:
        why = f"no policy of {name} allows {', '.join(actions)}"
    elif not targets.count:
        why = (
            f"{name} is allowed {', '.join(actions)} but the account has no {targets.noun} "
            "(the grant would be checked against any created later)"
        )
    else:
        why = (
            f"every grant of {', '.join(actions)} to {name} holds only through the approved "
            f"endpoints or is denied otherwise ({len(grants)} granting statement(s), "
            f"{targets.count} {targets.noun}(s))"
        )
        evidence["granting_statements"] = grants
    return CheckResult.passed(why, **evidence)


def _principal_pairs(ctx: CheckContext, actions: tuple[str, ...] | None) -> Iterator[Pair]:
    result = shared_analysis(ctx)
    studio = actions == (DOMAIN_PRESIGN,)
    # Counted once, not per principal.
    counts = Counter(t.account_id for t in (result.profiles if studio else result.notebooks))
    blind: dict[str, tuple[str, ...]] = {}
    if studio:
        for acct in {p.account_id for p in result.inventory.principals}:
            blind[acct] = tuple(
                f"{miss} in {region}"
                for region in ctx.snapshot.regions
                for miss in unseen(ctx, acct, region, "sagemaker:user-profile")
            )
    for principal in result.inventory.principals:
        subject = Subject(
            principal.account_id,
            GLOBAL_REGION,
            f"iam:{principal.kind}",
            principal.arn,
            principal.arn,
        )
        count = (
            _Targets(
                counts[principal.account_id],
                "user_profiles_in_account",
                "Studio user profile (IAM-mode domains)",
                blind[principal.account_id],
            )
            if studio
            else _Targets(counts[principal.account_id], "notebooks_in_account", "notebook instance")
        )
        if actions is None:
            rest = result.actions[1:]
            if not rest:
                yield (
                    subject,
                    CheckResult.not_applicable(
                        "config iam.actions lists no notebook action besides "
                        "CreatePresignedNotebookInstanceUrl"
                    ),
                )
                continue
            yield subject, _principal_result(result, principal, rest, count)
        else:
            yield subject, _principal_result(result, principal, actions, count)


def presigned_url_requires_vpc_endpoint(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per user and role for CreatePresignedNotebookInstanceUrl."""
    return _principal_pairs(ctx, (PRESIGN,))


def presigned_domain_url_requires_vpc_endpoint(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per user and role for CreatePresignedDomainUrl over the user profiles of
    the account's IAM-mode Studio domains (SSO-mode domains take no part)."""
    return _principal_pairs(ctx, (DOMAIN_PRESIGN,))


def notebook_api_requires_vpc_endpoint(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per user and role for the other configured actions (config iam.actions
    minus CreatePresignedNotebookInstanceUrl; by default DescribeNotebookInstance)."""
    return _principal_pairs(ctx, None)


# -- the IAM side of the public-access-path verdicts ---------------------------------------


def undecided_principals(ctx: CheckContext, account_id: str, action: str) -> dict[str, list[str]]:
    """Principals of the account whose answer for ``action`` is incomplete (ARN → reasons),
    found once per (account, action) per evaluation, not once per notebook."""
    key = f"iam.undecided:{account_id}:{action.lower()}"
    cached = ctx.memo.get(key)
    if isinstance(cached, dict):
        return cached
    result = shared_analysis(ctx)
    analyses = [result.analysis(p.arn, action) for p in result.principals(account_id)]
    found = {a.principal.arn: a.undecided for a in analyses if a.undecided}
    ctx.memo[key] = found
    return found


def iam_paths(ctx: CheckContext, targets: list[str], action: str) -> IamPaths | None:
    """The IAM paths for ``action`` that reach any of ``targets`` (notebook or user-profile
    ARNs), capped for the verdict's evidence; None when there is none."""
    result = shared_analysis(ctx)
    memo_key = f"iam.paths_by_target:{action.lower()}"
    by_target = ctx.memo.get(memo_key)
    if not isinstance(by_target, dict):
        by_target = result.presign_paths(action)
        ctx.memo[memo_key] = by_target
    seen: dict[int, tuple[PublicPath, str]] = {}
    for arn in targets:
        for path in by_target.get(arn, []):
            seen.setdefault(id(path), (path, arn))
    paths = sorted(seen.values(), key=lambda pa: (pa[0].principal_arn, pa[0].grant.policy))
    if not paths:
        return None
    listed = [
        {"kind": IAM_INBOUND, "kind_label": KIND_LABELS[IAM_INBOUND], **path_summary(p, arn)}
        for p, arn in paths[:MAX_LISTED]
    ]
    who = {p.principal_arn for p, _ in paths}
    headline = (
        f"{len(who)} principal(s) can open it from outside the approved endpoints: "
        + explain(paths[0][0])
        + (f" (+{len(paths) - 1} more path(s))" if len(paths) > 1 else "")
    )
    note = None
    if len(paths) > MAX_LISTED:
        note = (
            f"{len(paths) - MAX_LISTED} more path(s); each principal's "
            f"{_PRINCIPAL_RULE[action.lower()]} finding lists its paths in full"
        )
    return IamPaths(len(paths), headline, listed, note)


def iam_context(ctx: CheckContext, account_id: str) -> dict[str, Any]:
    """The approved set and the SCP note every verdict's evidence carries."""
    result = shared_analysis(ctx)
    return {"scps": _org(result, account_id).scp_note(), **_approved(result)}


# -- policies naming endpoints -----------------------------------------------------------


def vpce_condition_references_known_endpoints(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per policy whose notebook statements name ``aws:sourceVpce`` values."""
    result = shared_analysis(ctx)
    docs = policy_documents(ctx.snapshot, result.inventory.managed, result.inventory.problems)
    for doc in docs:
        subject = Subject(doc.account_id, GLOBAL_REGION, "iam:policy", doc.subject_id, doc.arn)
        if doc.policy is None:
            if doc.error and _mentions_sourcevpce(ctx, doc.subject_id):
                yield (
                    subject,
                    CheckResult.error(
                        f"the policy could not be parsed, so its aws:sourceVpce values cannot be "
                        f"judged: {doc.error}"
                    ),
                )
            continue
        refs = references(doc.policy, result.actions)
        if not refs:
            continue
        stale, pairing = judge(refs, result.endpoints)
        evidence = {
            "references": [r.to_dict() for r in refs],
            "stale": stale,
            "unpaired": pairing,
            "known_sagemaker_endpoints": sorted(
                e.id for e in result.endpoints.values() if e.kind is not None
            ),
        }
        if stale or pairing:
            yield subject, CheckResult.failed("; ".join([*stale, *pairing]), **evidence)
        else:
            values = sorted({v for r in refs for v in r.values})
            yield (
                subject,
                CheckResult.passed(
                    f"aws:sourceVpce names existing endpoints, notebook and API endpoints in pairs: "
                    f"{', '.join(values)}",
                    **evidence,
                ),
            )


def _mentions_sourcevpce(ctx: CheckContext, subject_id: str) -> bool:
    """Whether an unparseable policy's raw text mentions aws:sourceVpce (then it is in scope)."""
    for rtype in ("iam:policy", "iam:user", "iam:group", "iam:role"):
        for res in ctx.snapshot.iter_resources(rtype):
            owns = subject_id == res.id or subject_id.startswith(res.id + "/")
            if owns and "aws:sourcevpce" in json.dumps(res.data, default=str).lower():
                return True
    return False


# -- organizations -----------------------------------------------------------------------


def org_scp_enforces_vpc_endpoint(ctx: CheckContext) -> Iterable[Pair]:
    """One finding per account: does an applying SCP deny presigned URLs from outside?"""
    result = shared_analysis(ctx)
    regions = tuple(ctx.snapshot.regions) or ("us-east-1",)
    for res in ctx.estate.resources("aws:account"):
        view = _org(result, res.account_id)
        yield Subject.of(res), _scp_result(result, view, regions)


def _scp_result(result: EstateAnalysis, view: OrgView, regions: tuple[str, ...]) -> CheckResult:
    evidence: dict[str, Any] = {
        "organizations_data": view.status,
        "organization_id": view.org_id,
        "management_account": view.management_account,
        "scp_levels": [
            {"target": t, "policies": list(n)}
            for t, n in zip(view.level_ids, view.level_policy_names, strict=False)
        ],
        **_approved(result),
    }
    if view.status == "error":
        return CheckResult.error("the Organizations collector failed; SCPs could not be read")
    if view.status == "not_collected":
        return CheckResult.not_applicable(
            "Organizations data was not collected (member account, Organizations not in use, or "
            "collector disabled), so SCPs cannot be judged",
            **evidence,
        )
    if view.status == "no_organization":
        return CheckResult.not_applicable("the account belongs to no organization", **evidence)
    if view.is_management:
        return CheckResult.failed(
            f"{view.account_id} is the organization's management account: SCPs never apply to "
            "it, so no SCP can require the VPC endpoint here; keep notebooks out of the "
            "management account and rely on IAM conditions",
            **evidence,
        )
    if view.levels is None:
        return CheckResult.error(
            "the SCP path could not be read: " + "; ".join(view.problems), **evidence
        )
    probe = scp_probe(view, result.notebooks, result.approved, regions)
    if probe.undecided:
        return CheckResult.error("; ".join(probe.undecided), **evidence)
    if probe.paths:
        path = probe.paths[0]
        evidence["open_context"] = path.to_dict()["context"]
        return CheckResult.failed(
            f"the SCPs that apply to {view.account_id} let {PRESIGN} through with "
            f"{path.description}; add an SCP Deny with StringNotEquals aws:SourceVpce "
            "[approved endpoints]",
            **evidence,
        )
    denies = [
        f"{p.label} {s.label}"
        for level in view.levels
        for p in level
        for s in p.statements
        if s.effect is Effect.DENY and s.matches_action(PRESIGN)
    ]
    evidence["deny_statements"] = denies
    how = f"denied by {', '.join(denies)}" if denies else "no SCP level allows it"
    return CheckResult.passed(
        f"SCPs that apply to {view.account_id} refuse {PRESIGN} from outside the approved "
        f"endpoints ({how})",
        **evidence,
    )
