"""SageMaker Studio user profiles, spaces and app image configs for moto's server.

Why this exists: moto 5.2.5 implements Studio *domains* but none of ``CreateUserProfile``,
``DescribeUserProfile``, ``ListUserProfiles``, ``DeleteUserProfile``, the same four for
spaces, or the four for app image configs: its server answers them with HTTP 500 "not
implemented".  Its ``ListTags`` also fails (HTTP 500) on a user-profile or space ARN (two
path segments after the type), on an app-image-config ARN (a type it does not know), and on
a domain created without ``Tags`` (it keeps ``None`` and cannot page it).  Real AWS answers
all of these itself; this module only lets the demo and the tests create and read the
resources the ``studio-user-profile``, ``studio-space`` and ``app-image-config`` collectors
list.  Nothing in the scanner knows about it: :func:`scanner.demo.server.start_moto` calls
:func:`install` before the server starts, and the scanner keeps talking plain HTTP to it.

How: :func:`install` adds the twelve handlers to moto's own ``SageMakerResponse`` (its
``call_action`` dispatches ``ListUserProfiles`` to the method ``list_user_profiles``).  Each
handler returns moto's ``ActionResult`` like moto's ``describe_domain`` does, so every answer
goes through moto's serializer for botocore's output shape of that operation (JSON
protocol, epoch timestamps, members outside the shape dropped) over real HTTP, and errors
are moto's own SageMaker exceptions (``ResourceNotFound``, ``ResourceInUse``,
``ValidationException``).  Pagination uses moto's ``Paginator`` (AWS's default page of 10).

State lives on moto's per-account, per-region SageMaker backend (an attribute created on
first use), so ``/moto-api/reset`` forgets it with everything else.  Tags are kept the way
moto keeps them for its own SageMaker resources, a ``tags`` list on the resource that its
``_get_resource_from_arn`` finds; :func:`install` wraps that lookup so moto's unchanged
``ListTags``/``AddTags``/``DeleteTags`` work on the new ARNs, and so a domain created
without tags has an empty list instead of ``None``.

``install`` replaces handlers of these names even if a later moto brings its own: mixing
moto's ``CreateUserProfile`` with this module's ``DescribeUserProfile`` would read two stores.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

_STATE_ATTRIBUTE = "_privatelink_scanner_studio"
_INSTALLED_MARK = "_privatelink_scanner_studio_installed"
_STATE_LOCK = threading.Lock()
_INSTALL_LOCK = threading.Lock()

DEFAULT_PAGE = 10
"""AWS's default ``MaxResults`` for ListUserProfiles, ListSpaces and ListAppImageConfigs."""
MAX_PAGE = 100
FIRST_EFS_UID = 200001
"""The first ``HomeEfsFileSystemUid`` AWS hands out in a domain (then one more per member)."""

# SortBy -> describe key; the first entry is AWS's default SortBy.
_BY_TIME = {"CreationTime": "CreationTime", "LastModifiedTime": "LastModifiedTime"}
_BY_TIME_OR_NAME = {**_BY_TIME, "Name": "AppImageConfigName"}


@dataclass
class _Member:
    """One stored resource: its describe output and its tags (moto reads ``.tags``)."""

    arn: str
    describe: dict[str, Any]
    tags: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Studio:
    """Everything this module stores for one account and region."""

    user_profiles: dict[tuple[str, str], _Member] = field(default_factory=dict)
    spaces: dict[tuple[str, str], _Member] = field(default_factory=dict)
    app_image_configs: dict[str, _Member] = field(default_factory=dict)
    next_uid: dict[str, int] = field(default_factory=dict)

    def by_arn(self, arn: str) -> _Member | None:
        for table in (self.user_profiles, self.spaces, self.app_image_configs):
            for member in table.values():
                if member.arn == arn:
                    return member
        return None

    def efs_uid(self, domain_id: str) -> str:
        uid = self.next_uid.get(domain_id, FIRST_EFS_UID)
        self.next_uid[domain_id] = uid + 1
        return str(uid)


# ARN resource types whose tags live here, not in moto's own tables.
_KINDS = ("user-profile", "space", "app-image-config")


def _studio(backend: Any) -> _Studio:
    """This module's state on ``backend`` (moto's SageMaker backend), created on first use."""
    with _STATE_LOCK:
        state = backend.__dict__.get(_STATE_ATTRIBUTE)
        if state is None:
            state = _Studio()
            setattr(backend, _STATE_ATTRIBUTE, state)
        return state  # type: ignore[no-any-return]


def _exceptions() -> Any:
    from moto.sagemaker import exceptions

    return exceptions


