"""The machine-readable formats (compliance CSV, OCSF, ASFF, xlsx) and ``scanner report``.

Findings are made by hand so each expectation can be read off the test.  The lifecycle
tests (OCSF Create / Update / Close, ASFF resolved) store two runs through the store's
public API, on SQLite and on PostgreSQL, and read them back the way ``scanner report``
does; the command itself runs as a subprocess against the same stores.  No AWS, no mocks.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
from py_ocsf_models.events.findings.detection_finding import DetectionFinding

from scanner.config import ALL_FORMATS, DEFAULT_FORMATS, Config
from scanner.engine import load_ruleset
from scanner.evidence import stored_record
from scanner.history.store import RunRow, Store
from scanner.model.finding import Finding, Severity, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import CollectorOutcome, OutcomeStatus, Snapshot
from scanner.reporting import WRITERS, parse_formats, report_files, write_reports
from scanner.reporting.asff import asff_batches
from scanner.reporting.compliance import compliance_rows
from scanner.reporting.ocsf import ocsf_events
from tests.clikit import run_cli

ACCOUNT = "111122223333"
REGION = "us-west-2"
NB = "sagemaker:notebook-instance"
ROOT = "notebook-root-access-disabled"  # HIPAA 164.312(a)(1), PCI DSS 2.2.x
IMDS = "notebook-imdsv2-required"  # HIPAA 164.312(a)(1) as well
IN_VPC = "notebook-in-vpc"  # HIPAA 164.312(e)(1)
MAPPING = {r.id: r.frameworks for r in load_ruleset().rules}
PAYLOADS = ['=HYPERLINK("http://evil.example/x","open me")', "+cmd|' /C calc'!A0", "@SUM(1+1)"]


def make(
    rule_id: str,
    resource_id: str,
    status: Status,
    *,
    severity: Severity = Severity.HIGH,
    message: str | None = None,
    waiver: dict[str, Any] | None = None,
    region: str = REGION,
    evidence: dict[str, Any] | None = None,
) -> Finding:
    """A finding of a shipped rule, with the rule's real framework mapping."""
    return Finding(
        rule_id=rule_id,
        status=status,
        severity=severity,
        account_id=ACCOUNT,
        region=region,
        resource_type=NB,
        resource_id=resource_id,
        title=f"title of {rule_id}",
        message=message if message is not None else f"{rule_id} on {resource_id}: {status}",
        resource_arn=f"arn:aws:sagemaker:{region}:{ACCOUNT}:notebook-instance/{resource_id}",
        evidence=evidence if evidence is not None else {"checked": resource_id},
        frameworks={k: list(v) for k, v in MAPPING[rule_id].items()},
        remediation={
            "text": f"Fix {rule_id}.",
            "cli": "aws sagemaker update-notebook-instance",
            "references": ["https://docs.aws.amazon.com/sagemaker/latest/dg/nbi.html"],
        },
        waiver=waiver,
    )


WAIVER = {
    "id": "w-1",
    "rule_id": ROOT,
    "resource": "nb-w",
    "reason": "vendor image needs root until Q3",
    "owner": "alice@example.com",
    "expires": "2099-01-01",
}


def snapshot(notebooks: Iterable[str], *, day: int = 1) -> Snapshot:
    snap = Snapshot(
        accounts=[ACCOUNT],
        regions=[REGION],
        started_at=f"2026-03-{day:02d}T08:00:00Z",
        finished_at=f"2026-03-{day:02d}T08:05:00Z",
    )
    names = sorted(notebooks)
    for name in names:
        arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{name}"
        snap.add(ACCOUNT, REGION, NB, name, {"NotebookInstanceName": name}, arn)
    snap.record(
        CollectorOutcome(
            collector="notebook-instance",
            account_id=ACCOUNT,
            region=REGION,
            resource_types=[NB],
            status=OutcomeStatus.OK,
            resource_count=len(names),
        )
    )
    return snap


