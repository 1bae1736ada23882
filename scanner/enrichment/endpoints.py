"""VPC endpoint joins: which SageMaker service an endpoint serves, its security groups, the
DNS that makes clients actually use it, and its parsed policy.

An interface endpoint only keeps traffic private if clients resolve the service hostname to
the endpoint's private addresses.  That happens either through the endpoint's private DNS
(which needs the VPC's ``enableDnsSupport`` and ``enableDnsHostnames``) or through a private
hosted zone, associated with the VPC, whose record for the service hostname points at the
endpoint (the blog post's approach).  Both facts are resolved here so the rule only has to
read them.
"""

from __future__ import annotations

import json
from typing import Any

from scanner.enrichment.index import SnapshotIndex

SAGEMAKER_KINDS = ("notebook", "api", "runtime", "studio")


def service_names(region: str) -> dict[str, str]:
    """SageMaker PrivateLink service names in a region, by kind."""
    return {
        "notebook": f"aws.sagemaker.{region}.notebook",
        "api": f"com.amazonaws.{region}.sagemaker.api",
        "runtime": f"com.amazonaws.{region}.sagemaker.runtime",
        "studio": f"aws.sagemaker.{region}.studio",
    }


def service_hostnames(region: str) -> dict[str, str]:
    """The hostname clients resolve for each kind (notebooks and Studio use a wildcard)."""
    return {
        "notebook": f"*.notebook.{region}.sagemaker.aws",
        "api": f"api.sagemaker.{region}.amazonaws.com",
        "runtime": f"runtime.sagemaker.{region}.amazonaws.com",
        "studio": f"*.studio.{region}.sagemaker.aws",
    }


def sagemaker_kind(region: str, service_name: Any) -> str | None:
    """``notebook``/``api``/``runtime``/``studio`` for a SageMaker service name, else None."""
    for kind, name in service_names(region).items():
        if service_name == name:
            return kind
    return None


def dns_name(value: Any) -> str:
    """Canonical form of a DNS name: lower case, no trailing dot, ``\\052`` read as ``*``."""
    if not isinstance(value, str):
        return ""
    return value.strip().rstrip(".").lower().replace("\\052", "*")


def _covers(pattern: str, name: str) -> bool:
    """True when ``pattern`` (possibly ``*.suffix``) matches ``name`` (DNS wildcard rules)."""
    if pattern == name:
        return True
    return pattern.startswith("*.") and name.endswith(pattern[1:]) and not name.startswith("*.")


def _record_target(record: dict[str, Any]) -> list[str]:
    alias = record.get("AliasTarget")
    if isinstance(alias, dict):
        target = dns_name(alias.get("DNSName"))
        return [target.removeprefix("dualstack.")]
    if record.get("Type") == "CNAME":
        return [dns_name(rr.get("Value")) for rr in record.get("ResourceRecords") or []]
    return []


def _points_at(targets: list[str], entries: list[str]) -> bool:
    return any(_covers(e, t) or t == e for t in targets for e in entries)


_ADDRESS_TYPES = frozenset({"A", "AAAA", "CNAME"})


def within(name: str, zone: str) -> bool:
    """True when ``name`` is ``zone`` itself or a name below it (label-aligned); the root
    (``""``, written ``.``) contains every name."""
    return zone == "" or name == zone or name.endswith("." + zone)


def depth(domain: str) -> int:
    """Number of labels in a canonical name (the root has none): DNS's "more specific"."""
    return domain.count(".") + 1 if domain else 0


def deciding_zones(
    index: SnapshotIndex, account_id: str, region: str, vpc_id: Any, hostname: str
) -> list[Any]:
    """The private zone(s) the VPC's resolver consults for ``hostname``: of the zones
    associated with the VPC whose name is the hostname or a parent of it, the most specific
    one.  Route 53 does not fall back to a less specific zone when that one lacks the record
    (it answers NXDOMAIN), so only this zone can make the hostname resolve to the endpoint."""
    matching = []
    for zone in index.global_in(account_id, "route53:hosted-zone"):
        associated = any(
            v.get("VPCId") == vpc_id and v.get("VPCRegion", region) == region
            for v in zone.data.get("VPCs") or []
        )
        zone_name = dns_name(zone.data.get("Name"))
        if associated and zone_name and within(hostname, zone_name):
            matching.append((depth(zone_name), zone))
    if not matching:
        return []
    deepest = max(d for d, _ in matching)
    return [z for d, z in matching if d == deepest]


def _answering_records(records: list[dict[str, Any]], hostname: str) -> list[dict[str, Any]]:
    """The records that answer ``hostname`` in one zone, by DNS precedence: records with the
    hostname's own name, else the closest wildcard covering it.  A name that exists with no
    address record answers nothing (NODATA), so the wildcard does not apply to it either."""
    exact = [r for r in records if dns_name(r.get("Name")) == hostname]
    if exact:
        chosen = exact
    elif hostname.startswith("*."):
        return []
    else:
        covering = [r for r in records if _covers(dns_name(r.get("Name")), hostname)]
        if not covering:
            return []
        closest = max(len(dns_name(r.get("Name"))) for r in covering)
        chosen = [r for r in covering if len(dns_name(r.get("Name"))) == closest]
    return [r for r in chosen if r.get("Type") in _ADDRESS_TYPES]