def _now() -> Any:
    from moto.core.utils import utcnow

    return utcnow()


def _arn(response: Any, kind: str, name: str) -> str:
    from moto.sagemaker.utils import arn_formatter

    return str(arn_formatter(kind, name, response.current_account, response.region))


def _present(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` without the members that were not given (AWS omits them, as moto does)."""
    return {k: v for k, v in body.items() if v is not None}


def _result(body: dict[str, Any]) -> Any:
    """``body`` as moto's ActionResult, which moto serializes against the output shape."""
    from moto.core.responses import ActionResult

    return ActionResult(_present(body))


def _empty() -> Any:
    from moto.core.responses import EmptyResult

    return EmptyResult()


def _require_domain(response: Any, domain_id: str) -> None:
    """moto's own DescribeDomain error (ValidationException) for an unknown domain."""
    response.sagemaker_backend.describe_domain(domain_id=domain_id)


def _tags(response: Any) -> list[dict[str, str]]:
    return [dict(t) for t in response._get_param("Tags") or []]


def _page(
    response: Any, members: Iterable[_Member], summary: Callable[[_Member], dict[str, Any]]
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``members`` (sorted and filtered already) per MaxResults/NextToken.

    moto's Paginator: the token names the first member of the next page and carries a
    checksum of the filters, so a token replayed with other filters is InvalidToken.
    """
    from moto.utilities.paginator import Paginator

    limit = response._get_param("MaxResults")
    if limit is not None and not 1 <= int(limit) <= MAX_PAGE:
        raise _exceptions().ValidationError(
            message=f"1 validation error detected: Value '{limit}' at 'maxResults' failed "
            f"to satisfy constraint: Member must have value between 1 and {MAX_PAGE}"
        )
    checked = {
        k: response._get_param(k)
        for k in (
            "DomainIdEquals",
            "UserProfileNameContains",
            "SpaceNameContains",
            "NameContains",
            "SortBy",
            "SortOrder",
        )
    }
    paginator = Paginator(
        max_results=limit,
        max_results_default=DEFAULT_PAGE,
        starting_token=response._get_param("NextToken"),
        unique_attribute="arn",
        param_values_to_check=checked,
    )
    page, token = paginator.paginate(list(members))
    return [summary(m) for m in page], token


def _sorted(
    response: Any, members: Iterable[_Member], keys: dict[str, str], descending_default: bool
) -> list[_Member]:
    """``members`` in the request's SortBy/SortOrder; ``keys`` maps SortBy -> describe key,
    its first entry is AWS's default (CreationTime for all three list calls)."""
    sort_by = str(response._get_param("SortBy") or next(iter(keys)))
    key = keys.get(sort_by, next(iter(keys.values())))
    order = response._get_param("SortOrder")
    descending = descending_default if order is None else order == "Descending"
    # Creation order breaks ties (two members may share a timestamp).
    indexed = list(enumerate(members))
    indexed.sort(key=lambda im: (im[1].describe[key], im[0]), reverse=descending)
    return [m for _, m in indexed]


def _in_domain(response: Any, members: Iterable[_Member]) -> list[_Member]:
    domain = response._get_param("DomainIdEquals")
    return [m for m in members if domain is None or m.describe["DomainId"] == domain]


def _contains(members: Iterable[_Member], key: str, needle: Any) -> list[_Member]:
    return [m for m in members if not needle or str(needle) in str(m.describe[key])]


def _conflict(kind: str, name: str) -> Exception:
    return _exceptions().ResourceInUseException(  # type: ignore[no-any-return]
        message=f"Resource Already Exists: {kind} with name {name} already exists. "
        "Choose a different name."
    )


def _not_found(message: str) -> Exception:
    return _exceptions().ResourceNotFound(message=message)  # type: ignore[no-any-return]


# -- user profiles ------------------------------------------------------------------------


def _start(
    self: Any, table: str, noun: str, arn_kind: str
) -> tuple[_Studio, tuple[str, str], dict[str, Any]]:
    """What creating a user profile or space (``noun``: UserProfile | Space) shares: the
    domain must exist and the name be free; the describe fields both kinds have."""
    domain_id = str(self._get_param("DomainId"))
    name = str(self._get_param(f"{noun}Name"))
    _require_domain(self, domain_id)
    studio = _studio(self.sagemaker_backend)
    if (domain_id, name) in getattr(studio, table):
        raise _conflict(noun, name)
    now = _now()
    describe = {
        "DomainId": domain_id,
        f"{noun}Arn": _arn(self, arn_kind, f"{domain_id}/{name}"),
        f"{noun}Name": name,
        "HomeEfsFileSystemUid": studio.efs_uid(domain_id),
        "Status": "InService",
        "LastModifiedTime": now,
        "CreationTime": now,
    }
    return studio, (domain_id, name), describe


def create_user_profile(self: Any) -> Any:
    studio, key, describe = _start(self, "user_profiles", "UserProfile", "user-profile")
    describe.update(
        SingleSignOnUserIdentifier=self._get_param("SingleSignOnUserIdentifier"),
        SingleSignOnUserValue=self._get_param("SingleSignOnUserValue"),
        UserSettings=self._get_param("UserSettings"),
    )
    arn = describe["UserProfileArn"]
    studio.user_profiles[key] = _Member(arn, _present(describe), _tags(self))
    return _result({"UserProfileArn": arn})


def _user_profile_details(member: _Member) -> dict[str, Any]:
    keys = ("DomainId", "UserProfileName", "Status", "CreationTime", "LastModifiedTime")
    return {k: member.describe[k] for k in keys}


# -- spaces -------------------------------------------------------------------------------


def create_space(self: Any) -> Any:
    domain_id = str(self._get_param("DomainId"))
    ownership = self._get_param("OwnershipSettings")
    owner = (ownership or {}).get("OwnerUserProfileName")
    profiles = _studio(self.sagemaker_backend).user_profiles
    if owner is not None and (domain_id, owner) not in profiles:
        raise _not_found(f"User profile {owner} does not exist in domain {domain_id}.")
    studio, key, describe = _start(self, "spaces", "Space", "space")
    describe.update(
        SpaceSettings=self._get_param("SpaceSettings"),
        OwnershipSettings=ownership,
        SpaceSharingSettings=self._get_param("SpaceSharingSettings"),
        SpaceDisplayName=self._get_param("SpaceDisplayName"),
        Url=f"https://{domain_id}.studio.{self.region}.sagemaker.aws",
    )
    arn = describe["SpaceArn"]
    studio.spaces[key] = _Member(arn, _present(describe), _tags(self))
    return _result({"SpaceArn": arn})


def _space_details(member: _Member) -> dict[str, Any]:
    """SpaceDetails: the describe fields it shares, and summaries of the three settings."""
    d = member.describe
    settings = d.get("SpaceSettings") or {}
    summary = {k: settings.get(k) for k in ("AppType", "RemoteAccess", "SpaceStorageSettings")}
    keys = ("DomainId", "SpaceName", "Status", "CreationTime", "LastModifiedTime")
    out = {k: d[k] for k in keys}
    out["SpaceSettingsSummary"] = _present(summary) or None
    out["SpaceSharingSettingsSummary"] = d.get("SpaceSharingSettings")
    out["OwnershipSettingsSummary"] = d.get("OwnershipSettings")
    out["SpaceDisplayName"] = d.get("SpaceDisplayName")
    return _present(out)


# -- what user profiles and spaces share ---------------------------------------------------


@dataclass(frozen=True)
class _MemberKind:
    """A kind of domain member: where it is stored and how AWS names its fields."""

    table: str  # attribute of _Studio
    name_key: str  # UserProfileName | SpaceName
    noun: str  # for ResourceNotFound messages
    list_key: str  # the list call's item key
    details: Callable[[_Member], dict[str, Any]]


def _members(self: Any, kind: _MemberKind) -> dict[tuple[str, str], _Member]:
    table: dict[tuple[str, str], _Member] = getattr(_studio(self.sagemaker_backend), kind.table)
    return table


def _lookup(self: Any, kind: _MemberKind) -> _Member:
    domain_id = str(self._get_param("DomainId"))
    name = str(self._get_param(kind.name_key))
    member = _members(self, kind).get((domain_id, name))
    if member is None:
        raise _not_found(f"{kind.noun} {name} does not exist in domain {domain_id}.")
    return member


def _list(self: Any, kind: _MemberKind) -> Any:
    needle = self._get_param(f"{kind.name_key}Contains")
    members = _contains(_in_domain(self, _members(self, kind).values()), kind.name_key, needle)
    ordered = _sorted(self, members, _BY_TIME, descending_default=False)
    page, token = _page(self, ordered, kind.details)
    return _result({kind.list_key: page, "NextToken": token})


def _delete(self: Any, kind: _MemberKind) -> Any:
    member = _lookup(self, kind)
    del _members(self, kind)[(member.describe["DomainId"], member.describe[kind.name_key])]
    return _empty()


_PROFILE = _MemberKind(
    "user_profiles", "UserProfileName", "User profile", "UserProfiles", _user_profile_details
)
_SPACE = _MemberKind("spaces", "SpaceName", "Space", "Spaces", _space_details)


def _member_handlers(kind: _MemberKind, snake: str) -> dict[str, Callable[[Any], Any]]:
    """describe_/list_/delete_ handlers of one member kind (``snake``: user_profile)."""
    return {
        f"describe_{snake}": lambda self: _result(_lookup(self, kind).describe),
        f"list_{snake}s": lambda self: _list(self, kind),
        f"delete_{snake}": lambda self: _delete(self, kind),
    }


# -- app image configs --------------------------------------------------------------------

_IMAGE_CONFIGS = (
    "KernelGatewayImageConfig",
    "JupyterLabAppImageConfig",
    "CodeEditorAppImageConfig",
)


def create_app_image_config(self: Any) -> Any:
    name = str(self._get_param("AppImageConfigName"))
    studio = _studio(self.sagemaker_backend)
    if name in studio.app_image_configs:
        raise _conflict("AppImageConfig", name)
    arn = _arn(self, "app-image-config", name)
    now = _now()
    describe = {
        "AppImageConfigArn": arn,
        "AppImageConfigName": name,
        "CreationTime": now,
        "LastModifiedTime": now,
        **{k: self._get_param(k) for k in _IMAGE_CONFIGS},
    }
    studio.app_image_configs[name] = _Member(arn, _present(describe), _tags(self))
    return _result({"AppImageConfigArn": arn})


def _app_image_config(self: Any) -> _Member:
    name = str(self._get_param("AppImageConfigName"))
    member = _studio(self.sagemaker_backend).app_image_configs.get(name)
    if member is None:
        raise _not_found(f"AppImageConfig {name} does not exist.")
    return member


def describe_app_image_config(self: Any) -> Any:
    return _result(_app_image_config(self).describe)


def list_app_image_configs(self: Any) -> Any:
    """AppImageConfigDetails are the whole describe output (as AWS lists them); AWS's
    default order here is Descending, unlike the profile and space lists."""
    stored = _studio(self.sagemaker_backend).app_image_configs.values()
    members = _contains(stored, "AppImageConfigName", self._get_param("NameContains"))
    ordered = _sorted(self, members, _BY_TIME_OR_NAME, descending_default=True)
    page, token = _page(self, ordered, lambda m: dict(m.describe))
    return _result({"AppImageConfigs": page, "NextToken": token})


def delete_app_image_config(self: Any) -> Any:
    member = _app_image_config(self)
    del _studio(self.sagemaker_backend).app_image_configs[member.describe["AppImageConfigName"]]
    return _empty()


HANDLERS: dict[str, Callable[[Any], Any]] = {
    "create_user_profile": create_user_profile,
    **_member_handlers(_PROFILE, "user_profile"),
    "create_space": create_space,
    **_member_handlers(_SPACE, "space"),
    "create_app_image_config": create_app_image_config,
    "describe_app_image_config": describe_app_image_config,
    "list_app_image_configs": list_app_image_configs,
    "delete_app_image_config": delete_app_image_config,
}
"""moto method name (``call_action`` turns ``ListUserProfiles`` into ``list_user_profiles``)
-> handler."""


def _tagged_lookup(original: Callable[[Any, str], Any]) -> Callable[[Any, str], Any]:
    """moto's ``_get_resource_from_arn``, also finding this module's resources by ARN."""

    def lookup(backend: Any, arn: str) -> Any:
        kind, _, name = arn.split(":", 5)[-1].partition("/")
        if kind in _KINDS:
            member = _studio(backend).by_arn(arn)
            if member is None:  # moto's own wording for an ARN it cannot find
                raise _exceptions().ValidationError(
                    message=f"Could not find {kind} with name {name}"
                )
            return member
        resource = original(backend, arn)
        if getattr(resource, "tags", []) is None:  # moto's Domain created without Tags
            resource.tags = []
        return resource

    return lookup


def install() -> None:
    """Add the handlers to moto's SageMakerResponse and the tag lookup to its backend.

    Idempotent: a second call changes nothing.  Call it before the server handles a request.
    """
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse

    with _INSTALL_LOCK:
        if getattr(SageMakerResponse, _INSTALLED_MARK, False):
            return
        for name, handler in HANDLERS.items():
            setattr(SageMakerResponse, name, handler)
        lookup = _tagged_lookup(SageMakerModelBackend._get_resource_from_arn)
        setattr(SageMakerModelBackend, "_get_resource_from_arn", lookup)  # noqa: B010
        setattr(SageMakerResponse, _INSTALLED_MARK, True)