def record(findings: list[Finding], snap: Snapshot | None = None, run_id: str = "r") -> RunRecord:
    return RunRecord(
        run_id=run_id,
        snapshot=snap or snapshot({f.resource_id for f in findings}),
        findings=findings,
        started_at="2026-03-01T08:00:00Z",
        finished_at="2026-03-01T08:10:00Z",
        rulepack_version="pack-1",
    )


def write_run(store: Store, run_id: str, findings: list[Finding], *, day: int) -> RunRow:
    """One whole run through the store's public API, as ``scanner.run`` writes it."""
    notebooks = {f.resource_id for f in findings}
    rec = replace(
        record(findings, snapshot(notebooks, day=day), run_id),
        started_at=f"2026-03-{day:02d}T08:00:00Z",
        finished_at=f"2026-03-{day:02d}T08:10:00Z",
    )
    with store.writing(mode="refuse"):
        store.begin_run(
            run_id,
            started_at=rec.started_at,
            source="test",
            fail_on=Severity.LOW,
            config_hash="c" * 64,
            rulepack_version="pack-1",
        )
        store.save_results(rec)
        store.finish_run(rec)
    return store.run(run_id)


# -- the registry and the config ----------------------------------------------------------


def test_every_config_format_has_a_writer_and_the_default_stays_small() -> None:
    assert set(WRITERS) == set(ALL_FORMATS)
    assert Config().output.formats == list(DEFAULT_FORMATS) == ["csv", "html", "json"]
    cfg = Config.model_validate({"output": {"formats": ["xlsx", "ocsf", "asff", "compliance"]}})
    assert cfg.output.formats == ["xlsx", "ocsf", "asff", "compliance"]
    assert parse_formats("OCSF, asff,xlsx") == ["ocsf", "asff", "xlsx"]


def test_scan_help_lists_every_format() -> None:
    proc = run_cli("scan", "--help")
    assert proc.returncode == 0, proc.stderr
    flat = " ".join(proc.stdout.split())
    assert "csv,html,json,compliance,ocsf,asff,xlsx" in flat


# -- compliance-<framework>.csv -----------------------------------------------------------


def hipaa_row(findings: list[Finding], requirement: str = "164.312(a)(1)") -> Any:
    [row] = [r for r in compliance_rows(findings)["hipaa"] if r.requirement_id == requirement]
    return row


def test_requirement_status_is_the_worst_of_its_rules() -> None:
    passing = [make(ROOT, "nb-1", Status.PASS), make(IMDS, "nb-1", Status.PASS)]
    assert hipaa_row(passing).status is Status.PASS
    one_fail = [make(ROOT, "nb-1", Status.FAIL), make(IMDS, "nb-1", Status.PASS)]
    assert hipaa_row(one_fail).status is Status.FAIL
    assert hipaa_row(one_fail).failing_rules == [ROOT]
    fail_and_error = [make(ROOT, "nb-1", Status.FAIL), make(IMDS, "nb-1", Status.ERROR)]
    assert hipaa_row(fail_and_error).status is Status.ERROR
    assert hipaa_row(fail_and_error).failing_rules == [IMDS, ROOT]
    partly_na = [make(ROOT, "nb-1", Status.PASS), make(IMDS, "nb-1", Status.NOT_APPLICABLE)]
    assert hipaa_row(partly_na).status is Status.PASS
    all_na = [make(ROOT, "nb-1", Status.NOT_APPLICABLE), make(IMDS, "nb-1", Status.NOT_APPLICABLE)]
    assert hipaa_row(all_na).status is Status.NOT_APPLICABLE


def test_requirement_rows_are_per_resource_and_carry_the_shipped_titles() -> None:
    findings = [make(ROOT, "nb-1", Status.FAIL), make(ROOT, "nb-2", Status.PASS)]
    rows = [r for r in compliance_rows(findings)["hipaa"] if r.requirement_id == "164.312(a)(1)"]
    assert [(r.resource_id, r.status) for r in rows] == [("nb-1", "FAIL"), ("nb-2", "PASS")]
    assert {r.requirement_title for r in rows} == {"Access control"}
    assert rows[0].rules == [ROOT]
    assert rows[0].message == f"{ROOT}: {ROOT} on nb-1: FAIL"


