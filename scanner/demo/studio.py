"""Builders for SageMaker Studio in moto's server: domains, user profiles, spaces and
AppImageConfigs (the write side of the ``studio-*`` collectors), for the demo and the tests.

moto implements domains itself; user profiles, spaces and AppImageConfigs are served by
:mod:`scanner.demo.moto_studio`, which the demo server installs.  Like
:mod:`scanner.demo.builders`, the defaults build the compliant setup and each keyword breaks
one thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from scanner.demo.builders import ClientFactory


def _tags(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in (tags or {}).items()]


def build_domain(
    make: ClientFactory,
    region: str,
    name: str,
    vpc_id: str,
    subnet_ids: Sequence[str],
    sg_ids: Sequence[str],
    *,
    network_access: str | None = "VpcOnly",
    auth_mode: str = "IAM",
    kms_key: str | None = None,
    role_arn: str = "arn:aws:iam::123456789012:role/studio-execution",
    custom_images: Sequence[tuple[str, str]] = (),
    docker_access: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """A Studio domain; ``network_access=None`` omits AppNetworkAccessType (AWS's default,
    PublicInternetOnly).  ``custom_images`` are (image name, AppImageConfig name) pairs for
    JupyterLab in the default user settings.  Returns the domain id."""
    user: dict[str, Any] = {"ExecutionRole": role_arn, "SecurityGroups": list(sg_ids)}
    if custom_images:
        user["JupyterLabAppSettings"] = {
            "CustomImages": [
                {"ImageName": image, "AppImageConfigName": config}
                for image, config in custom_images
            ]
        }
    kwargs: dict[str, Any] = {
        "DomainName": name,
        "AuthMode": auth_mode,
        "DefaultUserSettings": user,
        "SubnetIds": list(subnet_ids),
        "VpcId": vpc_id,
        "Tags": _tags(tags),
    }
    if network_access is not None:
        kwargs["AppNetworkAccessType"] = network_access
    if kms_key is not None:
        kwargs["KmsKeyId"] = kms_key
    if docker_access is not None:
        kwargs["DomainSettings"] = {"DockerSettings": {"EnableDockerAccess": docker_access}}
    arn = str(make("sagemaker", region).create_domain(**kwargs)["DomainArn"])
    return arn.rsplit("/", 1)[-1]


def build_user_profile(
    make: ClientFactory,
    region: str,
    domain_id: str,
    name: str,
    *,
    sg_ids: Sequence[str] | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """A user profile; ``sg_ids`` overrides the domain's default groups.  Returns its ARN."""
    kwargs: dict[str, Any] = {
        "DomainId": domain_id,
        "UserProfileName": name,
        "Tags": _tags(tags),
    }
    if sg_ids is not None:
        kwargs["UserSettings"] = {"SecurityGroups": list(sg_ids)}
    return str(make("sagemaker", region).create_user_profile(**kwargs)["UserProfileArn"])


def build_space(
    make: ClientFactory,
    region: str,
    domain_id: str,
    name: str,
    *,
    owner: str | None = None,
    custom_images: Sequence[tuple[str, str]] = (),
) -> str:
    """A JupyterLab space (private to ``owner`` when given).  Returns its ARN."""
    settings: dict[str, Any] = {"AppType": "JupyterLab"}
    if custom_images:
        settings["JupyterLabAppSettings"] = {
            "CustomImages": [
                {"ImageName": image, "AppImageConfigName": config}
                for image, config in custom_images
            ]
        }
    kwargs: dict[str, Any] = {"DomainId": domain_id, "SpaceName": name, "SpaceSettings": settings}
    if owner is not None:
        kwargs["OwnershipSettings"] = {"OwnerUserProfileName": owner}
        kwargs["SpaceSharingSettings"] = {"SharingType": "Private"}
    return str(make("sagemaker", region).create_space(**kwargs)["SpaceArn"])


def build_app_image_config(
    make: ClientFactory, region: str, name: str, *, default_uid: int | None = 1000
) -> str:
    """A JupyterLab AppImageConfig; ``default_uid=None`` omits it (AWS's default, 1000).
    Returns its ARN."""
    fs: dict[str, Any] = {"MountPath": "/home/sagemaker-user", "DefaultGid": 100}
    if default_uid is not None:
        fs["DefaultUid"] = default_uid
    return str(
        make("sagemaker", region).create_app_image_config(
            AppImageConfigName=name, JupyterLabAppImageConfig={"FileSystemConfig": fs}
        )["AppImageConfigArn"]
    )
