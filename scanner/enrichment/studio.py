"""SageMaker Studio joins: a domain with its user profiles, spaces, subnets, security groups
and custom images, resolved once so the Studio rules only read facts.

A domain's network question is the notebook's with Studio's parts.  In ``VpcOnly`` mode all
app traffic leaves through the domain's subnets, so their effective route tables decide
whether there is a way out; in ``PublicInternetOnly`` mode (AWS's default when the field is
absent) SageMaker's own VPC gives the apps internet access and the customer VPC carries
only EFS traffic.  Security groups come from four places that all reach the apps' network
interfaces: the domain's ``DefaultUserSettings`` and ``DefaultSpaceSettings``, its
``DomainSettings.SecurityGroupIds`` (domain-level apps such as RStudio), and each user
profile's own ``UserSettings`` (an override for that profile's apps).  Spaces have no groups
of their own (``DescribeSpace`` has no such field): they run with the domain's space
defaults.  Custom images are named by app settings at every level; whether one runs as
root is in its AppImageConfig (``FileSystemConfig.DefaultUid``, 1000 when absent).
"""

from __future__ import annotations

from typing import Any

from scanner.enrichment.endpoints import security_groups
from scanner.enrichment.index import SnapshotIndex
from scanner.enrichment.network import subnet_route_facts
from scanner.model.snapshot import Snapshot

PUBLIC_INTERNET_ONLY = "PublicInternetOnly"
VPC_ONLY = "VpcOnly"
DEFAULT_UID = 1000
"""AppImageConfig ``FileSystemConfig.DefaultUid`` when not specified (CreateAppImageConfig)."""

# App settings that may name custom images, in UserSettings, DefaultSpaceSettings and
# SpaceSettings alike.
_APP_SETTINGS = ("KernelGatewayAppSettings", "JupyterLabAppSettings", "CodeEditorAppSettings")

DomainKey = tuple[str, str, str]  # (account, region, domain id)
DOMAIN_TYPE = "sagemaker:domain"


def domains_by_vpc(snapshot: Snapshot) -> dict[tuple[str, str, str], list[tuple[str, bool]]]:
    """(account, region, VPC) -> sorted (domain id, is VpcOnly) of the domains in that VPC."""
    out: dict[tuple[str, str, str], list[tuple[str, bool]]] = {}
    for r in snapshot.iter_resources(DOMAIN_TYPE):
        key = (r.account_id, r.region, str(r.data.get("VpcId")))
        out.setdefault(key, []).append((r.id, network_access(r.data)[0] == VPC_ONLY))
    return {k: sorted(v) for k, v in out.items()}


def network_access(data: dict[str, Any]) -> tuple[str, bool]:
    """The domain's AppNetworkAccessType and whether it was assumed (absent: AWS's default,
    ``PublicInternetOnly``, per CreateDomain)."""
    raw = data.get("AppNetworkAccessType")
    if isinstance(raw, str) and raw:
        return raw, False
    return PUBLIC_INTERNET_ONLY, True


def members_by_domain(index: SnapshotIndex, rtype: str) -> dict[DomainKey, list[Any]]:
    """User profiles or spaces grouped by their domain, each list sorted by id."""
    out: dict[DomainKey, list[Any]] = {}
    for res in index.snapshot.iter_resources(rtype):
        key = (res.account_id, res.region, str(res.data.get("DomainId")))
        out.setdefault(key, []).append(res)
    for items in out.values():
        items.sort(key=lambda r: r.id)
    return out


def studio_members(
    index: SnapshotIndex,
) -> tuple[dict[DomainKey, list[Any]], dict[DomainKey, list[Any]]]:
    """User profiles and spaces, each grouped by domain."""
    return (
        members_by_domain(index, "sagemaker:user-profile"),
        members_by_domain(index, "sagemaker:space"),
    )


def _group_ids(settings: Any, key: str = "SecurityGroups") -> list[str]:
    if not isinstance(settings, dict):
        return []
    return [g for g in settings.get(key) or [] if isinstance(g, str) and g]


