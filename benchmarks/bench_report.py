"""Benchmark: ``report.html`` with 20,000 findings, opened in a real headless Chromium.

The run record is synthetic but shaped like a scan's: the shipped rules (their titles,
frameworks, remediation with a per-resource CLI, references), 3 accounts x 2 regions, 1,500
notebooks with the notebook rules and their public-access verdict, 3,000 IAM principals with
the two presigned-URL / API rules (a few hundred of them open, each path naming every notebook
of its account), endpoints, VPCs and security groups; about 60% PASS, 30% FAIL, some ERROR,
NOT_APPLICABLE and waived findings; the verdicts list their IAM and network paths.

Figures: the file's size, and the time to first render, read from the page itself: the
script sets ``data-ready`` on ``<html>`` to ``performance.now()`` (milliseconds since the
navigation started) once the verdict and the default view (ERROR and FAIL, groups collapsed)
are in the DOM.  Also: one filter change (all statuses) and one search, timed in the page.
Each of the runs opens the file in a fresh browser context.  Run::

    .venv/bin/python benchmarks/bench_report.py                  # 20,000 findings, 3 runs
    .venv/bin/python benchmarks/bench_report.py --findings 5000 --runs 5
    .venv/bin/python benchmarks/bench_report.py --screenshot docs/img/report.png

``--screenshot`` runs ``scanner demo`` twice into a temporary directory (so the trend chart
has two points) and saves the top of its report.html as a PNG (the README's figure).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from scanner.engine import load_ruleset
from scanner.engine.evaluate import render
from scanner.engine.rules import Rule
from scanner.model.finding import Finding, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import GLOBAL_REGION, CollectorOutcome, OutcomeStatus, Snapshot
from scanner.reporting.htmlout import write_html

CHROMIUM = "/usr/bin/chromium"
ACCOUNTS = ["111122223333", "444455556666", "777788889999"]
REGIONS = ["us-west-2", "us-east-1"]
NOTEBOOKS_PER_SCOPE = 250
PRINCIPALS_PER_ACCOUNT = 1000
OPEN_PRINCIPALS_PER_ACCOUNT = 20
STATUS_WEIGHTS = {Status.PASS: 62, Status.FAIL: 28, Status.ERROR: 3, Status.NOT_APPLICABLE: 7}
APPROVED = [f"vpce-{i:017x}" for i in range(7)]
APPROVED_VPCS = ["vpc-0a1b2c3d4e5f60718", "vpc-0f1e2d3c4b5a69788"]


class Estate:
    """Builds findings from the shipped rules with a seeded random generator."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.rules = {r.id: r for r in load_ruleset().rules}
        self.findings: list[Finding] = []

    def status(self) -> Status:
        statuses, weights = zip(*STATUS_WEIGHTS.items(), strict=True)
        return self.rng.choices(statuses, weights)[0]

    def add(
        self,
        rule_id: str,
        status: Status,
        account: str,
        region: str,
        rid: str,
        message: str,
        evidence: dict[str, Any],
        arn: str | None = None,
    ) -> None:
        rule: Rule = self.rules[rule_id]
        waiver = None
        if status is Status.FAIL and self.rng.random() < 0.04:
            waiver = {
                "id": f"w-{len(self.findings)}",
                "rule_id": rule_id,
                "resource": rid,
                "owner": "platform-team@example.com",
                "expires": "2027-03-31",
                "reason": "accepted until the VPC migration (CHG-4411)",
                "ticket": "CHG-4411",
            }
        self.findings.append(
            Finding(
                rule_id=rule_id,
                status=status,
                severity=rule.severity,
                account_id=account,
                region=region,
                resource_type=rule.resource_type,
                resource_id=rid,
                resource_arn=arn,
                title=rule.title,
                message=message,
                evidence=evidence,
                frameworks={k: list(v) for k, v in rule.frameworks.items()},
                remediation={
                    "text": rule.remediation["text"],
                    "cli": render(rule.remediation["cli"], {"resource_id": rid, "id": rid}),
                    "references": list(rule.references),
                },
                waiver=waiver,
            )
        )