def test_waived_flag_needs_every_fail_behind_the_row_waived() -> None:
    waived = [make(ROOT, "nb-1", Status.FAIL, waiver=WAIVER), make(IMDS, "nb-1", Status.PASS)]
    assert hipaa_row(waived).waived is True
    also_unwaived = [
        make(ROOT, "nb-1", Status.FAIL, waiver=WAIVER),
        make(IMDS, "nb-1", Status.FAIL),
    ]
    assert hipaa_row(also_unwaived).waived is False


def test_compliance_csv_files_columns_and_formula_guard(tmp_path: Path) -> None:
    evil = PAYLOADS[0]
    findings = [make(ROOT, evil, Status.FAIL), make(IN_VPC, "nb-2", Status.PASS)]
    written = write_reports(record(findings), tmp_path, ["compliance"])
    assert written == {"compliance": tmp_path}
    files = report_files("compliance", tmp_path)
    assert [p.name for p in files] == ["compliance-hipaa.csv", "compliance-pci-dss-v4.csv"]
    with (tmp_path / "compliance-hipaa.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "framework",
        "requirement_id",
        "requirement_title",
        "account_id",
        "region",
        "resource_type",
        "resource_id",
        "status",
        "rules",
        "failing_rules",
        "waived",
        "message",
    ]
    by_req = {(r["requirement_id"], r["resource_id"]): r for r in rows}
    fail = by_req[("164.312(a)(1)", "'" + evil)]
    assert (fail["status"], fail["failing_rules"], fail["waived"]) == ("FAIL", ROOT, "false")
    assert by_req[("164.312(e)(1)", "nb-2")]["status"] == "PASS"
    # The message names the resource id too: guarded only where it starts the cell.
    assert fail["message"].startswith(f"{ROOT}: ")


def test_a_shipped_framework_no_finding_maps_to_still_gets_its_file(tmp_path: Path) -> None:
    write_reports(record([]), tmp_path, ["compliance"])
    for name in ("compliance-hipaa.csv", "compliance-pci-dss-v4.csv"):
        assert (tmp_path / name).read_text().count("\n") == 1  # header only


# -- OCSF -----------------------------------------------------------------------------------


OCSF_SCHEMA = DetectionFinding.model_json_schema()


def ocsf_docs(path: Path) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = json.loads(path.read_text())
    for doc in docs:
        jsonschema.validate(doc, OCSF_SCHEMA)
        DetectionFinding.model_validate(doc)
    return docs


def test_ocsf_events_validate_and_carry_the_finding(tmp_path: Path) -> None:
    fail = make(ROOT, "nb-1", Status.FAIL, severity=Severity.CRITICAL)
    error = make(IMDS, "nb-2", Status.ERROR, severity=Severity.LOW)
    findings = [fail, error, make(IN_VPC, "nb-3", Status.PASS)]
    findings.append(make(IN_VPC, "nb-4", Status.NOT_APPLICABLE))
    docs = ocsf_docs(write_reports(record(findings), tmp_path, ["ocsf"])["ocsf"])
    by_uid = {d["finding_info"]["uid"]: d for d in docs}
    assert set(by_uid) == {fail.fingerprint, error.fingerprint}  # PASS and N/A: no event
    doc = by_uid[fail.fingerprint]
    assert doc["class_uid"] == 2004 and doc["category_uid"] == 2
    assert (doc["severity_id"], doc["severity"]) == (5, "Critical")
    assert by_uid[error.fingerprint]["severity_id"] == 2
    assert doc["status_code"] == "FAIL" and by_uid[error.fingerprint]["status_code"] == "ERROR"
    assert doc["finding_info"]["analytic"]["uid"] == ROOT
    assert doc["resources"] == [
        {
            "uid": fail.resource_arn,
            "name": "nb-1",
            "type": NB,
            "region": REGION,
            "cloud_partition": "aws",
        }
    ]
    assert doc["cloud"]["account"]["uid"] == ACCOUNT and doc["cloud"]["provider"] == "AWS"
    assert doc["remediation"]["references"] == fail.remediation["references"]
    assert doc["remediation"]["desc"].startswith(f"Fix {ROOT}.")
    assert doc["unmapped"]["compliance"] == fail.frameworks
    assert doc["evidences"][0]["data"] == {"checked": "nb-1"}
    assert doc["time"] == 1772352600000  # 2026-03-01T08:10:00Z, the run's end, in ms


