"""The canonical form of a snapshot record: what the history store hashes and drift compares.

Two runs over an unchanged estate must store the same bytes, or the store keeps a copy of
every resource per run and drift reports noise (driftctl dropped its deep mode over exactly
this: defaulted and volatile fields).  So:

* :data:`VOLATILE` is the ONE list of fields that AWS changes without any configuration
  change (status, counters, last-used and last-delivery timestamps).  No rule pack and no
  enrichment reads them (``tests/test_history_canonical.py`` guards that), so a record
  without them evaluates exactly like the original.  :func:`canonical_record` removes them.
* :data:`EMBEDDED_JSON` lists fields that AWS returns as JSON *text*.  The stored form keeps
  them as text (rules and the IAM parser read the text as collected); :func:`for_diff`
  parses them, so a whitespace or key-order change of a policy is no drift and a real change
  reads as a path inside the policy.

Path syntax (relative to a record's ``data``): dotted keys, ``[*]`` after a key for each
element of the list under it, e.g. ``Status.LatestDeliveryTime`` or
``VgwTelemetry[*].LastStatusChange``.  Keys are AWS's own field names, which hold no dots.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Iterator
from typing import Any

VOLATILE: dict[str, tuple[str, ...]] = {
    "sagemaker:notebook-instance": (
        # Bumped by every start/stop and by SageMaker's own maintenance, not only by updates;
        # an update shows up as the changed setting itself.
        "LastModifiedTime",
        # Pending/InService/Stopping/Stopped/...: users stop and start notebooks daily.
        "NotebookInstanceStatus",
        # Set while the instance is Failed, cleared on the next transition: lifecycle state.
        "FailureReason",
    ),
    "sagemaker:domain": (
        # Bumped by status transitions and service-side updates.
        "LastModifiedTime",
        # Pending/InService/Updating/...: transitional lifecycle state.
        "Status",
        # Accompanies a Failed/Update_Failed status; lifecycle state, not configuration.
        "FailureReason",
    ),
    # Studio user profiles and spaces: the same lifecycle fields as their domain.
    "sagemaker:user-profile": (
        # Bumped by status transitions and service-side updates.
        "LastModifiedTime",
        # Pending/InService/Updating/Deleting/...: transitional lifecycle state.
        "Status",
        # Accompanies a Failed/Update_Failed/Delete_Failed status; lifecycle state.
        "FailureReason",
    ),
    "sagemaker:space": (
        "LastModifiedTime",
        "Status",
        "FailureReason",
    ),
    "sagemaker:app-image-config": (
        # Bumped by UpdateAppImageConfig; the change itself shows in the image config.
        "LastModifiedTime",
    ),
    "ec2:subnet": (
        # Moves with every network interface created or deleted in the subnet.
        "AvailableIpAddressCount",
    ),
    "ec2:vpn-connection": (
        # Tunnel telemetry: changes whenever a tunnel flaps or BGP re-advertises; the
        # connection's own State (read by enrichment) is kept.
        "VgwTelemetry[*].LastStatusChange",
        "VgwTelemetry[*].StatusMessage",
        "VgwTelemetry[*].AcceptedRouteCount",
        "VgwTelemetry[*].Status",
    ),
    "cloudtrail:trail": (
        # GetTrailStatus delivery bookkeeping: new values every few minutes while the trail
        # logs.  IsLogging, TimeLoggingStarted/Stopped and the Latest*Error fields are kept:
        # they change when someone stops logging or breaks delivery, which is drift.
        "Status.LatestDeliveryTime",
        "Status.LatestNotificationTime",
        "Status.LatestDigestDeliveryTime",
        "Status.LatestCloudWatchLogsDeliveryTime",
        "Status.LatestDeliveryAttemptTime",
        "Status.LatestNotificationAttemptTime",
        "Status.LatestDeliveryAttemptSucceeded",
        "Status.LatestNotificationAttemptSucceeded",
    ),
    "iam:role": (
        # Last use date and region: changes whenever the role is assumed.
        "RoleLastUsed",
    ),
    "iam:user": (
        # Changes whenever the user signs in to the console.
        "PasswordLastUsed",
    ),
    "route53:hosted-zone": (
        # Counts every record in the zone; the records that can answer a SageMaker hostname
        # are collected (ResourceRecordSets) and diffed themselves.
        "ResourceRecordSetCount",
    ),
}

EMBEDDED_JSON: dict[str, tuple[str, ...]] = {
    # DescribeVpcEndpoints returns the endpoint policy as a JSON string, kept raw.
    "ec2:vpc-endpoint": ("PolicyDocument",),
    # DescribePolicy returns the SCP as a JSON string, kept raw.  IAM documents (GAAD) are
    # already decoded to objects at collection (scanner/collectors/normalize.py).
    "organizations:policy": ("Content",),
}

_EACH = "[*]"

_Steps = tuple[str, ...]


def _steps(path: str) -> _Steps:
    """``"A[*].B"`` as ``("A", "[*]", "B")``; a malformed path fails at import, not at scan."""
    steps: list[str] = []
    for part in path.split("."):
        name = part.removesuffix(_EACH)
        if not name or "[" in name or "]" in name:
            raise ValueError(f"malformed field path {path!r}")
        steps.append(name)
        if part.endswith(_EACH):
            steps.append(_EACH)
    if steps[-1] == _EACH:
        raise ValueError(f"field path {path!r} must end with a key")
    return tuple(steps)


def _compile(table: dict[str, tuple[str, ...]]) -> dict[str, tuple[_Steps, ...]]:
    return {rtype: tuple(_steps(p) for p in paths) for rtype, paths in table.items()}


_VOLATILE_STEPS = _compile(VOLATILE)
_EMBEDDED_STEPS = _compile(EMBEDDED_JSON)


def _targets(node: Any, steps: _Steps) -> Iterator[tuple[dict[str, Any], str]]:
    """Every ``(mapping, key)`` the path reaches in ``node``, key present.

    Anything missing or of another shape on the way simply yields nothing: records differ
    (a notebook outside a VPC has no SubnetId) and a missing path is not an error.
    """
    head, rest = steps[0], steps[1:]
    if head == _EACH:
        if isinstance(node, list):
            for item in node:
                yield from _targets(item, rest)
    elif isinstance(node, dict) and head in node:
        if rest:
            yield from _targets(node[head], rest)
        else:
            yield node, head


def _apply(
    table: dict[str, tuple[_Steps, ...]],
    resource_type: str,
    record: dict[str, Any],
    action: Callable[[dict[str, Any], str], None],
) -> None:
    """Run ``action(mapping, key)`` on every field of ``table[resource_type]`` in ``data``."""
    data = record.get("data")
    for steps in table.get(resource_type, ()):
        # Materialise first: the action may delete the key the generator is standing on.
        for mapping, key in list(_targets(data, steps)):
            action(mapping, key)


def _delete(mapping: dict[str, Any], key: str) -> None:
    del mapping[key]


def _parse_in_place(mapping: dict[str, Any], key: str) -> None:
    mapping[key] = _parse_embedded(mapping[key])


def _parse_embedded(value: Any) -> Any:
    """JSON text as the object or array it encodes; anything else unchanged, never raises.

    Text that is not JSON, or JSON of a scalar (``"true"``), stays text: a policy is an
    object, and turning text into a scalar of another type would invent a type change.
    """
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return value
    return decoded if isinstance(decoded, dict | list) else value


def canonical_record(resource_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``record`` without the :data:`VOLATILE` fields of its type.

    Embedded JSON stays text: the stored form must evaluate exactly like the original.
    The input is never mutated.
    """
    out = copy.deepcopy(record)
    _apply(_VOLATILE_STEPS, resource_type, out, _delete)
    return out