def hosted_zone_answers(
    index: SnapshotIndex,
    account_id: str,
    region: str,
    vpc_id: Any,
    hostname: str,
    endpoint: dict[str, Any],
) -> list[dict[str, Any]]:
    """Records in the private zone the VPC uses for ``hostname`` that answer it with the
    endpoint; empty unless *every* answering address record points at the endpoint (a
    weighted or failover sibling pointing elsewhere sends some clients elsewhere).

    The zone is the most specific associated zone containing the hostname; within it a
    record with the hostname's own name wins over a wildcard.  For a wildcard hostname
    (notebooks) only the same wildcard answers every notebook."""
    entries = [dns_name(e.get("DnsName")) for e in endpoint.get("DnsEntries") or []]
    out: list[dict[str, Any]] = []
    for zone in deciding_zones(index, account_id, region, vpc_id, hostname):
        answering = _answering_records(zone.data.get("ResourceRecordSets") or [], hostname)
        if not answering or not all(_points_at(_record_target(r), entries) for r in answering):
            continue
        out += [
            {
                "zone_id": zone.id,
                "zone_name": zone.data.get("Name"),
                "record": record.get("Name"),
                "type": record.get("Type"),
                "target": _record_target(record),
            }
            for record in answering
        ]
    return out


def parse_policy(raw: Any) -> dict[str, Any]:
    """The endpoint policy as an object, or the reason it could not be parsed (never raises)."""
    if raw is None:
        return {"present": False, "document": None, "parse_error": None}
    if isinstance(raw, dict):
        return {"present": True, "document": raw, "parse_error": None}
    if not isinstance(raw, str):
        return {"present": True, "document": None, "parse_error": f"not a string: {raw!r}"}
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {"present": True, "document": None, "parse_error": f"invalid JSON: {exc}"}
    if not isinstance(doc, dict):
        return {"present": True, "document": None, "parse_error": "policy is not a JSON object"}
    return {"present": True, "document": doc, "parse_error": None}


def open_ingress(group: dict[str, Any]) -> list[dict[str, Any]]:
    """Inbound rules of a security group that admit 0.0.0.0/0 or ::/0."""
    out = []
    for perm in group.get("IpPermissions") or []:
        cidrs = [r.get("CidrIp") for r in perm.get("IpRanges") or []]
        cidrs += [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges") or []]
        for cidr in cidrs:
            if cidr in ("0.0.0.0/0", "::/0"):
                out.append(
                    {
                        "cidr": cidr,
                        "protocol": perm.get("IpProtocol"),
                        "from_port": perm.get("FromPort"),
                        "to_port": perm.get("ToPort"),
                    }
                )
    return out


def security_groups(
    index: SnapshotIndex,
    account_id: str,
    region: str,
    group_ids: list[str],
    default_group: str | None,
) -> list[dict[str, Any]]:
    """Resolve group ids: found or not, default or not, and any world-open ingress."""
    out = []
    for gid in group_ids:
        group = index.data(account_id, region, "ec2:security-group", gid)
        out.append(
            {
                "id": gid,
                "found": group is not None,
                "name": group.get("GroupName") if group else None,
                "is_vpc_default": gid == default_group
                or (group is not None and group.get("GroupName") == "default"),
                "open_ingress": open_ingress(group) if group else None,
            }
        )
    return out


def endpoint_facts(
    index: SnapshotIndex,
    account_id: str,
    region: str,
    data: dict[str, Any],
    default_group: str | None,
) -> dict[str, Any]:
    """Everything the endpoint rules need, resolved from the rest of the snapshot."""
    kind = sagemaker_kind(region, data.get("ServiceName"))
    vpc_id = data.get("VpcId")
    vpc = index.data(account_id, region, "ec2:vpc", vpc_id) if isinstance(vpc_id, str) else None
    group_ids = [g.get("GroupId") for g in data.get("Groups") or [] if g.get("GroupId")]
    hostname = service_hostnames(region)[kind] if kind else None
    return {
        "sagemaker_kind": kind,
        "service_hostname": hostname,
        "vpc": {
            "id": vpc_id,
            "found": vpc is not None,
            "EnableDnsSupport": vpc.get("EnableDnsSupport") if vpc else None,
            "EnableDnsHostnames": vpc.get("EnableDnsHostnames") if vpc else None,
        },
        "vpc_default_security_group": default_group,
        "security_groups": security_groups(index, account_id, region, group_ids, default_group),
        "hosted_zone_records": []
        if hostname is None
        else hosted_zone_answers(index, account_id, region, vpc_id, hostname, data),
        "policy": parse_policy(data.get("PolicyDocument")),
    }


def endpoint_summary(rid: str, data: dict[str, Any]) -> dict[str, Any]:
    """A VPC's view of one of its endpoints (``available`` is the case-insensitive test)."""
    state = data.get("State")
    return {
        "id": rid,
        "service_name": data.get("ServiceName"),
        "type": data.get("VpcEndpointType"),
        "state": state,
        "available": isinstance(state, str) and state.lower() == "available",
    }