def test_without_a_previous_run_everything_open_is_created() -> None:
    findings = [make(ROOT, "nb-1", Status.FAIL), make(IMDS, "nb-1", Status.ERROR)]
    events = ocsf_events(record(findings))
    assert [(e.activity_id, e.type_uid, e.status_id) for e in events] == [(1, 200401, 1)] * 2


# Two stored runs exercising one transition per notebook (rule ROOT unless named):
#   nb-a FAIL -> FAIL (Update)           nb-b FAIL -> PASS (Close)
#   nb-c FAIL -> resource gone (Close)    nb-d PASS -> FAIL (regressed: Create)
#   nb-f absent -> FAIL (new: Create)     nb-w FAIL -> FAIL, waived now (Update, Suppressed)
#   IMDS nb-e1 ERROR -> PASS (Close)      IMDS nb-e2 absent -> ERROR (Create)
#   IMDS nb-e3 ERROR -> ERROR (Update)
RUN1 = [
    make(ROOT, "nb-a", Status.FAIL),
    make(ROOT, "nb-b", Status.FAIL),
    make(ROOT, "nb-c", Status.FAIL),
    make(ROOT, "nb-d", Status.PASS),
    make(ROOT, "nb-w", Status.FAIL),
    make(IMDS, "nb-e1", Status.ERROR),
    make(IMDS, "nb-e3", Status.ERROR),
]
RUN2 = [
    make(ROOT, "nb-a", Status.FAIL),
    make(ROOT, "nb-b", Status.PASS),
    make(ROOT, "nb-d", Status.FAIL),
    make(ROOT, "nb-f", Status.FAIL),
    make(ROOT, "nb-w", Status.FAIL, waiver=WAIVER),
    make(IMDS, "nb-e1", Status.PASS),
    make(IMDS, "nb-e2", Status.ERROR),
    make(IMDS, "nb-e3", Status.ERROR),
]
EXPECTED = {  # (rule, notebook) -> (activity_id, status_id)
    (ROOT, "nb-a"): (2, 2),
    (ROOT, "nb-b"): (3, 4),
    (ROOT, "nb-c"): (3, 4),
    (ROOT, "nb-d"): (1, 1),
    (ROOT, "nb-f"): (1, 1),
    (ROOT, "nb-w"): (2, 3),
    (IMDS, "nb-e1"): (3, 4),
    (IMDS, "nb-e2"): (1, 1),
    (IMDS, "nb-e3"): (2, 2),
}


@pytest.fixture
def two_runs(store_url: str) -> Iterator[tuple[Store, RunRow, RunRow]]:
    store = Store.open(store_url)
    try:
        r1 = write_run(store, "20260301T080000Z-aaaaaa", RUN1, day=1)
        r2 = write_run(store, "20260302T080000Z-bbbbbb", RUN2, day=2)
        yield store, r1, r2
    finally:
        store.close()


def lifecycle_of(docs: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (d["metadata"]["event_code"], d["resources"][0]["name"]): (d["activity_id"], d["status_id"])
        for d in docs
    }