NOTEBOOK_RULES = {
    "notebook-direct-internet-access-disabled": ("DirectInternetAccess", "Enabled", "Disabled"),
    "notebook-in-vpc": ("SubnetId", None, "a subnet"),
    "notebook-root-access-disabled": ("RootAccess", "Enabled", "Disabled"),
    "notebook-kms-encryption": ("KmsKeyId", None, "a customer managed key"),
    "notebook-imdsv2-required": (
        "InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion",
        "1",
        "2",
    ),
    "notebook-subnet-no-internet-route": ("route", "0.0.0.0/0 -> igw-0example", "no igw- route"),
}


def iam_path(principal: str, action: str, notebooks: list[str], n: int) -> dict[str, Any]:
    """An IAM path as the principal's finding lists it (every notebook of the account)."""
    name = principal.rsplit("/", 1)[-1]
    return {
        "principal": principal,
        "principal_kind": "role",
        "action": action,
        "notebooks": notebooks,
        "notebook_count": len(notebooks),
        "grant": {
            "policy": f"notebook-access-{n % 40}",
            "policy_kind": "inline",
            "via": "role",
            "statement_index": n % 3,
            "sid": "EnableNotebookAccess" if n % 2 else None,
        },
        "context": {"aws:sourcevpce": None, "aws:sourcevpc": None},
        "description": "no aws:SourceVpce (public internet)",
        "remediation": (
            f"add Condition StringEquals aws:SourceVpce [{', '.join(APPROVED)}] to statement "
            f"'statement #{n % 3}' of inline policy notebook-access-{n % 40}; or add a Deny on "
            f"{action} with StringNotEquals aws:SourceVpce [{', '.join(APPROVED)}] "
            "(identity policy, permissions boundary or SCP)"
        ),
        "unmodelled_keys": [],
        "fix_cli": f"aws iam put-role-policy --role-name {name} --policy-name "
        f"notebook-access-{n % 40} --policy-document file://fixed-policy.json",
    }


def verdict_path(path: dict[str, Any]) -> dict[str, Any]:
    """The same path as a notebook's verdict names it (no target list)."""
    keep = ("principal", "principal_kind", "action", "grant", "description", "remediation")
    return {
        "kind": "iam_inbound",
        "kind_label": "inbound through IAM",
        **{k: path[k] for k in keep},
        "unmodelled_keys": [],
        "fix_cli": path["fix_cli"],
    }


