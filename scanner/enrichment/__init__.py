"""Enrichment: resolve cross-resource facts once, so rules stay declarative.

:func:`enrich` turns a :class:`~scanner.model.snapshot.Snapshot` into an :class:`Estate`.  It is
pure: it never calls AWS and never mutates the snapshot.  Every resource's document gains a
top-level ``enriched`` mapping (``{}`` for types with nothing to add).  What is added:

``sagemaker:notebook-instance``
    ``in_vpc``, ``subnet_id``, ``subnet_found``, ``vpc_id``, ``route_table``
    (``{id, association: explicit|main}`` or null), ``internet_gateway_routes``,
    ``egress_only_routes`` (``eigw-``), ``nat_routes``, ``routes_to_internet`` (route lists
    are ``[{destination, target, state}]``; null when the route table or its routes are
    unknown), ``kms_key`` (the key ``KmsKeyId`` names, see :mod:`scanner.enrichment.kms`).
``sagemaker:domain``
    ``network_access`` (``AppNetworkAccessType``, ``PublicInternetOnly`` when absent) and
    ``network_access_assumed``, ``vpc_only``, ``auth_mode``, ``vpc_id``, ``vpc_found``,
    ``subnets`` (each with the notebook's route facts), ``security_groups`` (resolved, each
    with ``where`` it is set), ``user_profiles``, ``spaces``, ``custom_images`` (with their
    AppImageConfig's ``default_uids`` and ``runs_as_root``) and ``docker``; see
    :mod:`scanner.enrichment.studio`; ``kms_key`` (``KmsKeyId``, else the deprecated
    ``HomeEfsFileSystemKmsKeyId``).
``ec2:vpc``
    ``notebooks`` (names), ``hosts_notebooks``, ``in_scope`` (listed in ``scope.vpcs``),
    ``studio_domains`` (ids of the domains in the VPC), ``vpc_only_domains``,
    ``sagemaker_endpoints`` (``{notebook|api|runtime|studio: [{id, service_name, type,
    state, available}]}``), ``has_sagemaker_endpoints``, ``default_security_group``,
    ``flow_logs``, ``vpn_gateways``, ``vpn_connections``, ``transit_gateway_attachments``,
    ``direct_connect_virtual_interfaces``, ``direct_connect_gateways`` (every DX gateway of
    the account: ``{id, state, associations}``, associations null when not collected),
    ``direct_connect_gateway_associations`` (those whose gateway is the VPC's attached VGW
    or a transit gateway with an available attachment of the VPC, in the VPC's region).
``ec2:vpc-endpoint``
    ``sagemaker_kind``, ``service_hostname``, ``vpc`` (id, found and both DNS attributes),
    ``vpc_default_security_group``, ``security_groups`` (resolved), ``hosted_zone_records``
    (private-zone records answering the service hostname with this endpoint), ``policy``
    (``{present, document, parse_error}``), ``resolver_rule`` (the Route 53 Resolver rule
    associated with the VPC that decides the hostname: ``{id, name, type, domain,
    target_ips, association_id, association_status}`` or null), ``resolver_forwards``
    (that rule sends the query to servers outside AWS's view) and
    ``resolver_unknown_rules`` (see :mod:`scanner.enrichment.resolver`).
``ec2:security-group``
    ``is_vpc_default``.
``aws:account`` (synthetic; region ``global``, id the account id)
    ``trails``: every CloudTrail trail of the account, deduplicated by ARN, with
    ``is_multi_region`` and ``is_logging``.
"""

from __future__ import annotations

from typing import Any

from scanner.config import Config
from scanner.enrichment.endpoints import SAGEMAKER_KINDS, endpoint_facts, endpoint_summary
from scanner.enrichment.endpoints import sagemaker_kind as _kind
from scanner.enrichment.estate import Estate, EstateResource
from scanner.enrichment.index import SnapshotIndex
from scanner.enrichment.kms import kms_key_facts
from scanner.enrichment.network import (
    flow_logs,
    notebook_facts,
    notebooks_by_vpc,
    private_connectivity,
)
from scanner.enrichment.resolver import resolver_facts
from scanner.enrichment.resource_types import ACCOUNT_TYPE, RESOURCE_TYPES
from scanner.enrichment.studio import DOMAIN_TYPE, domain_facts, domains_by_vpc, studio_members
from scanner.model.snapshot import GLOBAL_REGION, Resource, Snapshot

__all__ = ["ACCOUNT_TYPE", "RESOURCE_TYPES", "Estate", "EstateResource", "enrich"]