def test_ocsf_lifecycle_across_stored_runs(
    two_runs: tuple[Store, RunRow, RunRow], tmp_path: Path
) -> None:
    store, r1, r2 = two_runs
    first = ocsf_docs(
        write_reports(stored_record(store, r1, None), tmp_path / "1", ["ocsf"])["ocsf"]
    )
    assert set(lifecycle_of(first).values()) == {(1, 1)}  # the first run: all Create
    docs = ocsf_docs(
        write_reports(stored_record(store, r2, None), tmp_path / "2", ["ocsf"])["ocsf"]
    )
    assert lifecycle_of(docs) == EXPECTED
    for d in docs:
        assert d["type_uid"] == 200400 + d["activity_id"]
    by = {(d["metadata"]["event_code"], d["resources"][0]["name"]): d for d in docs}
    # A Close of a finding still in the run carries it as it is now; one whose resource
    # is gone has only what drift kept, the account and region included.
    assert by[(ROOT, "nb-b")]["status_code"] == "PASS"
    gone = by[(ROOT, "nb-c")]
    assert "status_code" not in gone and gone["cloud"]["account"]["uid"] == ACCOUNT
    assert gone["resources"][0]["region"] == REGION and gone["severity"] == "High"
    assert gone["finding_info"]["uid"] == make(ROOT, "nb-c", Status.FAIL).fingerprint
    assert by[(ROOT, "nb-w")]["unmapped"]["waiver"]["id"] == "w-1"


# -- ASFF -----------------------------------------------------------------------------------


def text(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit}


# What BatchImportFindings requires (AWS Security Hub API reference, AwsSecurityFinding),
# with its documented limits and enumerations.
ASFF_FINDING = {
    "type": "object",
    "required": [
        "SchemaVersion",
        "Id",
        "ProductArn",
        "GeneratorId",
        "AwsAccountId",
        "Types",
        "CreatedAt",
        "UpdatedAt",
        "Severity",
        "Title",
        "Description",
        "Resources",
    ],
    "properties": {
        "SchemaVersion": {"const": "2018-10-08"},
        "Id": text(512),
        "ProductArn": {
            "type": "string",
            "pattern": r"^arn:aws[a-z-]*:securityhub:[a-z0-9-]+:\d{12}:product/\d{12}/default$",
        },
        "GeneratorId": text(512),
        "AwsAccountId": {"type": "string", "pattern": r"^\d{12}$"},
        "Types": {
            "type": "array",
            "minItems": 1,
            "maxItems": 50,
            "items": {"type": "string", "pattern": "^Software and Configuration Checks(/|$)"},
        },
        "CreatedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"},
        "UpdatedAt": {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"},
        "Severity": {
            "type": "object",
            "required": ["Label"],
            "properties": {
                "Label": {"enum": ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]}
            },
        },
        "Title": text(256),
        "Description": text(1024),
        "Resources": {
            "type": "array",
            "minItems": 1,
            "maxItems": 32,
            "items": {
                "type": "object",
                "required": ["Type", "Id"],
                "properties": {
                    "Type": text(256),
                    "Id": text(512),
                    "Partition": {"enum": ["aws", "aws-cn", "aws-us-gov"]},
                    "Region": {"type": "string", "pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"},
                },
            },
        },
        "Compliance": {
            "type": "object",
            "required": ["Status"],
            "properties": {
                "Status": {"enum": ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"]},
                "RelatedRequirements": {"type": "array", "maxItems": 32},
            },
        },
        "Remediation": {
            "type": "object",
            "properties": {
                "Recommendation": {
                    "type": "object",
                    "properties": {"Text": text(512), "Url": text(512)},
                }
            },
        },
        "RecordState": {"enum": ["ACTIVE", "ARCHIVED"]},
        "Workflow": {
            "type": "object",
            "properties": {"Status": {"enum": ["NEW", "NOTIFIED", "RESOLVED", "SUPPRESSED"]}},
        },
        "Note": {
            "type": "object",
            "required": ["Text", "UpdatedBy", "UpdatedAt"],
            "properties": {"Text": text(512), "UpdatedBy": text(512)},
        },
    },
}
ASFF_FILE = {
    "type": "array",
    "items": {"type": "array", "minItems": 1, "maxItems": 100, "items": ASFF_FINDING},
}


