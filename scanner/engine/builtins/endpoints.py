"""Builtins for SageMaker interface endpoints: DNS, security groups and policy."""

from __future__ import annotations

from typing import Any

from scanner.engine.checks import CheckContext, CheckResult
from scanner.enrichment.estate import EstateResource
from scanner.errors import InputError
from scanner.iam.policy import PolicyKind, parse_policy_any


def _forwarded(e: dict[str, Any], hostname: Any) -> str | None:
    """The FAIL message when a Resolver forwarding rule decides the hostname, else None."""
    rule = e.get("resolver_rule")
    if not e.get("resolver_forwards") or not rule:
        return None
    targets = ", ".join(rule.get("target_ips") or []) or "no target IPs listed"
    return (
        f"Route 53 Resolver rule {rule['id']} ({rule['type']}, domain {rule['domain']}) "
        f"forwards {hostname} from this VPC to {targets}; the scanner cannot see what those "
        "DNS servers answer, so it cannot verify that clients resolve the name to this endpoint"
    )


def endpoint_private_dns_resolves(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """Clients in the VPC resolve the service hostname to this endpoint.

    Either private DNS is on, or a private hosted zone associated with the VPC answers the
    hostname with a record pointing at the endpoint.  Both ways need the VPC's
    ``enableDnsSupport`` and ``enableDnsHostnames``: the first by the PrivateLink docs, the
    second because Route 53 only serves private hosted zones to a VPC with both attributes
    true ("Considerations when working with a private hosted zone").  An attribute that was
    not collected is ERROR when it alone decides; an absent ``PrivateDnsEnabled`` is treated
    as off, which can only lead to FAIL, never to a PASS the data does not support.

    A Route 53 Resolver forwarding rule that decides the hostname for the VPC (see
    :mod:`scanner.enrichment.resolver`) sends the query to DNS servers whose answers the
    scanner cannot see: FAIL, naming the rule, never a PASS on faith.  An associated rule
    missing from the snapshot could be such a rule, so it turns a PASS into ERROR.
    """
    e = res.enriched
    vpc = e.get("vpc") or {}
    private_dns = res.doc.get("PrivateDnsEnabled") is True
    records = e.get("hosted_zone_records") or []
    hostname = e.get("service_hostname")
    evidence = {
        "PrivateDnsEnabled": res.doc.get("PrivateDnsEnabled"),
        "vpc_id": vpc.get("id"),
        "EnableDnsSupport": vpc.get("EnableDnsSupport"),
        "EnableDnsHostnames": vpc.get("EnableDnsHostnames"),
        "service_hostname": hostname,
        "hosted_zone_records": records,
        "resolver_rule": e.get("resolver_rule"),
    }
    forwarding = _forwarded(e, hostname)
    if forwarding is not None:
        return CheckResult.failed(forwarding, **evidence)
    ways = []
    if private_dns:
        ways.append("private DNS is on")
    if records:
        zones = ", ".join(f"{r['zone_id']} {r['record']}" for r in records)
        ways.append(f"private hosted zone record(s) point at the endpoint: {zones}")
    if ways and not vpc.get("found"):
        return CheckResult.error(
            f"VPC {vpc.get('id')} of the endpoint is not in the snapshot", **evidence
        )
    attrs = {k: vpc.get(k) for k in ("EnableDnsSupport", "EnableDnsHostnames")}
    if ways and any(not isinstance(v, bool) for v in attrs.values()):
        return CheckResult.error(
            f"{'; '.join(ways)}, but the VPC's DNS attributes were not collected", **evidence
        )
    unknown = e.get("resolver_unknown_rules") or []
    if ways and all(v is True for v in attrs.values()) and unknown:
        return CheckResult.error(
            f"{'; '.join(ways)}, but Resolver rule(s) {', '.join(unknown)} associated with the "
            "VPC are not in the snapshot, so whether they forward the hostname is unknown",
            **evidence,
        )
    if ways and all(v is True for v in attrs.values()):
        return CheckResult.passed(
            f"{hostname} resolves to the endpoint: {'; '.join(ways)}", **evidence
        )
    reasons = [] if private_dns else ["PrivateDnsEnabled is not true"]
    if not records:
        reasons.append(
            "no private hosted zone associated with the VPC answers it with this endpoint"
        )
    reasons += [f"VPC {k} is {v}" for k, v in attrs.items() if v is not True]
    return CheckResult.failed(
        f"clients resolve the public {hostname}: {'; '.join(reasons)} (private DNS and private "
        "hosted zones both need EnableDnsSupport and EnableDnsHostnames true)",
        **evidence,
    )


def judge_groups(groups: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Problems of resolved security groups (the VPC's default group, ingress from
    0.0.0.0/0 or ::/0), prefixed by ``where`` when a group says where it is set, and the
    ids of groups missing from the snapshot (which can then not be judged)."""
    problems = []
    for g in groups:
        at = f" ({g['where']})" if g.get("where") else ""
        if g["is_vpc_default"]:
            problems.append(f"{g['id']}{at} is the VPC's default security group")
        if g["found"] and g["open_ingress"]:
            cidrs = ", ".join(sorted({r["cidr"] for r in g["open_ingress"]}))
            problems.append(f"{g['id']}{at} allows ingress from {cidrs}")
    missing = sorted({g["id"] for g in groups if not g["found"]})
    return problems, missing


def groups_result(
    groups: list[dict[str, Any]], named: str, evidence: dict[str, Any]
) -> CheckResult:
    """FAIL on any problem of :func:`judge_groups`, else ERROR when a group is missing from
    the snapshot (it can then not be judged), else PASS naming the groups (``named``)."""
    problems, missing = judge_groups(groups)
    if problems:
        return CheckResult.failed("; ".join(problems), **evidence)
    if missing:
        return CheckResult.error(
            f"security group(s) {', '.join(missing)} not in the snapshot", **evidence
        )
    return CheckResult.passed(
        f"security group(s) {named}: none is the default group, none admits 0.0.0.0/0 or ::/0",
        **evidence,
    )


def endpoint_security_group_restricted(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """The endpoint's groups are listed, none is the VPC default, none is open to the world.

    No groups listed means AWS used the VPC's default group (FAIL).  A group missing from the
    snapshot can only be judged when another group already fails; otherwise ERROR.
    """
    groups: list[dict[str, Any]] = res.enriched.get("security_groups") or []
    evidence = {"security_groups": groups}
    if not groups:
        return CheckResult.failed(
            "no security groups listed; AWS associates the VPC's default security group "
            f"({res.enriched.get('vpc_default_security_group') or 'unknown'})",
            **evidence,
        )
    return groups_result(groups, ", ".join(g["id"] for g in groups), evidence)


_FULL_ACTIONS = frozenset({"*", "*:*", "sagemaker:*"})


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _all_principals(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _as_list(principal.get("AWS"))


def _strings(value: Any) -> list[str]:
    return [v.lower() for v in _as_list(value) if isinstance(v, str)]


def _all_actions(statement: dict[str, Any]) -> bool:
    """Every (SageMaker) action: ``Action`` a full wildcard, or a ``NotAction`` that leaves
    SageMaker's actions in (``NotAction: iam:CreateUser`` allows everything else)."""
    if "NotAction" in statement:
        return not any(a in _FULL_ACTIONS for a in _strings(statement["NotAction"]))
    return any(a in _FULL_ACTIONS for a in _strings(statement.get("Action")))


def _all_resources(statement: dict[str, Any]) -> bool:
    """Every resource: ``Resource *``, or a ``NotResource`` that does not exclude ``*``."""
    if "NotResource" in statement:
        return "*" not in _strings(statement["NotResource"])
    return "*" in _strings(statement.get("Resource"))


def grants_full_access(statement: dict[str, Any]) -> bool:
    """Allow, every principal, every (SageMaker) action, every resource, no condition.

    ``NotAction`` / ``NotResource`` count as "every" unless they exclude everything: an
    exception list grants all the rest, which is full access in all but name.
    """
    return (
        statement.get("Effect") == "Allow"
        and _all_principals(statement.get("Principal"))
        and _all_actions(statement)
        and _all_resources(statement)
        and not statement.get("Condition")
    )


def endpoint_policy_restricted(res: EstateResource, ctx: CheckContext) -> CheckResult:
    """The endpoint policy is not the default full-access one.

    Absent policy = AWS's default full access (FAIL).  Any Allow statement granting
    everything unconditionally fails the rule even when Deny statements follow: this scanner
    does not prove what a Deny takes away, so it does not PASS on it.
    """
    policy = res.enriched.get("policy") or {}
    if not policy.get("present"):
        return CheckResult.failed(
            "no PolicyDocument: AWS applies the default policy, which allows every principal "
            "every action on every resource",
            policy=None,
        )
    if policy.get("parse_error"):
        return CheckResult.error(
            f"endpoint policy could not be parsed: {policy['parse_error']}",
            policy_raw=res.doc.get("PolicyDocument"),
        )
    document = policy["document"]
    try:
        # An endpoint policy is a resource-based policy (it names principals); a document IAM's
        # grammar rejects cannot be in force as written, so no verdict is drawn from it.
        raw = res.doc.get("PolicyDocument")
        parse_policy_any(raw if isinstance(raw, str) else document, kind=PolicyKind.RESOURCE)
    except InputError as exc:
        where = f" (line {exc.line})" if exc.line is not None else ""
        return CheckResult.error(
            f"endpoint policy is not a valid policy document: {exc.problem}{where}",
            policy=document,
        )
    statements = document.get("Statement")
    if not isinstance(statements, list | dict) or not all(
        isinstance(s, dict) for s in _as_list(statements)
    ):
        return CheckResult.error("endpoint policy has no valid Statement", policy=document)
    full = [(i, s) for i, s in enumerate(_as_list(statements)) if grants_full_access(s)]
    if full:
        sids = ", ".join(str(s.get("Sid", f"#{i}")) for i, s in full)
        return CheckResult.failed(
            f"statement {sids} allows Principal * every action on Resource * with no condition "
            "(the default full-access policy); expected principals, actions or conditions limited",
            policy=document,
        )
    return CheckResult.passed(
        "no statement grants every principal full access without a condition", policy=document
    )
