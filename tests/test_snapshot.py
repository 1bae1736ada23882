"""The snapshot document: round trip, schema-version refusal, atomic writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from scanner.errors import InputError
from scanner.model.snapshot import (
    SCHEMA_VERSION,
    CollectorOutcome,
    OutcomeStatus,
    Snapshot,
)


def sample() -> Snapshot:
    snap = Snapshot(accounts=["111122223333"], regions=["us-west-2"])
    snap.add("111122223333", "us-west-2", "ec2:vpc", "vpc-1", {"VpcId": "vpc-1"}, arn="arn:x")
    snap.record(
        CollectorOutcome(
            collector="ec2.vpcs",
            account_id="111122223333",
            region="us-west-2",
            resource_types=["ec2:vpc"],
            status=OutcomeStatus.ERROR,
            error_code="AccessDenied",
        )
    )
    return snap


def test_round_trip(tmp_path: Path) -> None:
    path = sample().save(tmp_path / "s.json.gz")
    loaded = Snapshot.load(path)
    assert loaded.schema_version == SCHEMA_VERSION
    res = loaded.get("111122223333", "us-west-2", "ec2:vpc", "vpc-1")
    assert res is not None and res.arn == "arn:x" and res.data == {"VpcId": "vpc-1"}
    assert [o.status for o in loaded.failed_outcomes()] == [OutcomeStatus.ERROR]
    assert raw_is_gzip(path)


def raw_is_gzip(path: Path) -> bool:
    return path.read_bytes()[:2] == b"\x1f\x8b"


def test_refuses_unknown_schema_version(tmp_path: Path) -> None:
    doc = sample().to_dict()
    doc["schema_version"] = SCHEMA_VERSION + 1
    path = tmp_path / "future.json.gz"
    path.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with pytest.raises(InputError) as err:
        Snapshot.load(path)
    assert "schema_version" in err.value.problem and err.value.path == str(path)


def test_bad_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n "schema_version": 1,\n oops\n}')
    with pytest.raises(InputError) as err:
        Snapshot.load(path)
    assert err.value.line == 3


def test_outcomes_for_global_scope_answers_every_region() -> None:
    snap = Snapshot()
    snap.record(
        CollectorOutcome("iam", "1", "global", ["iam:role"], OutcomeStatus.OK),
    )
    assert len(snap.outcomes_for("iam:role", "1", "eu-west-1")) == 1
    assert snap.outcomes_for("iam:role", "2", "eu-west-1") == []


def test_save_leaves_no_temp_files(tmp_path: Path) -> None:
    sample().save(tmp_path / "s.json.gz")
    assert [p.name for p in tmp_path.iterdir()] == ["s.json.gz"]


VPC_KEY = ("111122223333", "us-west-2", "ec2:vpc", "vpc-1")


def _break(doc: dict[str, Any], breakage: str) -> None:
    account, region, rtype, rid = VPC_KEY
    record = doc["resources"][account][region][rtype][rid]
    if breakage == "region-not-object":
        doc["resources"][account] = 5
    elif breakage == "record-without-data":
        del record["data"]
    elif breakage == "data-not-object":
        record["data"] = ["vpc-1"]
    elif breakage == "arn-not-string":
        record["arn"] = 7
    elif breakage == "accounts-a-string":
        doc["accounts"] = "111122223333"
    else:  # resources-a-list
        doc["resources"] = [record]


@pytest.mark.parametrize(
    "breakage",
    [
        "region-not-object",
        "record-without-data",
        "data-not-object",
        "arn-not-string",
        "accounts-a-string",
        "resources-a-list",
    ],
)
def test_malformed_document_is_an_input_error_at_load(tmp_path: Path, breakage: str) -> None:
    """A hand-edited or truncated snapshot fails when read, with its path, not later as a
    KeyError or TypeError inside enrichment or a rule (a traceback instead of exit 2)."""
    doc = sample().to_dict()
    _break(doc, breakage)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as err:
        Snapshot.load(path)
    assert "malformed" in err.value.problem and err.value.path == str(path)


def test_record_without_arn_is_accepted() -> None:
    """``arn`` is optional (``null`` or absent): only its type is checked."""
    doc = sample().to_dict()
    account, region, rtype, rid = VPC_KEY
    del doc["resources"][account][region][rtype][rid]["arn"]
    res = Snapshot.from_dict(doc).get(*VPC_KEY)
    assert res is not None and res.arn is None