def asff_file(path: Path) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = json.loads(path.read_text())
    jsonschema.validate(batches, ASFF_FILE)
    for batch in batches:  # one BatchImportFindings call each: one account and region
        assert len({(f["AwsAccountId"], f["ProductArn"]) for f in batch}) == 1
    return batches


def test_asff_batches_hold_at_most_100_findings_of_one_region(tmp_path: Path) -> None:
    findings = [make(ROOT, f"nb-{i:03d}", Status.FAIL) for i in range(250)]
    findings.append(make(ROOT, "nb-east", Status.FAIL, region="us-east-1"))
    batches = asff_file(write_reports(record(findings), tmp_path, ["asff"])["asff"])
    assert [len(b) for b in batches] == [1, 100, 100, 50]
    assert batches[0][0]["Region"] == "us-east-1"
    assert batches[0][0]["ProductArn"] == (
        f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
    )
    ids = [f["Id"] for b in batches for f in b]
    assert len(set(ids)) == 251 and set(ids) == {f.fingerprint for f in findings}


def test_asff_fields_follow_the_finding_status(tmp_path: Path) -> None:
    long = "x" * 2000
    findings = [
        make(ROOT, "nb-fail", Status.FAIL, message=long),
        make(ROOT, "nb-pass", Status.PASS),
        make(ROOT, "nb-na", Status.NOT_APPLICABLE),
        make(IMDS, "nb-err", Status.ERROR, severity=Severity.MEDIUM),
        make(ROOT, "nb-w", Status.FAIL, waiver=WAIVER),
    ]
    [batch] = asff_file(write_reports(record(findings), tmp_path, ["asff"])["asff"])
    by = {f["Resources"][0]["Id"].rsplit("/", 1)[1]: f for f in batch}

    def state(name: str) -> tuple[str, str, str, str]:
        f = by[name]
        return (
            f["Compliance"]["Status"],
            f["RecordState"],
            f["Workflow"]["Status"],
            f["Severity"]["Label"],
        )

    assert state("nb-fail") == ("FAILED", "ACTIVE", "NEW", "HIGH")
    assert state("nb-pass") == ("PASSED", "ACTIVE", "RESOLVED", "INFORMATIONAL")
    assert state("nb-na") == ("NOT_AVAILABLE", "ARCHIVED", "RESOLVED", "INFORMATIONAL")
    assert state("nb-err") == ("WARNING", "ACTIVE", "NEW", "MEDIUM")
    assert state("nb-w") == ("FAILED", "ACTIVE", "SUPPRESSED", "HIGH")
    assert "w-1" in by["nb-w"]["Note"]["Text"] and "Note" not in by["nb-fail"]
    assert len(by["nb-fail"]["Description"]) == 1024
    fail = by["nb-fail"]
    assert fail["GeneratorId"] == ROOT and fail["Id"] == findings[0].fingerprint
    assert fail["Resources"][0]["Type"] == "AwsSageMakerNotebookInstance"
    assert fail["Types"] == [
        "Software and Configuration Checks/Industry and Regulatory Standards/HIPAA Controls (USA)",
        "Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS Controls",
    ]
    assert "hipaa/164.312(a)(1)" in fail["Compliance"]["RelatedRequirements"]
    assert fail["Remediation"]["Recommendation"] == {
        "Text": f"Fix {ROOT}.",
        "Url": "https://docs.aws.amazon.com/sagemaker/latest/dg/nbi.html",
    }


def test_asff_archives_a_resolved_finding_whose_resource_is_gone(
    two_runs: tuple[Store, RunRow, RunRow],
) -> None:
    store, _, r2 = two_runs
    batches = asff_batches(stored_record(store, r2, None))
    by = {f["Id"]: f for b in batches for f in b}
    gone = by[make(ROOT, "nb-c", Status.FAIL).fingerprint]
    assert (gone["RecordState"], gone["Workflow"]["Status"]) == ("ARCHIVED", "RESOLVED")
    assert gone["Resources"][0]["Id"] == "nb-c"
    jsonschema.validate(batches, ASFF_FILE)
    assert len(by) == len(RUN2) + 1  # every finding of the run, plus the one gone