def build(findings_wanted: int) -> RunRecord:
    est = Estate()
    presign = "sagemaker:CreatePresignedNotebookInstanceUrl"
    for account in ACCOUNTS:
        notebooks = [
            f"arn:aws:sagemaker:{region}:{account}:notebook-instance/nb-{region}-{i:04d}"
            for region in REGIONS
            for i in range(NOTEBOOKS_PER_SCOPE)
        ]
        open_paths: list[dict[str, Any]] = []
        for p in range(PRINCIPALS_PER_ACCOUNT):
            principal = f"arn:aws:iam::{account}:role/team-{p % 50}/analyst-{p:04d}"
            is_open = p < OPEN_PRINCIPALS_PER_ACCOUNT
            for rule_id, action in (
                ("iam-presigned-url-requires-vpc-endpoint", presign),
                ("iam-notebook-api-requires-vpc-endpoint", "sagemaker:DescribeNotebookInstance"),
            ):
                paths = [iam_path(principal, action, notebooks, p)] if is_open else []
                if rule_id.startswith("iam-presigned") and paths:
                    open_paths += paths
                status = Status.FAIL if is_open else Status.PASS
                message = (
                    f"role analyst-{p:04d} can call {action} from outside the approved "
                    f"endpoints on {len(notebooks)} notebook instance(s)"
                    if is_open
                    else f"every grant of {action} to role analyst-{p:04d} holds only "
                    "through the approved endpoints (1 granting statement(s))"
                )
                est.add(
                    rule_id,
                    status,
                    account,
                    GLOBAL_REGION,
                    principal,
                    message,
                    {
                        "principal": principal,
                        "principal_type": "role",
                        "groups": [],
                        "permissions_boundary": None,
                        "actions": [action],
                        "notebooks_in_account": len(notebooks),
                        "paths": paths,
                        "approved_vpc_endpoints": APPROVED,
                        "approved_vpcs": APPROVED_VPCS,
                        "approved_from": "discovered",
                    },
                    principal,
                )
        for region in REGIONS:
            scope = zlib.crc32(f"{account}/{region}".encode())
            vpc = f"vpc-{scope:017x}"
            for i in range(NOTEBOOKS_PER_SCOPE):
                name = f"nb-{region}-{i:04d}"
                arn = f"arn:aws:sagemaker:{region}:{account}:notebook-instance/{name}"
                subnet = f"subnet-{i % 5:017x}"
                outbound = False
                for rule_id, (key, bad, good) in NOTEBOOK_RULES.items():
                    status = est.status()
                    outbound |= rule_id.startswith("notebook-direct") and status is Status.FAIL
                    message = (
                        f"{key} is {bad or 'absent'}; expected {good}"
                        if status is Status.FAIL
                        else f"{key} is {good}"
                    )
                    if status is Status.ERROR:
                        message = "could not read the notebook's subnet route table (AccessDenied)"
                    ev = {key: bad if status is Status.FAIL else good, "subnet_id": subnet}
                    est.add(rule_id, status, account, region, name, message, ev, arn)
                paths: list[dict[str, Any]] = []
                if outbound:
                    paths.append(
                        {
                            "kind": "internet_outbound",
                            "kind_label": "outbound to the internet",
                            "summary": "DirectInternetAccess is Enabled: the notebook reaches "
                            "the internet outside the VPC",
                            "close": "recreate the notebook with --direct-internet-access "
                            "Disabled in a private subnet",
                        }
                    )
                paths += [verdict_path(p) for p in open_paths]
                est.add(
                    "notebook-no-public-access-path",
                    Status.FAIL if paths else Status.PASS,
                    account,
                    region,
                    name,
                    f"{len(paths)} public access path(s) to notebook {name}"
                    if paths
                    else f"no public access path to notebook {name}",
                    {
                        "paths": paths,
                        "paths_total": len(paths),
                        "paths_by_kind": {
                            "iam_inbound": len(open_paths),
                            "internet_outbound": int(outbound),
                            "public_internet": 0,
                        },
                        "closed": [f"subnet {subnet}: no route to the internet"],
                        "vpc_id": vpc,
                        "subnet_id": subnet,
                        "approved_vpc_endpoints": APPROVED,
                        "approved_vpcs": APPROVED_VPCS,
                    },
                    arn,
                )
            for i in range(12):
                eid = f"vpce-{i:04x}{scope:013x}"
                for rule_id in (
                    "endpoint-available",
                    "endpoint-private-dns-resolves",
                    "endpoint-security-group-restricted",
                    "endpoint-policy-restricted",
                ):
                    status = est.status()
                    est.add(
                        rule_id,
                        status,
                        account,
                        region,
                        eid,
                        f"{rule_id}: {status}",
                        {
                            "VpcEndpointId": eid,
                            "VpcId": vpc,
                            "ServiceName": f"com.amazonaws.{region}.sagemaker.api",
                            "PolicyDocument": {
                                "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}]
                            },
                        },
                    )
    # Top up (or trim) to the requested count with security-group findings.
    n = 0
    while len(est.findings) < findings_wanted:
        account, region = ACCOUNTS[n % 3], REGIONS[n % 2]
        sg = f"sg-{n:017x}"
        status = est.status()
        est.add(
            "vpc-default-security-group-closed",
            status,
            account,
            region,
            sg,
            f"default security group has {n % 3} inbound and 1 outbound rule(s); expected none",
            {"GroupId": sg, "IpPermissions": [], "IpPermissionsEgress": [{"IpProtocol": "-1"}]},
        )
        n += 1
    snap = Snapshot(accounts=ACCOUNTS, regions=REGIONS)
    snap.record(
        CollectorOutcome(
            collector="sagemaker.notebooks",
            account_id=ACCOUNTS[2],
            region=REGIONS[1],
            resource_types=["sagemaker:notebook-instance"],
            status=OutcomeStatus.ERROR,
            error_code="AccessDenied",
            error_message="not authorized to perform sagemaker:ListNotebookInstances",
            operation="ListNotebookInstances",
        )
    )
    return RunRecord(
        run_id="20261201T020000Z-bench0",
        snapshot=snap,
        findings=est.findings[:findings_wanted],
        started_at="2026-12-01T02:00:00Z",
        finished_at="2026-12-01T02:04:10Z",
    )