def _images(settings: Any, where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(settings, dict):
        return out
    for app in _APP_SETTINGS:
        for image in (settings.get(app) or {}).get("CustomImages") or []:
            out.append(
                {
                    "where": where,
                    "app": app.removesuffix("AppSettings"),
                    "image_name": image.get("ImageName"),
                    "app_image_config": image.get("AppImageConfigName"),
                }
            )
    return out


def _image_uid(index: SnapshotIndex, account: str, region: str, image: dict[str, Any]) -> None:
    """Complete a custom image with the default UIDs its AppImageConfig sets (in place):
    one per app config part present, 1000 where ``DefaultUid`` is absent."""
    config = index.data(
        account, region, "sagemaker:app-image-config", str(image["app_image_config"])
    )
    image["config_found"] = config is not None
    uids = set()
    for part in (
        "KernelGatewayImageConfig",
        "JupyterLabAppImageConfig",
        "CodeEditorAppImageConfig",
    ):
        section = (config or {}).get(part)
        if isinstance(section, dict):
            uid = (section.get("FileSystemConfig") or {}).get("DefaultUid")
            uids.add(uid if isinstance(uid, int) else DEFAULT_UID)
    if config is not None and not uids:
        uids.add(DEFAULT_UID)
    image["default_uids"] = sorted(uids)
    image["runs_as_root"] = 0 in uids


def domain_facts(
    index: SnapshotIndex,
    account: str,
    region: str,
    data: dict[str, Any],
    profiles: list[Any],
    spaces: list[Any],
    default_group: str | None,
) -> dict[str, Any]:
    """Everything the Studio rules need about one domain (see the module docstring)."""
    mode, assumed = network_access(data)
    vpc_id = data.get("VpcId")
    subnets = [
        {"subnet_id": sid, **subnet_route_facts(index, account, region, sid)}
        for sid in data.get("SubnetIds") or []
        if isinstance(sid, str)
    ]
    sources: list[tuple[str, list[str]]] = [
        ("domain DefaultUserSettings", _group_ids(data.get("DefaultUserSettings"))),
        ("domain DefaultSpaceSettings", _group_ids(data.get("DefaultSpaceSettings"))),
        ("domain DomainSettings", _group_ids(data.get("DomainSettings"), "SecurityGroupIds")),
    ]
    sources += [
        (
            f"user profile {p.data.get('UserProfileName', p.id)}",
            _group_ids(p.data.get("UserSettings")),
        )
        for p in profiles
    ]
    groups = [
        {"where": where, **group}
        for where, ids in sources
        for group in security_groups(index, account, region, ids, default_group)
    ]
    images = _images(data.get("DefaultUserSettings"), "domain DefaultUserSettings")
    images += _images(data.get("DefaultSpaceSettings"), "domain DefaultSpaceSettings")
    for p in profiles:
        images += _images(
            p.data.get("UserSettings"), f"user profile {p.data.get('UserProfileName', p.id)}"
        )
    for s in spaces:
        images += _images(s.data.get("SpaceSettings"), f"space {s.data.get('SpaceName', s.id)}")
    for image in images:
        _image_uid(index, account, region, image)
    docker = ((data.get("DomainSettings") or {}).get("DockerSettings")) or {}
    return {
        "network_access": mode,
        "network_access_assumed": assumed,
        "vpc_only": mode == VPC_ONLY,
        "auth_mode": data.get("AuthMode"),
        "vpc_id": vpc_id,
        "vpc_found": isinstance(vpc_id, str)
        and index.data(account, region, "ec2:vpc", vpc_id) is not None,
        "subnets": subnets,
        "security_groups": groups,
        "user_profiles": [
            {
                "id": p.id,
                "name": p.data.get("UserProfileName"),
                "arn": p.arn or p.data.get("UserProfileArn"),
            }
            for p in profiles
        ],
        "spaces": [{"id": s.id, "name": s.data.get("SpaceName")} for s in spaces],
        "custom_images": images,
        "docker": {
            "EnableDockerAccess": docker.get("EnableDockerAccess"),
            "RootlessDocker": docker.get("RootlessDocker"),
        },
    }