# -- xlsx -----------------------------------------------------------------------------------


def test_xlsx_sheets_and_summary(tmp_path: Path) -> None:
    findings = [make(ROOT, "nb-1", Status.FAIL), make(ROOT, "nb-2", Status.PASS)]
    findings.append(make(IN_VPC, "nb-1", Status.NOT_APPLICABLE))
    path = write_reports(record(findings), tmp_path, ["xlsx"])["xlsx"]
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Summary", "hipaa", "pci-dss-v4", "All findings"]
    summary = {(r[0], r[1]): r[2] for r in book["Summary"].iter_rows(min_row=2, values_only=True)}
    assert summary[("run", "run id")] == "r"
    assert summary[("findings by status", "FAIL")] == 1
    assert summary[("FAIL by severity", "high")] == 1
    # HIPAA rows: 164.312(a)(1) on nb-1 FAIL and nb-2 PASS; 164.312(e)(1) on nb-1 N/A.
    assert summary[("framework pass rate (%)", "hipaa")] == 50.0
    hipaa = list(book["hipaa"].iter_rows(values_only=True))
    assert hipaa[0][:3] == ("framework", "requirement_id", "requirement_title")
    assert len(hipaa) == 1 + 3
    every = list(book["All findings"].iter_rows(values_only=True))
    assert every[0][:3] == ("run_id", "fingerprint", "rule_id") and len(every) == 1 + 3
    for sheet in ("hipaa", "All findings"):
        assert book[sheet].freeze_panes == "A2"  # the header row stays in view
        assert book[sheet].auto_filter.ref == book[sheet].dimensions


def test_xlsx_stores_formula_payloads_as_text(tmp_path: Path) -> None:
    findings = [
        make(ROOT, payload, Status.FAIL, evidence={"Tags": {"owner": payload}})
        for payload in PAYLOADS
    ]
    # A control character before the formula is dropped (XML cannot hold it) and the rest
    # is guarded all the same.
    findings.append(make(ROOT, "\x01=cmd()", Status.FAIL))
    book = openpyxl.load_workbook(write_reports(record(findings), tmp_path, ["xlsx"])["xlsx"])
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    guarded = sorted(["'" + p for p in PAYLOADS] + ["'=cmd()"])
    for sheet in ("hipaa", "pci-dss-v4"):  # resource_id is the 7th compliance column
        ids = [row[6] for row in book[sheet].iter_rows(min_row=2, values_only=True)]
        assert sorted(ids) == guarded, sheet
    all_ids = {row[8] for row in book["All findings"].iter_rows(min_row=2, values_only=True)}
    assert all_ids == {"'" + p for p in PAYLOADS} | {"'=cmd()"}
    # The tag value sits inside the JSON evidence cell (not at its start): stored, not run.
    evidence = [row[14] for row in book["All findings"].iter_rows(min_row=2, values_only=True)]
    assert all(json.loads(e)["Tags"]["owner"] in PAYLOADS for e in evidence[:3])


# -- scanner report -----------------------------------------------------------------------


def report_cli(*args: str, cwd: Path | None = None) -> Any:
    return run_cli("report", *args, cwd=cwd, env={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})


def test_report_regenerates_a_stored_run_in_every_format(
    two_runs: tuple[Store, RunRow, RunRow], store_url: str, tmp_path: Path
) -> None:
    _, r1, r2 = two_runs
    out = tmp_path / "out"
    formats = "json,csv,compliance,ocsf,asff,xlsx"
    proc = report_cli(r2.id[:12], "--store", store_url, "--format", formats, "--output", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "compliance-hipaa.csv",
        "compliance-pci-dss-v4.csv",
        "findings.asff.json",
        "findings.csv",
        "findings.json",
        "findings.ocsf.json",
        "findings.xlsx",
    ]
    for name in names:
        assert str(out / name) in proc.stdout
    assert lifecycle_of(ocsf_docs(out / "findings.ocsf.json")) == EXPECTED
    doc = json.loads((out / "findings.json").read_text())
    assert doc["run"]["id"] == r2.id and doc["run"]["drift"]["previous"]["from"]["run"] == r1.id
    assert len(doc["findings"]) == len(RUN2)