def trend(days: int = 14) -> list[dict[str, Any]]:
    return [
        {
            "run_id": f"202611{d + 1:02d}T020000Z-bench{d}",
            "started_at": f"2026-11-{d + 1:02d}T02:00:00Z",
            "fail": 6200 - 40 * d + (d % 3) * 25,
            "error": 120 + (d % 4) * 30,
        }
        for d in range(days)
    ]


def open_once(browser: Browser, url: str) -> dict[str, float]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("html[data-ready]", state="attached", timeout=60_000)
    ready = float(page.get_attribute("html", "data-ready") or "nan")
    filter_ms = page.evaluate(
        """() => { const t = performance.now();
                   document.querySelector('.status-filter[value="PASS"]').click();
                   return performance.now() - t; }"""
    )
    before = page.text_content("#visible-count")
    t0 = time.perf_counter()
    page.fill("#search", "nb-us-east-1-0042")
    page.wait_for_function(
        "(b) => document.getElementById('visible-count').textContent !== b", arg=before
    )
    search_ms = (time.perf_counter() - t0) * 1000
    context.close()
    if errors:
        raise SystemExit(f"page errors: {errors}")
    return {"first_render_ms": ready, "filter_ms": filter_ms, "search_ms": search_ms}


def screenshot(out: Path) -> None:
    """Run the demo twice (the second run has a previous run and a two-point trend)."""
    repo = Path(__file__).resolve().parent.parent
    scanner = Path(sys.executable).parent / "scanner"
    with tempfile.TemporaryDirectory() as tmp:
        store = f"sqlite:///{tmp}/history.db"
        for _ in range(2):
            command = [str(scanner), "demo", "--config", str(repo / "config.yaml")]
            subprocess.run(
                [*command, "--output", f"{tmp}/reports", "--store", store],
                check=False,
                capture_output=True,
                cwd=repo,
            )
        page_path = sorted(Path(tmp, "reports").glob("*/report.html"))[-1]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1800})
            page.goto(page_path.as_uri())
            page.wait_for_selector("html[data-ready]", state="attached")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            browser.close()
    print(f"screenshot: {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--findings", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="keep report.html here")
    parser.add_argument("--screenshot", type=Path, default=None, help="save the demo's PNG")
    args = parser.parse_args(argv)
    if args.screenshot:
        screenshot(args.screenshot)
        return 0
    record = build(args.findings)
    counts: dict[str, int] = {}
    for f in record.findings:
        counts[str(f.status)] = counts.get(str(f.status), 0) + 1
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or Path(tmp) / "report.html"
        t0 = time.perf_counter()
        write_html(record, path, trend=trend())
        write_s = time.perf_counter() - t0
        size = path.stat().st_size
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            runs = [open_once(browser, path.resolve().as_uri()) for _ in range(args.runs)]
            browser.close()
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(f"findings            {len(record.findings):,} {json.dumps(counts)}")
    print(f"report.html         {size / 1e6:.2f} MB (written in {write_s:.2f} s)")
    for key, value in med.items():
        every = ", ".join(f"{r[key]:.0f}" for r in runs)
        print(f"{key:<19} {value:.0f} ms median of {len(runs)} ({every})")
    print(
        json.dumps(
            {"findings": len(record.findings), "bytes": size, "write_s": round(write_s, 2)}
            | {k: round(v) for k, v in med.items()}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
