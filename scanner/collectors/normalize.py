"""Turn boto3 answers into snapshot data: JSON types only, AWS's field names kept.

Datetimes become ISO-8601 strings (the snapshot is JSON); IAM policy documents become
dicts whichever form they arrive in (botocore decodes them for IAM, but a URL-encoded or
JSON string must end up the same, or a rule would read a string as "no statements").
Also here: which Route 53 zones could answer a SageMaker hostname.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any
from urllib.parse import unquote

# Hostnames SageMaker clients resolve, per region: the API and runtime endpoints and the
# notebook / Studio URLs (one label, the notebook name or domain id, under the wildcard).
SAGEMAKER_HOSTNAME_PATTERNS = (
    "api.sagemaker.{region}.amazonaws.com",
    "runtime.sagemaker.{region}.amazonaws.com",
    "*.notebook.{region}.sagemaker.aws",
    "*.studio.{region}.sagemaker.aws",
)


class MalformedResponse(ValueError):
    """AWS (or a stand-in) answered with data the scanner cannot interpret."""


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` with datetimes as ISO-8601 strings and bytes as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def decode_policy_document(doc: Any) -> Any:
    """A policy document as a dict, from a dict, a JSON string or a URL-encoded JSON string."""
    if isinstance(doc, dict) or doc is None:
        return doc
    if not isinstance(doc, str):
        raise MalformedResponse(f"policy document of unexpected type {type(doc).__name__}")
    for text in (doc, unquote(doc)):
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            continue
        if isinstance(decoded, dict):
            return decoded
    raise MalformedResponse("policy document is not a JSON object")


def decode_iam_documents(item: dict[str, Any]) -> dict[str, Any]:
    """Decode every policy document in a GetAccountAuthorizationDetails item, in place."""
    if "AssumeRolePolicyDocument" in item:
        item["AssumeRolePolicyDocument"] = decode_policy_document(item["AssumeRolePolicyDocument"])
    for list_key in ("UserPolicyList", "GroupPolicyList", "RolePolicyList"):
        for inline in item.get(list_key) or []:
            inline["PolicyDocument"] = decode_policy_document(inline.get("PolicyDocument"))
    for version in item.get("PolicyVersionList") or []:
        version["Document"] = decode_policy_document(version.get("Document"))
    return item


def _labels(name: str) -> list[str]:
    return name.lower().rstrip(".").split(".")[::-1]


def zone_could_answer(zone_name: str, regions: tuple[str, ...] | list[str]) -> bool:
    """True when a zone named ``zone_name`` could hold a record for a SageMaker hostname.

    That is when the zone's name is a (label-aligned) suffix of one of the hostnames in
    :data:`SAGEMAKER_HOSTNAME_PATTERNS`, ``*`` standing for any one label:
    ``amazonaws.com``, ``sagemaker.us-west-2.amazonaws.com`` and
    ``notebook.us-west-2.sagemaker.aws`` qualify; ``example.com`` does not.
    """
    zone = _labels(zone_name)
    for region in regions:
        for pattern in SAGEMAKER_HOSTNAME_PATTERNS:
            host = _labels(pattern.format(region=region))
            if len(zone) <= len(host) and all(
                h in ("*", z) for z, h in zip(zone, host, strict=False)
            ):
                return True
    return False