def test_report_latest_into_the_default_directory(
    two_runs: tuple[Store, RunRow, RunRow], store_url: str, tmp_path: Path
) -> None:
    _, _, r2 = two_runs
    (tmp_path / "config.yaml").write_text("output:\n  dir: audit\n")
    proc = report_cli(
        "latest", "--store", store_url, "--config", "config.yaml", "--format", "ocsf", cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [p.name for p in (tmp_path / "audit" / r2.id).iterdir()] == ["findings.ocsf.json"]


def test_report_of_the_first_run_creates_everything(
    two_runs: tuple[Store, RunRow, RunRow], store_url: str, tmp_path: Path
) -> None:
    _, r1, _ = two_runs
    proc = report_cli(r1.id, "--store", store_url, "--format", "ocsf", "--output", str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    docs = ocsf_docs(tmp_path / "findings.ocsf.json")
    open1 = {(f.rule_id, f.resource_id) for f in RUN1 if f.status in ("FAIL", "ERROR")}
    assert lifecycle_of(docs) == dict.fromkeys(open1, (1, 1))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nope",), "'nope' is neither a run id nor a baseline name"),
        (("latest", "--format", "ocsf,pdf"), "unknown report format(s) pdf"),
    ],
)
def test_report_errors_exit_2_with_one_line(
    two_runs: tuple[Store, RunRow, RunRow],
    store_url: str,
    tmp_path: Path,
    args: tuple[str, ...],
    needle: str,
) -> None:
    proc = report_cli(*args, "--store", store_url, "--output", str(tmp_path / "out"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if not x.startswith("INFO alembic.")]
    assert line.startswith("error: ") and needle in line
    assert not (tmp_path / "out").exists()


def test_report_is_listed_in_the_help() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0 and "report" in proc.stdout
    sub = run_cli("report", "--help")
    assert sub.returncode == 0
    for word in ("RUN", "--format", "--output", "--store", "latest"):
        assert word in sub.stdout


def test_scan_writes_the_requested_formats(tmp_path: Path) -> None:
    """``scanner scan --snapshot`` (offline) with every non-default format: the files agree
    with ``findings.json`` of the same run."""
    snap = snapshot(["nb-1"]).save(tmp_path / "snap.json.gz")
    out = tmp_path / "out"
    proc = run_cli(
        "scan",
        "--snapshot",
        str(snap),
        "--no-store",
        "--output",
        str(out),
        "--format",
        "json,compliance,ocsf,asff,xlsx",
    )
    assert proc.returncode in (1, 3), proc.stdout + proc.stderr
    [run_dir] = list(out.iterdir())
    doc = json.loads((run_dir / "findings.json").read_text())
    open_fps = {f["fingerprint"] for f in doc["findings"] if f["status"] in ("FAIL", "ERROR")}
    assert open_fps, "the bare snapshot should leave some rule FAIL or ERROR"
    events = ocsf_docs(run_dir / "findings.ocsf.json")
    assert {e["finding_info"]["uid"] for e in events} == open_fps
    assert {e["activity_id"] for e in events} == {1}  # --no-store: no previous run
    asff = asff_file(run_dir / "findings.asff.json")
    assert {f["Id"] for b in asff for f in b} == {f["fingerprint"] for f in doc["findings"]}
    assert (run_dir / "compliance-hipaa.csv").exists() and (run_dir / "findings.xlsx").exists()
    assert not (run_dir / "report.html").exists()  # only what was asked for
