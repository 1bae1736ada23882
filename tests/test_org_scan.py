"""Organization scans on moto's server: discovery, assume-role per member, SCPs per OU.

The organization (tests/orgkit.py): the management account (moto's default) and three
members, two in OU ``prod`` and one in ``sandbox``, each reached by ``sts:AssumeRole`` into
``OrganizationAccountAccessRole``.  Every account gets the same open role, allowed
``sagemaker:CreatePresignedNotebookInstanceUrl`` on ``*`` with no condition, and one
notebook, so the only thing that differs between accounts is where they sit in the tree:
an SCP on ``prod`` that denies presigned URLs outside the approved endpoint closes the
path in the prod members, and only there.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from scanner.collectors.completeness import record_unrecorded
from scanner.config import Config
from scanner.demo import builders
from scanner.demo.server import MotoServer
from scanner.errors import InputError
from scanner.fanout import tasks
from scanner.history.shards import ShardStore
from scanner.model.finding import Finding, Status
from scanner.model.snapshot import GLOBAL_REGION, OutcomeStatus, Snapshot
from scanner.orgconf import ExecutorConfig
from scanner.run import RunOptions, evaluate_snapshot, run
from tests.clikit import run_cli
from tests.faultproxy import FaultProxy
from tests.orgkit import Org, attach_scp, break_role, build_org

REGION = "us-east-1"
PRESIGN = "sagemaker:CreatePresignedNotebookInstanceUrl"


def _seed_account(org: Org, account: str) -> str:
    """One private VPC with the SageMaker endpoints, one notebook, one open role."""

    def make(service: str, region: str) -> Any:
        return org.client(service, account, region)

    vpc = builders.build_private_vpc(make, REGION, vpn=False, flow_logs=False)
    builders.build_notebook(make, REGION, "nb", vpc.subnet_id, [vpc.notebook_sg_id])
    builders.build_role(
        make,
        REGION,
        "DataScientist",
        trust=builders.account_trust(account),
        inline={"open": builders.unconditioned_policy(PRESIGN)},
    )
    return str(vpc.endpoints["notebook"])


def _deny_outside(endpoints: list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "NotebookUrlsOnlyViaEndpoints",
                "Effect": "Deny",
                "Action": PRESIGN,
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoints}},
            }
        ],
    }


@pytest.fixture
def seeded(moto: MotoServer) -> tuple[Org, list[str]]:
    """The organization, and the notebook endpoint of each account (the SCP's approved set)."""
    built = build_org(moto.url, members=3)
    endpoints = [_seed_account(built, account) for account in built.accounts]
    attach_scp(built, built.ous["prod"], _deny_outside(endpoints), "RequireNotebookVpce")
    return built, endpoints


@pytest.fixture
def org(seeded: tuple[Org, list[str]]) -> Org:
    return seeded[0]


def _config(moto: MotoServer, **organization: Any) -> Config:
    return Config(
        regions=[REGION],
        endpoint_url=moto.url,
        organization={"discover": True, **organization},
        collectors={"disabled": ["directconnect", "cloudtrail", "route53resolver"]},
    )


def _scan(config: Config, tmp_path: Any) -> Any:
    return run(RunOptions(config=config, output_dir=tmp_path, formats=["json"], use_store=False))


def _by(findings: list[Finding], rule: str) -> dict[str, Finding]:
    return {f.account_id: f for f in findings if f.rule_id == rule}


def test_discovery_scans_every_account_through_its_role(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    record = _scan(_config(moto), tmp_path)
    snap: Snapshot = record.snapshot
    assert sorted(snap.accounts) == sorted(org.accounts)
    for account in org.accounts:
        notebooks = list(snap.iter_resources("sagemaker:notebook-instance", account_id=account))
        assert [n.id for n in notebooks] == ["nb"], account
        assert notebooks[0].arn is not None and f":{account}:" in notebooks[0].arn
    assert snap.failed_outcomes() == []


def test_scp_on_an_ou_closes_the_path_in_its_members_only(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    findings = _scan(_config(moto), tmp_path).findings
    scp = _by(findings, "org-scp-enforces-vpc-endpoint")
    prod, sandbox = org.members[:2], org.members[2]
    for member in prod:
        assert scp[member].status is Status.PASS, scp[member].message
    assert scp[sandbox].status is Status.FAIL
    # The management account: the same SCP tree, but SCPs never apply to it.
    assert scp[org.management_id].status is Status.FAIL
    assert "management account" in scp[org.management_id].message
    paths = _by(findings, "notebook-no-public-access-path")
    for member in prod:
        assert paths[member].status is Status.PASS, paths[member].message
    assert paths[sandbox].status is Status.FAIL
    assert paths[org.management_id].status is Status.FAIL


def test_organizations_is_read_once_in_the_management_account(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    snap = _scan(_config(moto), tmp_path).snapshot
    org_outcomes = [o for o in snap.collectors if o.collector == "organizations"]
    assert {o.account_id for o in org_outcomes} == set(org.accounts)
    read = [o for o in org_outcomes if o.source_account is None]
    assert [o.account_id for o in read] == [org.management_id]
    assert all(o.source_account == org.management_id for o in org_outcomes if o not in read)
    members = {r.id for r in snap.iter_resources("organizations:account")}
    assert members == set(org.accounts)
    for member in org.members:  # nothing Organizations-shaped is stored under a member
        assert not list(snap.iter_resources("organizations:policy", account_id=member))


def test_an_account_whose_role_cannot_be_assumed_is_error_and_the_others_go_on(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    broken = org.members[1]
    break_role(org, broken)
    record = run(
        RunOptions(
            config=_config(moto), output_dir=tmp_path, formats=["json", "html"], use_store=False
        )
    )
    assert int(record.exit_code) == 3
    [unreachable] = record.unreachable_accounts  # named once, with the reason
    assert unreachable["account_id"] == broken
    assert (unreachable["operation"], unreachable["error_code"]) == ("AssumeRole", "AccessDenied")
    document = json.loads(Path(record.reports["json"]).read_text())
    assert document["run"]["unreachable_accounts"] == [unreachable]
    html = Path(record.reports["html"]).read_text()
    assert 'id="unreachable-accounts"' in html and f"<b>{broken}</b>" in html
    snap = record.snapshot
    mine = [o for o in snap.collectors if o.account_id == broken]
    assert mine and all(o.status is OutcomeStatus.ERROR for o in mine)
    assert {o.operation for o in mine} == {"AssumeRole"}
    assert all(o.error_code == "AccessDenied" for o in mine)
    assert all("role/OrganizationAccountAccessRole" in (o.error_message or "") for o in mine)
    others = [o for o in snap.collectors if o.account_id != broken]
    assert others and all(o.status is not OutcomeStatus.ERROR for o in others)
    notebooks = {r.account_id for r in snap.iter_resources("sagemaker:notebook-instance")}
    assert notebooks == set(org.accounts) - {broken}
    errors = [f for f in record.findings if f.account_id == broken]
    assert errors and all(f.status is Status.ERROR for f in errors)


def test_include_ous_and_exclude_accounts_narrow_the_scan(
    moto: MotoServer, org: Org, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    prod = org.ous["prod"]
    with caplog.at_level(logging.INFO, logger="scanner.collectors.collect"):
        snap = _scan(_config(moto, include_ous=[prod]), tmp_path / "a").snapshot
    assert sorted(snap.accounts) == sorted(org.members[:2])
    skipped = [r.getMessage() for r in caplog.records if "not scanned" in r.getMessage()]
    assert len(skipped) == 2  # the management account and the sandbox member, each named
    assert any(org.members[2] in line and "include_ous" in line for line in skipped)
    snap = _scan(_config(moto, exclude_accounts=[org.members[0]]), tmp_path / "b").snapshot
    assert sorted(snap.accounts) == sorted(set(org.accounts) - {org.members[0]})


def test_excluded_management_account_still_gives_its_scps_and_is_not_judged(
    moto: MotoServer, seeded: tuple[Org, list[str]], tmp_path: Any
) -> None:
    """The SCP names every account's endpoint; with the management account unscanned its
    endpoint is pinned as approved, or the SCP would rightly leave a path through it."""
    org, endpoints = seeded
    config = _config(moto, exclude_accounts=[org.management_id]).model_copy(
        update={"approved_vpc_endpoints": endpoints}
    )
    record = _scan(config, tmp_path)
    assert org.management_id not in record.snapshot.accounts
    scp = _by(record.findings, "org-scp-enforces-vpc-endpoint")
    assert set(scp) == set(org.members)
    assert scp[org.members[0]].status is Status.PASS
    assert scp[org.members[2]].status is Status.FAIL
    assert not [f for f in record.findings if f.account_id == org.management_id]


def test_failed_organization_read_makes_member_scp_rules_error(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    """Re-evaluated offline: the management read failed, so no member's SCPs can pass."""
    snap = _scan(_config(moto), tmp_path).snapshot
    for o in snap.collectors:
        if o.collector == "organizations":
            o.status = OutcomeStatus.ERROR
            o.error_code = "TooManyRequestsException"
    scp = _by(evaluate_snapshot(snap, _config(moto)), "org-scp-enforces-vpc-endpoint")
    assert {f.status for f in scp.values()} == {Status.ERROR}
    assert GLOBAL_REGION in {f.region for f in scp.values()}


def test_discovery_from_a_member_account_is_an_error_not_an_empty_organization(
    moto: MotoServer, org: Org, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with org._lock:
        creds = org._credentials_for(org.members[0])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds["aws_secret_access_key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", creds["aws_session_token"])
    record = _scan(_config(moto), tmp_path)
    assert int(record.exit_code) == 3
    assert record.snapshot.accounts == [org.members[0]]
    assert all(o.status is OutcomeStatus.ERROR for o in record.snapshot.collectors)


def _verdicts(findings: list[Finding]) -> dict[tuple[str, str, str, str], Status]:
    return {(f.rule_id, f.account_id, f.region, f.resource_id): f.status for f in findings}


def _keys(snap: Snapshot) -> set[tuple[str, str, str, str]]:
    return {(r.account_id, r.region, r.type, r.id) for r in snap.iter_resources()}


def test_dask_executor_gives_the_same_findings_as_the_local_one(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    """A LocalCluster of two worker processes: each task assumes its account's role on the
    worker and hands its shards back through the store; the merged snapshot is the same."""
    break_role(org, org.members[2])  # an unreachable account is the same ERROR on both paths
    local = run(
        RunOptions(
            config=_config(moto),
            output_dir=tmp_path / "local",
            formats=["json"],
            store=f"sqlite:///{tmp_path / 'local.db'}",
        )
    )
    dask_config = _config(moto).model_copy(
        update={"executor": ExecutorConfig(kind="dask", workers=2, threads_per_worker=4)}
    )
    url = f"sqlite:///{tmp_path / 'dask.db'}"
    on_dask = run(
        RunOptions(config=dask_config, output_dir=tmp_path / "dask", formats=["json"], store=url)
    )
    assert _verdicts(on_dask.findings) == _verdicts(local.findings)
    assert len(on_dask.findings) > 50
    # The same resources (keys: each scan's AssumeRole changes the access role's RoleLastUsed)
    assert _keys(on_dask.snapshot) == _keys(local.snapshot)
    assert on_dask.snapshot.get(org.members[0], REGION, "sagemaker:notebook-instance", "nb")
    assert int(on_dask.exit_code) == int(local.exit_code) == 3
    assert ShardStore(url).count() == 0  # every shard was taken back out while merging


def test_dask_needs_the_store(moto: MotoServer, tmp_path: Any) -> None:
    config = Config(endpoint_url=moto.url, regions=[REGION], executor={"kind": "dask"})
    with pytest.raises(InputError, match="needs the history store"):
        run(RunOptions(config=config, output_dir=tmp_path, use_store=False))


def test_one_command_scans_the_organization_and_names_the_unreachable_account(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    broken = org.members[2]
    break_role(org, broken)
    config = tmp_path / "config.yaml"
    config.write_text(
        f"regions: [{REGION}]\n"
        f"endpoint_url: {moto.url}\n"
        "organization:\n  discover: true\n"
        "collectors:\n  disabled: [directconnect, cloudtrail, route53resolver]\n"
    )
    done = run_cli("scan", "--config", str(config), "--format", "json", cwd=tmp_path)
    assert done.returncode == 3, done.stderr
    lines = [line for line in done.stdout.splitlines() if f"account {broken}:" in line]
    assert len(lines) == 1, done.stdout
    assert "failed on AssumeRole: AccessDenied" in lines[0]
    assert f"arn:aws:iam::{broken}:role/OrganizationAccountAccessRole" in lines[0]
    for account in set(org.accounts) - {broken}:
        assert f"account {account}:" not in done.stdout


def test_assumed_credentials_refresh_themselves_before_they_expire(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    """900-second sessions sit inside botocore's refresh window from the start, so every
    use refreshes: a scan that outlived its credentials would be the same calls.  (A lone
    member reads its own Organizations data, which moto answers unlike AWS: off here.)"""
    with FaultProxy(moto.url) as proxy:
        config = Config(
            endpoint_url=proxy.url,
            regions=[REGION],
            accounts=[
                {
                    "id": org.members[0],
                    "role_arn": org.role_arn(org.members[0]),
                    "duration_seconds": 900,
                }
            ],
            collectors={
                "disabled": ["directconnect", "cloudtrail", "route53resolver", "organizations"]
            },
        )
        snap = _scan(config, tmp_path).snapshot
        assumed = proxy.counts["AssumeRole"]
    assert snap.failed_outcomes() == []
    assert [n.id for n in snap.iter_resources("sagemaker:notebook-instance")] == ["nb"]
    assert assumed > 1


def test_a_long_session_is_assumed_once(moto: MotoServer, org: Org, tmp_path: Any) -> None:
    with FaultProxy(moto.url) as proxy:
        config = Config(
            endpoint_url=proxy.url,
            regions=[REGION],
            accounts=[{"id": org.members[0], "role_arn": org.role_arn(org.members[0])}],
            collectors={"disabled": ["directconnect", "cloudtrail", "route53resolver"]},
        )
        _scan(config, tmp_path)
        assert proxy.counts["AssumeRole"] == 1


def test_an_account_list_scans_each_account_in_its_own_regions(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    member = org.members[2]
    config = Config(
        endpoint_url=moto.url,
        regions=[REGION],
        accounts=[
            {"id": org.management_id},  # the credentials' own account: no role
            {"id": member, "role_arn": org.role_arn(member), "regions": [REGION, "us-west-2"]},
        ],
        collectors={"disabled": ["directconnect", "cloudtrail", "route53resolver"]},
    )
    record = _scan(config, tmp_path)
    snap = record.snapshot
    assert snap.account_regions == {
        org.management_id: [REGION],
        member: [REGION, "us-west-2"],
    }
    assert {o.region for o in snap.collectors if o.account_id == org.management_id} == {
        REGION,
        GLOBAL_REGION,
    }
    assert "us-west-2" in {o.region for o in snap.collectors if o.account_id == member}
    # The member's SCPs came from the management account's one read (the list holds it).
    member_org = [
        o for o in snap.collectors if o.account_id == member and o.collector == "organizations"
    ]
    assert [o.source_account for o in member_org] == [org.management_id]
    scp = _by(record.findings, "org-scp-enforces-vpc-endpoint")
    assert scp[member].status is Status.FAIL  # sandbox: no SCP closes it
    # Stored and read back, the snapshot is complete as it is: no region is "unrecorded".
    reloaded = Snapshot.load(snap.save(tmp_path / "snap.json.gz"))
    assert reloaded.account_regions == snap.account_regions
    assert record_unrecorded(reloaded) == []


def test_a_listed_account_without_a_role_must_be_the_credentials_own(
    moto: MotoServer, org: Org, tmp_path: Any
) -> None:
    config = Config(endpoint_url=moto.url, regions=[REGION], accounts=[{"id": org.members[0]}])
    with pytest.raises(InputError, match="needs a role_arn"):
        _scan(config, tmp_path)


def test_a_dask_worker_with_another_accounts_credentials_refuses_the_job(
    moto: MotoServer,
) -> None:
    """Without a role a worker reads with its own credentials; if they are of another
    account than the job's, its task fails (the driver records WorkerFailed ERRORs) instead
    of collecting that account under this one's id."""
    doc = Config(endpoint_url=moto.url, regions=[REGION]).model_dump_json()
    assert tasks._account(doc, None, "123456789012") is not None  # moto's default account
    with pytest.raises(tasks.WrongAccount, match="not 999988887777"):
        tasks._account(doc, None, "999988887777")
