"""The issue's acceptance scenario: the demo account, five changes, and the drift they make.

Seed the demo account, ``scanner scan``, change exactly five things with boto3, scan again,
``scanner drift``.  The drift document must list exactly those changes (and what AWS/moto
change as their direct consequence, each named below), the finding transitions they cause,
the scan's closing summary and ``findings.json`` must carry the same counts, and a baseline
must compare exactly like the run it pins.  On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any

from scanner.demo.builders import build_notebook, sourcevpce_policy, unconditioned_policy
from scanner.demo.seed import DemoManifest, seed_demo_account
from scanner.demo.server import MotoServer
from scanner.reporting.document import resolve_paths
from tests.historykit import (
    cli,
    findings_json,
    forget_deleted_endpoint,
    run_id_of,
    scan,
    set_private_dns,
    show,
    write_config,
)

REGION = "us-west-2"
POLICY = "policy:SageMakerNotebookViaVpce"
SID = "EnableNotebookAccess"
GRANT = "notebooks-anywhere"  # the group's new inline policy (change d)
NEW_NOTEBOOK = "churn-model"  # change e


def fails(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """FAIL findings of a findings.json by fingerprint."""
    return {f["fingerprint"]: f for f in doc["findings"] if f["status"] == "FAIL"}


def pairs(items: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(i["rule_id"], i["resource_id"]) for i in items}


def drift_doc(store: str, out: Path, *args: str) -> dict[str, Any]:
    proc = cli("drift", "--output", str(out), *args, store=store)
    assert proc.returncode == 0, show(proc)
    doc: dict[str, Any] = json.loads((out / "drift.json").read_text())
    return doc


def mentions(value: Any, *needles: str) -> bool:
    text = json.dumps(value)
    return all(n in text for n in needles)


class Changes:
    """The five changes, made with boto3 exactly as an operator would."""

    def __init__(self, aws: Any, demo: DemoManifest) -> None:
        prod = demo.vpcs["ml-prod"]
        self.demo = demo
        self.dns_endpoint = prod.endpoints["notebook"]  # (a) private DNS turned off
        # (c) the prod runtime endpoint: the one created with the VPC's default security
        # group, so it had a FAIL of its own before it was deleted.
        self.deleted_endpoint = prod.endpoints["runtime"]
        self.kept_endpoints = [prod.endpoints["notebook"], prod.endpoints["api"]]
        self.policy_arn = demo.iam[POLICY]
        self.group_arn = demo.iam["group:data-scientists"]
        self.grant = unconditioned_policy("sagemaker:CreatePresignedNotebookInstanceUrl")
        self.aws = aws
        self.prod = prod

    def make(self) -> None:
        aws, demo = self.aws, self.demo
        # (a) PrivateDnsEnabled=False on the prod notebook endpoint (see historykit: moto
        # ignores the flag on ModifyVpcEndpoint, so it is applied to moto's object too).
        set_private_dns(aws, self.dns_endpoint, False, demo.account_id, REGION)
        # (b) the post's managed policy (attached to the group and the DataScientist role)
        # gets a new default version without its aws:sourceVpce condition.
        loose = sourcevpce_policy(self.kept_endpoints)
        del loose["Statement"][0]["Condition"]
        aws("iam").create_policy_version(
            PolicyArn=self.policy_arn, PolicyDocument=json.dumps(loose), SetAsDefault=True
        )
        # (c) delete one endpoint.
        aws("ec2").delete_vpc_endpoints(VpcEndpointIds=[self.deleted_endpoint])
        # (d) a group grant: notebook URLs from anywhere, for every data scientist.
        aws("iam").put_group_policy(
            GroupName="data-scientists", PolicyName=GRANT, PolicyDocument=json.dumps(self.grant)
        )
        # (e) a new notebook, compliant as far as its own settings go.
        build_notebook(
            aws,
            REGION,
            NEW_NOTEBOOK,
            self.prod.subnet_id,
            [self.prod.notebook_sg_id],
            kms_key=demo.kms_key_arn,
        )


def check_resources(doc: dict[str, Any], ch: Changes) -> None:
    by_key = {(r["resource_type"], r["resource_id"]): r for r in doc["resources"]}
    assert {k: r["change"] for k, r in by_key.items()} == {
        ("ec2:vpc-endpoint", ch.dns_endpoint): "modified",  # (a)
        ("iam:policy", ch.policy_arn): "modified",  # (b)
        # (c) AWS lists a deleted endpoint with state "deleted" for a while before it is gone,
        # and moto lists it so forever: right after the deletion it is a modification.
        ("ec2:vpc-endpoint", ch.deleted_endpoint): "modified",
        ("iam:group", ch.group_arn): "modified",  # (d)
        ("sagemaker:notebook-instance", NEW_NOTEBOOK): "added",  # (e)
    }, json.dumps(doc["resources"], indent=1)
    for r in doc["resources"]:
        assert (r["account_id"], r["region"]) == (
            ch.demo.account_id,
            "global" if r["resource_type"].startswith("iam:") else REGION,
        ), r

    # (a) exactly the flag, true -> false.
    assert by_key["ec2:vpc-endpoint", ch.dns_endpoint]["paths"] == [
        {"path": "PrivateDnsEnabled", "before": True, "after": False}
    ]
    # (c) exactly the state.
    assert by_key["ec2:vpc-endpoint", ch.deleted_endpoint]["paths"] == [
        {"path": "State", "before": "available", "after": "deleted"}
    ]
    # (d) the group's change names the new inline policy, with its document.
    [group_path] = by_key["iam:group", ch.group_arn]["paths"]
    assert group_path["path"] == f"GroupPolicyList[PolicyName={GRANT}]"
    assert group_path["before"] is None
    assert group_path["after"] == {"PolicyName": GRANT, "PolicyDocument": ch.grant}
    # (b) the new version, and what CreatePolicyVersion SetAsDefault=True does besides (AWS
    # and moto alike): the policy's DefaultVersionId moves to v2 and v1 stops being default.
    policy = {p["path"]: p for p in by_key["iam:policy", ch.policy_arn]["paths"]}
    assert policy["DefaultVersionId"] == {"path": "DefaultVersionId", "before": "v1", "after": "v2"}
    assert policy["PolicyVersionList[VersionId=v1].IsDefaultVersion"] == {
        "path": "PolicyVersionList[VersionId=v1].IsDefaultVersion",
        "before": True,
        "after": False,
    }
    v2 = policy["PolicyVersionList[VersionId=v2]"]
    assert v2["before"] is None
    assert v2["after"]["IsDefaultVersion"] is True
    [statement] = v2["after"]["Document"]["Statement"]
    assert statement["Sid"] == SID and "Condition" not in statement


def check_transitions(
    doc: dict[str, Any], ch: Changes, run1: dict[str, Any], run2: dict[str, Any]
) -> None:
    f = doc["findings"]
    iam = ch.demo.iam
    new_nb_fails = {(x["rule_id"], x["resource_id"]) for x in fails(run2).values()}
    new_nb_fails = {p for p in new_nb_fails if p[1] == NEW_NOTEBOOK}
    assert new_nb_fails, "the new notebook should FAIL something (imdsv2 at least)"
    # (e) every FAIL of the new notebook is new, and nothing else is.
    assert pairs(f["new"]) == new_nb_fails
    assert {x["from"] for x in f["new"]} == {None}
    assert pairs(f["regressed"]) == {
        # (a)
        ("endpoint-private-dns-resolves", ch.dns_endpoint),
        # (c) the deleted endpoint, still listed, is no longer available, and its VPC has no
        # available runtime endpoint left.
        ("endpoint-available", ch.deleted_endpoint),
        ("vpc-has-sagemaker-runtime-endpoint", ch.prod.vpc_id),
        # (b) the role and (b)+(d) the group's user reach notebooks without aws:sourceVpce.
        ("iam-presigned-url-requires-vpc-endpoint", iam["role:DataScientist"]),
        ("iam-presigned-url-requires-vpc-endpoint", iam["user:alice"]),
        ("iam-notebook-api-requires-vpc-endpoint", iam["role:DataScientist"]),
        ("iam-notebook-api-requires-vpc-endpoint", iam["user:alice"]),
    }, json.dumps(f["regressed"], indent=1)
    assert {(x["from"], x["to"]) for x in f["regressed"]} == {("PASS", "FAIL")}
    assert f["resolved"] == [] and f["error_changes"] == [] and f["not_seen"] == []
    before, after = fails(run1), fails(run2)
    assert f["still_failing"] == len(before.keys() & after.keys()) > 0

    # The IAM rules saw each change: the role through the managed policy (b), alice
    # through the group's new inline policy (d).
    def evidence(rule: str, principal: str) -> dict[str, Any]:
        """The finding's evidence with its paths read from findings.json's paths table."""
        [hit] = [x for x in after.values() if (x["rule_id"], x["resource_id"]) == (rule, principal)]
        return {**hit["evidence"], "paths": resolve_paths(run2, hit)}

    role = evidence("iam-presigned-url-requires-vpc-endpoint", iam["role:DataScientist"])
    assert any(mentions(p["grant"], "SageMakerNotebookViaVpce") for p in role["paths"]), role
    alice = evidence("iam-presigned-url-requires-vpc-endpoint", iam["user:alice"])
    assert any(
        p["grant"]["policy"] == GRANT and p["grant"]["via"] == "group:data-scientists"
        for p in alice["paths"]
    ), alice


def summary_counts(doc: dict[str, Any]) -> tuple[dict[str, int], dict[str, int]]:
    resources = {"added": 0, "removed": 0, "modified": 0}
    for r in doc["resources"]:
        resources[r["change"]] += 1
    f = doc["findings"]
    findings = {k: len(f[k]) for k in ("new", "resolved", "regressed", "error_changes")}
    findings["still_failing"] = f["still_failing"]
    findings["not_seen"] = len(f["not_seen"])
    return resources, findings


def check_scan_summary(
    proc: subprocess.CompletedProcess[str], doc: dict[str, Any], run2_doc: dict[str, Any]
) -> None:
    resources, findings = summary_counts(doc)
    run1 = doc["from"]["run"]
    line = (
        f"Drift since previous run {run1}: resources +{resources['added']} "
        f"-{resources['removed']} ~{resources['modified']}; findings {findings['new']} new, "
        f"{findings['regressed']} regressed, {findings['resolved']} resolved, "
        f"{findings['still_failing']} still failing, {findings['error_changes']} ERROR changes"
    )
    lines = proc.stdout.splitlines()
    starts = [i for i, text in enumerate(lines) if text.startswith("Drift since")]
    assert len(starts) == 1 and lines[starts[0]] == line, show(proc)
    # The summary closes the output: only its detail lines and the report paths follow.
    for text in lines[starts[0] + 1 :]:
        assert text.startswith("  ") or " report: " in text, (text, show(proc))
    assert not any(text.startswith(("FAIL ", "ERROR ")) for text in lines[starts[0] + 1 :])
    drift = run2_doc["run"]["drift"]
    assert drift["baseline"] is None
    prev = drift["previous"]
    assert prev["from"]["run"] == run1 and prev["to"]["run"] == run2_doc["run"]["id"]
    assert prev["resources"] == resources
    assert prev["findings"] == findings
    assert pairs(prev["new"]) == pairs(doc["findings"]["new"])
    assert pairs(prev["regressed"]) == pairs(doc["findings"]["regressed"])


def check_csv_and_html(out: Path, ch: Changes, doc: dict[str, Any]) -> None:
    with (out / "drift.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {
        "kind": "resource",
        "change": "modified",
        "account_id": ch.demo.account_id,
        "region": REGION,
        "resource_type": "ec2:vpc-endpoint",
        "resource_id": ch.dns_endpoint,
        "rule_id": "",
        "fingerprint": "",
        "path": "PrivateDnsEnabled",
        "before": "true",
        "after": "false",
    } in rows
    transitions = {(r["change"], r["rule_id"], r["resource_id"]) for r in rows}
    assert ("regressed", "endpoint-private-dns-resolves", ch.dns_endpoint) in transitions
    html = (out / "drift.html").read_text()
    assert f"<code>{ch.dns_endpoint}</code>" in html
    assert "<code>PrivateDnsEnabled</code>" in html
    # Text from the account is escaped: the IAM messages say "the role's own policies".
    messages = [x["message"] for x in doc["findings"]["regressed"]]
    assert any("role's own policies" in m for m in messages), messages
    assert "role&#39;s own policies" in html
    assert "role's own policies" not in html


def test_demo_account_drift_acceptance(
    aws: Any, moto: MotoServer, store_url: str, tmp_path: Path
) -> None:
    demo = seed_demo_account(aws, REGION)
    config = write_config(tmp_path / "cfg")
    out = tmp_path / "reports"

    first = scan(store_url, config, out, moto.url)
    assert first.returncode == 1, show(first)  # the demo's deliberate FAILs
    assert "Drift: first run in this store, nothing to compare with" in first.stdout
    run1 = run_id_of(first)

    changes = Changes(aws, demo)
    changes.make()

    second = scan(store_url, config, out, moto.url)
    assert second.returncode == 1, show(second)
    run2 = run_id_of(second)
    doc = drift_doc(store_url, tmp_path / "drift", "--format", "json,csv,html")
    assert (doc["from"]["run"], doc["to"]["run"]) == (run1, run2)
    assert doc["from"]["status"] == doc["to"]["status"] == "complete"
    assert "baseline" not in doc["from"]
    assert doc["waivers"] == {"added": [], "removed": [], "expired": []}

    run1_doc, run2_doc = findings_json(out, run1), findings_json(out, run2)
    check_resources(doc, changes)
    check_transitions(doc, changes, run1_doc, run2_doc)
    check_scan_summary(second, doc, run2_doc)
    check_csv_and_html(tmp_path / "drift", changes, doc)

    # A baseline compares exactly like the run it pins.
    pinned = cli("baseline", "set", run1, "--name", "certified", store=store_url)
    assert pinned.returncode == 0, show(pinned)
    by_name = drift_doc(store_url, tmp_path / "d-name", "--from", "certified", "--to", run2)
    by_run = drift_doc(store_url, tmp_path / "d-run", "--from", run1, "--to", run2)
    assert by_name["from"].pop("baseline") == "certified"
    assert by_name == by_run == doc

    # Later AWS stops listing the deleted endpoint: now it is gone, and the FAILs it had
    # are resolved for that reason.
    deleted_fails = {
        (x["rule_id"], x["resource_id"])
        for x in fails(run2_doc).values()
        if x["resource_id"] == changes.deleted_endpoint
    }
    assert ("endpoint-security-group-restricted", changes.deleted_endpoint) in deleted_fails
    forget_deleted_endpoint(aws, changes.deleted_endpoint, demo.account_id, REGION)
    third = scan(store_url, config, out, moto.url)
    assert third.returncode == 1, show(third)
    run3 = run_id_of(third)
    gone = drift_doc(store_url, tmp_path / "d-gone")
    assert (gone["from"]["run"], gone["to"]["run"]) == (run2, run3)
    assert [(r["resource_id"], r["change"]) for r in gone["resources"]] == [
        (changes.deleted_endpoint, "removed")
    ]
    assert pairs(gone["findings"]["resolved"]) == deleted_fails
    assert {(x["to"], x.get("reason")) for x in gone["findings"]["resolved"]} == {
        (None, "resource gone")
    }
    assert gone["findings"]["new"] == gone["findings"]["regressed"] == []

    # Last, because the product does not do it (see the report): the drift of a managed
    # policy whose default version lost its aws:sourceVpce condition must say which endpoint
    # ids the effective policy no longer requires, as it does for an inline or endpoint
    # policy (``...Condition.StringEquals.aws:sourceVpce`` with ``removed``).  It only shows
    # version v2 added and the default flags moving; v1, which names them, is unchanged.
    [policy] = [r for r in doc["resources"] if r["resource_id"] == changes.policy_arn]
    assert any(
        mentions(p["before"], *changes.kept_endpoints)
        and not mentions(p["after"], *changes.kept_endpoints)
        for p in policy["paths"]
    ), (
        "no path of the iam:policy change names the endpoint ids dropped from its default "
        f"version: {json.dumps(policy['paths'], indent=1)}"
    )
