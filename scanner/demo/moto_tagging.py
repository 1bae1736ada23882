"""The Resource Groups Tagging API's GetResources for the Studio resources of moto_studio.

Why this exists: moto 5.2.5's ``GetResources`` lists the SageMaker resources of moto's own
backend (``SageMakerModelBackend.iter_tagged_resources``: notebook instances, domains and
24 other types) but not user profiles, spaces or app image configs, which moto does not
implement and :mod:`scanner.demo.moto_studio` stores instead.  So
``GetResources(ResourceTypeFilters=["sagemaker:user-profile"])`` (or ``sagemaker:space``,
``sagemaker:app-image-config``, or plain ``sagemaker``) answers without them however many
tagged ones exist, where real AWS lists each of them with its tags.  Nothing in the scanner
knows about this module: :func:`scanner.demo.server.start_moto` calls :func:`install` before
the server starts, and the scanner keeps talking plain HTTP to it.

How: :func:`install` wraps ``SageMakerModelBackend.iter_tagged_resources`` (the hook of
moto's ``TaggableResourcesMixin`` that its tagging backend walks for the backend of the
request's account and region) so it also yields moto_studio's resources, each as moto's
own ``TaggedResource`` with its ARN, its tags and its type (``sagemaker:user-profile``,
``sagemaker:space``, ``sagemaker:app-image-config``).  moto's unchanged code then applies
``ResourceTypeFilters`` and ``TagFilters``, pages (``ResourcesPerPage``, ``TagsPerPage``,
``PaginationToken``) and serializes the answer, exactly as it does for notebook instances.
The tags are the very list moto_studio keeps (and ``AddTags``/``DeleteTags`` change), so
``ListTags`` and ``GetResources`` always agree.

Not replicated, for these types as for moto's own: AWS also lists a resource that was
tagged once and has no tags now, with ``"Tags": []``; moto lists only resources that have
tags.  To a reader of tags both say "no tags" (an untagged resource is absent either way).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from scanner.demo import moto_studio

_INSTALLED_MARK = "_privatelink_scanner_tagging_installed"
_INSTALL_LOCK = threading.Lock()

# moto_studio's tables (attributes of its per-backend state) -> GetResources resource type.
RESOURCE_TYPES = {
    "user_profiles": "sagemaker:user-profile",
    "spaces": "sagemaker:space",
    "app_image_configs": "sagemaker:app-image-config",
}


def _studio_resources(backend: Any) -> Iterator[Any]:
    """moto_studio's resources on ``backend`` as moto's ``TaggedResource``s."""
    from moto.core.resource_tagging import TaggedResource

    studio = moto_studio._studio(backend)
    for table, resource_type in RESOURCE_TYPES.items():
        for member in list(getattr(studio, table).values()):
            yield TaggedResource(
                arn=member.arn,
                tags={t["Key"]: t["Value"] for t in member.tags},
                resource_type=resource_type,
            )


def _with_studio(original: Callable[[Any], Iterator[Any]]) -> Callable[[Any], Iterator[Any]]:
    """moto's ``iter_tagged_resources``, then moto_studio's resources."""

    def iter_tagged_resources(backend: Any) -> Iterator[Any]:
        yield from original(backend)
        yield from _studio_resources(backend)

    return iter_tagged_resources


def install() -> None:
    """Make moto's GetResources list moto_studio's resources.

    Idempotent: a second call changes nothing.  Call it before the server handles a request.
    """
    from moto.sagemaker.models import SageMakerModelBackend

    with _INSTALL_LOCK:
        if getattr(SageMakerModelBackend, _INSTALLED_MARK, False):
            return
        wrapped = _with_studio(SageMakerModelBackend.iter_tagged_resources)
        setattr(SageMakerModelBackend, "iter_tagged_resources", wrapped)  # noqa: B010
        setattr(SageMakerModelBackend, _INSTALLED_MARK, True)