def canonical_bytes(obj: Any) -> bytes:
    """Key-order independent UTF-8 JSON: equal content gives equal bytes, hence equal hashes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    ).encode("utf-8")


def content_hash(body: bytes) -> str:
    """The sha256 hex digest of ``body`` (the store's content address)."""
    return hashlib.sha256(body).hexdigest()


def for_diff(resource_type: str, record: dict[str, Any]) -> dict[str, Any]:
    """:func:`canonical_record` with the :data:`EMBEDDED_JSON` fields parsed, for diffing.

    Parsing makes formatting-only rewrites of a policy (whitespace, key order) no drift and
    lets a real change read as a path inside the document.  Invalid JSON stays text.
    """
    out = canonical_record(resource_type, record)
    _apply(_EMBEDDED_STEPS, resource_type, out, _parse_in_place)
    if resource_type == "iam:policy":
        _add_default_document(out)
    return out


DEFAULT_DOCUMENT = "DefaultVersionDocument"
"""Diff-only field of ``iam:policy``: the document of its default version.

A managed policy changes by gaining a version, so the raw diff shows only "version v2
added" and the default flags moving.  What matters is the policy in force: diffing the
default version's document names the statement and condition that changed (the endpoint
ids a new version no longer requires) the way an inline policy's diff does."""


def _add_default_document(record: dict[str, Any]) -> None:
    data = record.get("data")
    if not isinstance(data, dict):
        return
    versions = data.get("PolicyVersionList")
    if not isinstance(versions, list):
        return
    default = next(
        (v for v in versions if isinstance(v, dict) and v.get("IsDefaultVersion") is True), None
    )
    if default is not None and "Document" in default:
        data[DEFAULT_DOCUMENT] = default["Document"]