def _vpc_facts(
    index: SnapshotIndex,
    res: Resource,
    notebooks: list[str],
    domains: list[tuple[str, bool]],
    default_group: str | None,
    config: Config,
) -> dict[str, Any]:
    endpoints: dict[str, list[dict[str, Any]]] = {k: [] for k in SAGEMAKER_KINDS}
    for ep in index.in_scope(res.account_id, res.region, "ec2:vpc-endpoint"):
        kind = _kind(res.region, ep.data.get("ServiceName"))
        if kind is not None and ep.data.get("VpcId") == res.id:
            endpoints[kind].append(endpoint_summary(ep.id, ep.data))
    return {
        "notebooks": notebooks,
        "hosts_notebooks": bool(notebooks),
        "studio_domains": [d for d, _ in domains],
        "vpc_only_domains": [d for d, vpc_only in domains if vpc_only],
        "in_scope": res.id in config.scope.vpcs,
        "sagemaker_endpoints": endpoints,
        "has_sagemaker_endpoints": any(endpoints.values()),
        "default_security_group": default_group,
        "flow_logs": flow_logs(index, res.account_id, res.region, res.id),
        **private_connectivity(index, res.account_id, res.region, res.id),
    }


def _trail_summary(res: Resource) -> dict[str, Any]:
    status = res.data.get("Status") or {}
    return {
        "arn": res.data.get("TrailARN", res.id),
        "name": res.data.get("Name"),
        "home_region": res.data.get("HomeRegion", res.region),
        "is_multi_region": res.data.get("IsMultiRegionTrail") is True,
        "is_logging": status.get("IsLogging") is True,
    }


def _account_resource(index: SnapshotIndex, account_id: str) -> EstateResource:
    trails: dict[str, dict[str, Any]] = {}
    for trail in index.in_account(account_id, "cloudtrail:trail"):
        summary = _trail_summary(trail)
        trails.setdefault(summary["arn"], summary)
    doc = {"AccountId": account_id, "enriched": {"trails": [trails[k] for k in sorted(trails)]}}
    return EstateResource(account_id, GLOBAL_REGION, ACCOUNT_TYPE, account_id, None, doc)


def enrich(snapshot: Snapshot, config: Config) -> Estate:
    """Resolve cross-resource facts once; see the module docstring for what is added."""
    index = SnapshotIndex(snapshot)
    notebooks = {
        (r.account_id, r.region, r.id): notebook_facts(index, r.account_id, r.region, r.data)
        for r in snapshot.iter_resources("sagemaker:notebook-instance")
    }
    hosted = notebooks_by_vpc(notebooks)
    domains = domains_by_vpc(snapshot)
    profiles, spaces = studio_members(index)
    # Every VPC has exactly one group named "default": the VPC's facts, its endpoints' and
    # its groups' all read it from this one map.
    default_groups = {
        (r.account_id, r.region, r.data.get("VpcId")): r.id
        for r in snapshot.iter_resources("ec2:security-group")
        if r.data.get("GroupName") == "default"
    }

    def facts(res: Resource) -> dict[str, Any]:
        key = (res.account_id, res.region, res.id)
        if res.type == "sagemaker:notebook-instance":
            key_ref = res.data.get("KmsKeyId")
            return {**notebooks[key], "kms_key": kms_key_facts(index, *key[:2], key_ref)}
        if res.type == "ec2:vpc":
            return _vpc_facts(
                index,
                res,
                hosted.get(key, []),
                domains.get(key, []),
                default_groups.get(key),
                config,
            )
        if res.type == DOMAIN_TYPE:
            vpc_key = (res.account_id, res.region, res.data.get("VpcId"))
            key_ref = res.data.get("KmsKeyId") or res.data.get("HomeEfsFileSystemKmsKeyId")
            return {
                **domain_facts(
                    index,
                    res.account_id,
                    res.region,
                    res.data,
                    profiles.get(key, []),
                    spaces.get(key, []),
                    default_groups.get(vpc_key),
                ),
                "kms_key": kms_key_facts(index, *key[:2], key_ref),
            }
        if res.type == "ec2:vpc-endpoint":
            vpc_key = (res.account_id, res.region, res.data.get("VpcId"))
            ep = endpoint_facts(
                index, res.account_id, res.region, res.data, default_groups.get(vpc_key)
            )
            return {
                **ep,
                **resolver_facts(
                    index,
                    res.account_id,
                    res.region,
                    res.data.get("VpcId"),
                    ep["service_hostname"],
                    res.data.get("PrivateDnsEnabled") is True,
                ),
            }
        if res.type == "ec2:security-group":
            vpc_key = (res.account_id, res.region, res.data.get("VpcId"))
            return {"is_vpc_default": default_groups.get(vpc_key) == res.id}
        return {}

    out = [
        EstateResource(
            r.account_id, r.region, r.type, r.id, r.arn, {**r.data, "enriched": facts(r)}
        )
        for r in snapshot.iter_resources()
    ]
    out.extend(_account_resource(index, acct) for acct in index.accounts())
    return Estate.of(out)
