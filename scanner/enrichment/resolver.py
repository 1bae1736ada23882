"""Route 53 Resolver rules: which one decides how a VPC resolves a SageMaker hostname.

Resolver rules associated with a VPC are consulted before the VPC's own DNS answers
(Route 53 DG, "How Resolver determines whether the domain name in a query matches any
rules"): a rule matches a name equal to or below its domain, and the rule with the most
specific domain wins.  ``FORWARD`` (and ``DELEGATE``) rules send the query to DNS servers
the scanner cannot see; ``SYSTEM`` rules (and the ``RECURSIVE`` internet-resolver rule)
keep it local.

Private hosted zones associated with the VPC, including the one AWS manages for an
interface endpoint with private DNS, get autodefined system rules for their own names
("Domain names that Resolver creates autodefined system rules for"): a forwarding rule for
a *less* specific domain (``.``, ``amazonaws.com``) does not override them, while one for
the *same* domain does.  Both facts are resolved here, once per endpoint.
"""

from __future__ import annotations

from typing import Any

from scanner.enrichment.endpoints import deciding_zones, depth, dns_name, within
from scanner.enrichment.index import SnapshotIndex

FORWARDING_TYPES = frozenset({"FORWARD", "DELEGATE"})


def _in_effect(rule_type: Any, association_status: Any) -> bool:
    """Whether an association counts, resolved towards "cannot verify": a forwarding rule
    counts unless its association FAILED (creating, deleting or overridden ones may still
    answer), a local rule only once its association is COMPLETE."""
    if rule_type in FORWARDING_TYPES:
        return bool(association_status != "FAILED")
    return bool(association_status == "COMPLETE")


def _targets(rule: dict[str, Any]) -> list[str]:
    out = []
    for target in rule.get("TargetIps") or []:
        ip = target.get("Ip") or target.get("Ipv6")
        if ip:
            out.append(f"{ip}:{target['Port']}" if target.get("Port") else str(ip))
    return out


def _summary(rule: dict[str, Any], assoc: dict[str, Any], domain: str) -> dict[str, Any]:
    return {
        "id": rule.get("Id"),
        "name": rule.get("Name"),
        "type": rule.get("RuleType"),
        "domain": domain or ".",
        "target_ips": _targets(rule),
        "association_id": assoc.get("Id"),
        "association_status": assoc.get("Status"),
    }


def resolver_facts(
    index: SnapshotIndex,
    account_id: str,
    region: str,
    vpc_id: Any,
    hostname: str | None,
    private_dns: bool,
) -> dict[str, Any]:
    """The endpoint's ``resolver_rule`` (the most specific rule associated with its VPC that
    matches the hostname, or null), ``resolver_forwards`` (that rule forwards and no private
    zone for a more specific name keeps the query local) and ``resolver_unknown_rules``
    (associated rule ids missing from the snapshot, whose domains cannot be judged).

    A wildcard hostname (``*.notebook.<region>.sagemaker.aws``) stands for every name below
    its parent, so only rules matching that parent match all of them.
    """
    if hostname is None:
        return {"resolver_rule": None, "resolver_forwards": False, "resolver_unknown_rules": []}
    name = hostname.removeprefix("*.")
    matching: list[tuple[int, bool, dict[str, Any]]] = []
    unknown: list[str] = []
    for assoc in index.in_scope(account_id, region, "route53resolver:rule-association"):
        if assoc.data.get("VPCId") != vpc_id:
            continue
        rule_id = assoc.data.get("ResolverRuleId")
        rule = index.data(account_id, region, "route53resolver:rule", str(rule_id))
        if rule is None:
            unknown.append(str(rule_id))
            continue
        raw_domain = rule.get("DomainName") or rule.get("DelegationRecord")
        domain = dns_name(raw_domain)
        forwards = rule.get("RuleType") in FORWARDING_TYPES
        if (
            isinstance(raw_domain, str)
            and within(name, domain)
            and _in_effect(rule.get("RuleType"), assoc.data.get("Status"))
        ):
            matching.append((depth(domain), forwards, _summary(rule, assoc.data, domain)))
    if not matching:
        return {
            "resolver_rule": None,
            "resolver_forwards": False,
            "resolver_unknown_rules": unknown,
        }
    # Most specific domain wins; on a tie the forwarding rule is taken (it overrides an
    # autodefined rule for the same name, and it is the outcome the scanner cannot verify).
    level, forwards, chosen = max(matching, key=lambda m: (m[0], m[1]))
    zones = [
        depth(dns_name(z.data.get("Name")))
        for z in deciding_zones(index, account_id, region, vpc_id, hostname)
    ]
    if private_dns:
        zones.append(depth(name))
    local_wins = any(z > level for z in zones)
    return {
        "resolver_rule": chosen,
        "resolver_forwards": forwards and not local_wins,
        "resolver_unknown_rules": unknown,
    }
