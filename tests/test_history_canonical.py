"""The canonical record form: volatile fields removed, stable bytes and hashes, parsed JSON.

Also guards the volatile list against the rule packs and the enrichment: a field that a rule
or enrichment reads must never be dropped from the stored form, or a stored run would no
longer evaluate like the original.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scanner.history.canonical import (
    EMBEDDED_JSON,
    VOLATILE,
    canonical_bytes,
    canonical_record,
    content_hash,
    for_diff,
)

REPO = Path(__file__).resolve().parents[1]
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PATH_SYNTAX = re.compile(r"[A-Za-z][A-Za-z0-9]*(\[\*\])?(\.[A-Za-z][A-Za-z0-9]*(\[\*\])?)*")

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "EnableNotebookAccess", "Effect": "Allow", "Action": "*"}],
}


def notebook() -> dict[str, Any]:
    return {
        "arn": "arn:aws:sagemaker:us-west-2:111122223333:notebook-instance/nb",
        "data": {
            "NotebookInstanceName": "nb",
            "DirectInternetAccess": "Disabled",
            "NotebookInstanceStatus": "InService",
            "LastModifiedTime": "2024-05-01T10:00:00+00:00",
            "FailureReason": "",
            "Tags": [{"Key": "env", "Value": "prod"}],
        },
    }


def trail() -> dict[str, Any]:
    return {
        "arn": "arn:aws:cloudtrail:us-west-2:111122223333:trail/org",
        "data": {
            "TrailARN": "arn:aws:cloudtrail:us-west-2:111122223333:trail/org",
            "IsMultiRegionTrail": True,
            "Status": {
                "IsLogging": True,
                "TimeLoggingStarted": "2024-01-01T00:00:00Z",
                "TimeLoggingStopped": "",
                "LatestDeliveryError": "",
                "LatestDeliveryTime": "2024-05-01T10:05:00+00:00",
                "LatestDeliveryAttemptTime": "2024-05-01T10:05:00Z",
                "LatestDeliveryAttemptSucceeded": "2024-05-01T10:05:00Z",
                "LatestDigestDeliveryTime": "2024-05-01T10:00:00+00:00",
            },
        },
    }


def endpoint(policy: Any) -> dict[str, Any]:
    return {
        "arn": "arn:aws:ec2:us-west-2:111122223333:vpc-endpoint/vpce-1",
        "data": {"VpcEndpointId": "vpce-1", "State": "available", "PolicyDocument": policy},
    }


# ------------------------------------------------------------------------ volatile removal


def plant(parts: list[str], with_field: bool) -> dict[str, Any]:
    """Data reaching a field through ``parts`` (two list elements per ``[*]``), with a
    non-volatile sibling ``Keep`` at every level; the field itself only if ``with_field``."""
    head, rest = parts[0], parts[1:]
    name = head.removesuffix("[*]")
    node: dict[str, Any] = {"Keep": "sibling"}
    if rest:
        child = plant(rest, with_field)
        node[name] = [child, copy.deepcopy(child)] if head.endswith("[*]") else child
    elif with_field:
        node[name] = "volatile"
    return node


VOLATILE_CASES = [(rtype, path) for rtype, paths in VOLATILE.items() for path in paths]


@pytest.mark.parametrize(("rtype", "path"), VOLATILE_CASES)
def test_each_volatile_path_is_removed_and_its_siblings_kept(rtype: str, path: str) -> None:
    parts = path.split(".")
    record = {"arn": "arn:x", "data": plant(parts, with_field=True)}
    assert canonical_record(rtype, record) == {
        "arn": "arn:x",
        "data": plant(parts, with_field=False),
    }


def test_required_volatile_fields_are_listed() -> None:
    required = {
        "sagemaker:notebook-instance": {
            "LastModifiedTime",
            "NotebookInstanceStatus",
            "FailureReason",
        },
        "sagemaker:domain": {"LastModifiedTime", "Status", "FailureReason"},
        "sagemaker:user-profile": {"LastModifiedTime", "Status", "FailureReason"},
        "sagemaker:space": {"LastModifiedTime", "Status", "FailureReason"},
        "sagemaker:app-image-config": {"LastModifiedTime"},
        "ec2:subnet": {"AvailableIpAddressCount"},
        "ec2:vpn-connection": {
            "VgwTelemetry[*].LastStatusChange",
            "VgwTelemetry[*].StatusMessage",
            "VgwTelemetry[*].AcceptedRouteCount",
            "VgwTelemetry[*].Status",
        },
        "iam:role": {"RoleLastUsed"},
        "iam:user": {"PasswordLastUsed"},
        "route53:hosted-zone": {"ResourceRecordSetCount"},
    }
    for rtype, paths in required.items():
        assert paths <= set(VOLATILE[rtype]), rtype


def test_volatile_paths_follow_the_documented_syntax() -> None:
    bad = [p for _, p in VOLATILE_CASES if not PATH_SYNTAX.fullmatch(p)]
    assert bad == []


def test_notebook_lifecycle_fields_go_and_its_settings_stay() -> None:
    data = canonical_record("sagemaker:notebook-instance", notebook())["data"]
    assert data == {
        "NotebookInstanceName": "nb",
        "DirectInternetAccess": "Disabled",
        "Tags": [{"Key": "env", "Value": "prod"}],
    }


def test_trail_keeps_logging_state_and_errors_but_drops_delivery_bookkeeping() -> None:
    status = canonical_record("cloudtrail:trail", trail())["data"]["Status"]
    assert status == {
        "IsLogging": True,
        "TimeLoggingStarted": "2024-01-01T00:00:00Z",
        "TimeLoggingStopped": "",
        "LatestDeliveryError": "",
    }


def test_each_vpn_tunnel_loses_its_telemetry_but_not_its_address() -> None:
    tunnel = {
        "OutsideIpAddress": "203.0.113.1",
        "Status": "UP",
        "StatusMessage": "",
        "LastStatusChange": "2024-05-01T10:00:00Z",
        "AcceptedRouteCount": 3,
    }
    second = dict(tunnel, OutsideIpAddress="203.0.113.2")
    record = {"arn": None, "data": {"State": "available", "VgwTelemetry": [tunnel, second]}}
    data = canonical_record("ec2:vpn-connection", record)["data"]
    assert data == {
        "State": "available",
        "VgwTelemetry": [{"OutsideIpAddress": "203.0.113.1"}, {"OutsideIpAddress": "203.0.113.2"}],
    }


def test_canonical_record_never_mutates_its_input() -> None:
    record = notebook()
    original = copy.deepcopy(record)
    out = canonical_record("sagemaker:notebook-instance", record)
    out["data"]["Tags"][0]["Value"] = "changed"
    assert record == original


def test_missing_paths_and_unexpected_shapes_are_fine() -> None:
    record = {"arn": None, "data": {"State": "available", "VgwTelemetry": "not-a-list"}}
    assert canonical_record("ec2:vpn-connection", record) == record
    assert canonical_record("ec2:vpn-connection", {"arn": None, "data": None}) == {
        "arn": None,
        "data": None,
    }


def test_a_type_without_volatile_fields_is_copied_unchanged() -> None:
    record = {"arn": "arn:x", "data": {"VpcId": "vpc-1", "LastModifiedTime": "t"}}
    out = canonical_record("ec2:vpc", record)
    assert out == record
    assert out["data"] is not record["data"]


def test_embedded_json_stays_text_in_the_stored_form() -> None:
    text = json.dumps(POLICY)
    assert canonical_record("ec2:vpc-endpoint", endpoint(text))["data"]["PolicyDocument"] == text


# ------------------------------------------------------------------------ bytes and hashes


def test_canonical_bytes_do_not_depend_on_key_order() -> None:
    a = {"b": 1, "a": {"y": [1, 2], "x": "é"}}
    b = {"a": {"x": "é", "y": [1, 2]}, "b": 1}
    assert canonical_bytes(a) == canonical_bytes(b)
    assert canonical_bytes(a) == '{"a":{"x":"é","y":[1,2]},"b":1}'.encode()


def test_canonical_bytes_render_non_json_values_as_text() -> None:
    assert canonical_bytes({"p": Path("a/b")}) == b'{"p":"a/b"}'


def test_content_hash_is_sha256_hex() -> None:
    empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert content_hash(b"") == empty


def test_hash_is_stable_under_key_order_and_changes_with_one_field() -> None:
    record = notebook()
    reordered = {"data": dict(reversed(list(record["data"].items()))), "arn": record["arn"]}
    changed = notebook()
    changed["data"]["DirectInternetAccess"] = "Enabled"

    def digest(r: dict[str, Any]) -> str:
        return content_hash(canonical_bytes(canonical_record("sagemaker:notebook-instance", r)))

    assert digest(record) == digest(reordered)
    assert digest(record) != digest(changed)


def test_a_volatile_only_change_keeps_the_hash() -> None:
    stopped = notebook()
    stopped["data"]["NotebookInstanceStatus"] = "Stopped"

    def digest(r: dict[str, Any]) -> str:
        return content_hash(canonical_bytes(canonical_record("sagemaker:notebook-instance", r)))

    assert digest(stopped) == digest(notebook())


# ------------------------------------------------------------------------ for_diff


def test_embedded_json_fields_are_listed() -> None:
    assert EMBEDDED_JSON == {
        "ec2:vpc-endpoint": ("PolicyDocument",),
        "organizations:policy": ("Content",),
    }


def test_for_diff_parses_the_endpoint_policy() -> None:
    record = endpoint(json.dumps(POLICY, indent=2))
    assert for_diff("ec2:vpc-endpoint", record)["data"]["PolicyDocument"] == POLICY
    assert isinstance(record["data"]["PolicyDocument"], str)


def test_for_diff_parses_the_scp_content() -> None:
    record = {"arn": "arn:scp", "data": {"Id": "p-1", "Content": json.dumps(POLICY)}}
    assert for_diff("organizations:policy", record)["data"]["Content"] == POLICY


@pytest.mark.parametrize("text", ["{not json", "", "true", '"quoted"', "[" * 100_000])
def test_for_diff_leaves_text_that_is_no_json_document_as_text(text: str) -> None:
    assert for_diff("ec2:vpc-endpoint", endpoint(text))["data"]["PolicyDocument"] == text


def test_for_diff_only_parses_the_listed_fields() -> None:
    record = endpoint(json.dumps(POLICY))
    record["data"]["Other"] = json.dumps(POLICY)
    assert for_diff("ec2:vpc-endpoint", record)["data"]["Other"] == json.dumps(POLICY)
    assert for_diff("ec2:vpc", record)["data"]["PolicyDocument"] == json.dumps(POLICY)


def test_for_diff_also_removes_volatile_fields() -> None:
    data = for_diff("sagemaker:notebook-instance", notebook())["data"]
    assert "NotebookInstanceStatus" not in data
    assert data["DirectInternetAccess"] == "Disabled"


# ------------------------------------------------------------------------ guard: nobody reads them
#
# A volatile field's name may also be another type's field that IS read: cloudtrail:trail
# has a Status object (IsLogging) and route53resolver:rule-association a Status string, both
# read by enrichment.  Such a shared name is only flagged where a type it is volatile for is
# in play: in a rule of that resource_type, or in a source file that names that type.
SHARED_NAMES = {"Status"}


def volatile_names() -> dict[str, set[str]]:
    """Last path segment -> the resource types it is volatile for."""
    names: dict[str, set[str]] = {}
    for rtype, path in VOLATILE_CASES:
        names.setdefault(path.split(".")[-1].removesuffix("[*]"), set()).add(rtype)
    return names


def flagged(tokens: set[str], types_in_play: set[str]) -> list[str]:
    return sorted(
        name
        for name, rtypes in volatile_names().items()
        if name in tokens and (name not in SHARED_NAMES or rtypes & types_in_play)
    )


def rule_expressions(rule: dict[str, Any]) -> list[str]:
    check = rule.get("check") or {}
    candidates = [rule.get("select"), rule.get("applies_to")]
    candidates += [check.get("jmespath"), check.get("pass_when")]
    candidates += list((rule.get("evidence") or {}).values())
    return [c for c in candidates if isinstance(c, str)]


def rules() -> list[dict[str, Any]]:
    packs = sorted((REPO / "rules").glob("*.yaml"))
    assert packs, "no rule pack found"
    return [r for p in packs for r in yaml.safe_load(p.read_text())["rules"]]


def test_shared_names_are_volatile_names() -> None:
    assert volatile_names().keys() >= SHARED_NAMES


def test_no_rule_expression_reads_a_volatile_field() -> None:
    seen: set[str] = set()
    problems = {}
    for rule in rules():
        tokens = {t for e in rule_expressions(rule) for t in IDENTIFIER.findall(e)}
        seen |= tokens
        if hits := flagged(tokens, {rule["resource_type"]}):
            problems[rule["id"]] = hits
    assert "DirectInternetAccess" in seen  # the expressions really were collected
    assert problems == {}


def string_literals(source: str) -> list[str]:
    """Every string constant in ``source`` except docstrings (prose, not field reads)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_enrichment_builtin_or_iam_source_reads_a_volatile_field() -> None:
    sources = sorted(
        p
        for folder in ("scanner/enrichment", "scanner/engine/builtins", "scanner/iam")
        for p in (REPO / folder).glob("*.py")
    )
    assert sources, "no enrichment source found"
    seen: set[str] = set()
    problems = {}
    for source in sources:
        literals = string_literals(source.read_text())
        tokens = {t for text in literals for t in IDENTIFIER.findall(text)}
        seen |= tokens
        if hits := flagged(tokens, set(literals)):
            problems[str(source.relative_to(REPO))] = hits
    assert {"VpcId", "IsLogging"} <= seen  # the literals really were collected
    assert problems == {}


def test_the_guard_flags_what_it_should() -> None:
    assert flagged({"LastModifiedTime", "VpcId"}, set()) == ["LastModifiedTime"]
    assert flagged({"Status"}, {"cloudtrail:trail"}) == []
    assert flagged({"Status"}, {"sagemaker:domain"}) == ["Status"]
    source = '"""Reads Status."""\n\ndef f(d):\n    """LastModifiedTime."""\n    return d["RoleLastUsed"]\n'
    assert string_literals(source) == ["RoleLastUsed"]
