"""A synthetic AWS Organization in moto's server, for the organization-scale benchmarks.

What one account holds is the account of ``bench_calls.py`` (which imports :func:`seed`
from here): in each region ``vpcs`` VPCs, each with a private subnet and the SageMaker
notebook, API and runtime interface endpoints (private DNS on, the AWS post's restricted
endpoint policy and security group), and ``notebooks`` notebook instances spread over
those VPCs; once per account (IAM is global) ``roles`` IAM roles, each trusting the
account and carrying the post's ``aws:sourceVpce`` policy over the account's first 20
endpoints.

:func:`seed_org` builds the organization with ``tests/orgkit.py`` (the management account
is moto's default 123456789012; OUs ``prod`` and ``sandbox``) and seeds every account.
``accounts`` counts *all* accounts, the management account included: ``accounts=20`` is the
management account and 19 members, all 20 seeded alike.  Members are reached through
their ``OrganizationAccountAccessRole``, as the scanner reaches them.

Accounts are seeded in parallel on a thread pool (moto's server is threaded; every request
is real HTTP).  Where the time goes: a full-size account is about 5,100 requests (per
region ~40 x 20 for the VPCs and endpoints, 200 notebooks; 2,000 for the roles and their
policies), and no single moto call is slow: every request costs about 6 ms, most of it
moto's per-request dispatch (its server lists moto's package directory under a global lock
to find the service, ``inspect.getmembers`` of the response class, werkzeug/Flask) and
botocore's client side.  With :func:`start_moto`'s server in this process, client and
server threads share one interpreter lock, so the pool adds no throughput on its own;
``--server-process`` runs the same ``start_moto`` in a child process and the two sides use
two cores.  Measured on this 2-core machine, 2 accounts x 3 regions at full size: 87 s in
one process, 60 s with ``--server-process``; 20 accounts x 3 regions, 645 s with
``--server-process`` (linear in accounts: about 30 s an account).

Usage: ``python benchmarks/orgseed.py --accounts 2 [--regions us-east-1 us-west-2
eu-west-1] [--notebooks 200] [--vpcs 40] [--roles 1000] [--workers 8]
[--server-process]``: starts moto, seeds, prints progress and timings, then each account's
id and resource counts read back through the API.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.demo import builders
from scanner.demo.server import start_moto
from tests.orgkit import Org, build_org

REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
POLICY_ENDPOINTS = 20
"""How many endpoint ids each role's ``aws:sourceVpce`` policy names."""
MAX_VPCS = 256
"""VPC ``i`` gets ``10.i.0.0/16``."""

Progress = Callable[[str], None]


@dataclass
class AccountSeed:
    """What was created in one account (ids, for assertions and counts)."""

    account_id: str
    vpcs: dict[str, list[str]] = field(default_factory=dict)
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    notebooks: dict[str, list[str]] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each phase: ``vpcs <region>``, ``notebooks <region>``, ``roles``."""

    def counts(self) -> dict[str, int]:
        return {
            "vpcs": sum(map(len, self.vpcs.values())),
            "endpoints": sum(map(len, self.endpoints.values())),
            "notebooks": sum(map(len, self.notebooks.values())),
            "roles": len(self.roles),
        }


@dataclass
class OrgSeed:
    """The organization and what :func:`seed_org` put in each account."""

    org: Org
    regions: tuple[str, ...]
    accounts: dict[str, AccountSeed]
    seconds: float
    org_seconds: float


def _quiet(_: str) -> None:
    pass


def seed_region(
    make: builders.ClientFactory,
    region: str,
    into: AccountSeed,
    *,
    vpcs: int,
    notebooks: int,
    endpoints: Sequence[builders.EndpointKind] = builders.ALL_ENDPOINTS,
) -> None:
    """``vpcs`` private VPCs with the endpoints, and ``notebooks`` notebooks round-robin
    over them (tagged ``team``/``data`` like bench_calls' account), in one region."""
    if not 1 <= vpcs <= MAX_VPCS:
        raise ValueError(f"vpcs must be 1..{MAX_VPCS} (one 10.x.0.0/16 each), not {vpcs}")
    started = time.perf_counter()
    built = [
        builders.build_private_vpc(
            make,
            region,
            name=f"ml-{i}",
            cidr=f"10.{i}.0.0/16",
            endpoints=endpoints,
            vpn=False,
            flow_logs=False,
        )
        for i in range(vpcs)
    ]
    into.vpcs[region] = [v.vpc_id for v in built]
    into.endpoints[region] = [e for v in built for e in v.endpoints.values()]
    into.seconds[f"vpcs {region}"] = time.perf_counter() - started
    started = time.perf_counter()
    role = builders.build_notebook_role(make, region)
    names = []
    for i in range(notebooks):
        vpc = built[i % len(built)]
        name = f"nb-{i:04d}"
        builders.build_notebook(
            make,
            region,
            name,
            vpc.subnet_id,
            [vpc.notebook_sg_id],
            role_arn=role,
            tags={"team": f"t{i % 7}", "data": "phi"},
        )
        names.append(name)
    into.notebooks[region] = names
    into.seconds[f"notebooks {region}"] = time.perf_counter() - started


def seed_roles(make: builders.ClientFactory, region: str, into: AccountSeed, *, roles: int) -> None:
    """``roles`` roles trusting the account, each with the post's ``aws:sourceVpce`` policy
    over the account's first endpoints (seed the regions first)."""
    started = time.perf_counter()
    endpoints = [e for ids in into.endpoints.values() for e in ids][:POLICY_ENDPOINTS]
    trust = builders.account_trust(into.account_id)
    policy = {"notebooks": builders.sourcevpce_policy(endpoints)}
    into.roles = [
        builders.build_role(make, region, f"role-{i:05d}", trust=trust, inline=policy)
        for i in range(roles)
    ]
    into.seconds["roles"] = time.perf_counter() - started


def seed_account(
    make: builders.ClientFactory,
    regions: Sequence[str],
    *,
    vpcs: int,
    notebooks: int,
    roles: int,
    account_id: str | None = None,
) -> AccountSeed:
    """One account: :func:`seed_region` in each region, then :func:`seed_roles`."""
    account = account_id or builders.account_id(make, regions[0])
    seeded = AccountSeed(account_id=account)
    for region in regions:
        seed_region(make, region, seeded, vpcs=vpcs, notebooks=notebooks)
    seed_roles(make, regions[0], seeded, roles=roles)
    return seeded


def seed(url: str, *, vpcs: int, notebooks: int, roles: int, region: str = "us-west-2") -> None:
    """bench_calls' account: the credentials' own account (moto's default) in one region."""

    def make(service: str, client_region: str) -> Any:
        return boto3.client(service, region_name=client_region, endpoint_url=url)

    seed_account(
        builders.CachedClients(make), [region], vpcs=vpcs, notebooks=notebooks, roles=roles
    )


def seed_org(
    url: str,
    *,
    accounts: int,
    regions: Sequence[str] = REGIONS,
    notebooks: int = 200,
    vpcs: int = 40,
    roles: int = 1000,
    workers: int = 8,
    progress: Progress = _quiet,
) -> OrgSeed:
    """An organization of ``accounts`` accounts (management included: ``accounts - 1``
    members), each seeded by :func:`seed_account` in every region; accounts in parallel on
    ``workers`` threads.  ``progress`` gets one line per finished account (``print``)."""
    if accounts < 1:
        raise ValueError("accounts counts the management account: at least 1")
    regions = tuple(regions)
    started = time.perf_counter()
    org = build_org(url, members=accounts - 1)
    org_seconds = time.perf_counter() - started
    progress(f"organization: {accounts} accounts in {org_seconds:.1f} s")
    lock = threading.Lock()
    done: list[str] = []

    def one(account: str) -> AccountSeed:
        def make(service: str, region: str) -> Any:
            return org.client(service, account, region)

        began = time.perf_counter()
        seeded = seed_account(
            make, regions, vpcs=vpcs, notebooks=notebooks, roles=roles, account_id=account
        )
        with lock:
            done.append(account)
            phases = ", ".join(f"{k} {v:.0f}s" for k, v in seeded.seconds.items())
            progress(
                f"[{len(done)}/{accounts}] {account} seeded in "
                f"{time.perf_counter() - began:.0f} s "
                f"(at {time.perf_counter() - started:.0f} s; {phases})"
            )
        return seeded

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="orgseed") as pool:
        results = list(pool.map(one, org.accounts))
    return OrgSeed(
        org=org,
        regions=regions,
        accounts={s.account_id: s for s in results},
        seconds=time.perf_counter() - started,
        org_seconds=org_seconds,
    )


def read_back(org: Org, account: str, regions: Sequence[str]) -> dict[str, int]:
    """The account's resources as the API lists them (the default VPC left out)."""
    vpcs = endpoints = notebooks = 0
    for region in regions:
        ec2 = org.client("ec2", account, region)
        for page in ec2.get_paginator("describe_vpcs").paginate():
            vpcs += sum(1 for v in page["Vpcs"] if not v.get("IsDefault"))
        for page in ec2.get_paginator("describe_vpc_endpoints").paginate():
            endpoints += len(page["VpcEndpoints"])
        sm = org.client("sagemaker", account, region)
        for page in sm.get_paginator("list_notebook_instances").paginate():
            notebooks += len(page["NotebookInstances"])
    iam = org.client("iam", account, regions[0])
    roles = sum(len(p["Roles"]) for p in iam.get_paginator("list_roles").paginate())
    return {"vpcs": vpcs, "endpoints": endpoints, "notebooks": notebooks, "iam roles": roles}


def _serve(urls: Any) -> None:
    """Child process of :func:`moto_server`: start moto, hand back its URL, serve."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = start_moto()
    urls.put(server.url)
    threading.Event().wait()  # until the parent terminates this process


@contextmanager
def moto_server(*, separate_process: bool = False) -> Iterator[str]:
    """moto's server from :func:`start_moto` (with the STS and Studio additions), here or
    in a child process; yields its URL and stops it on exit."""
    if not separate_process:
        server = start_moto()
        try:
            yield server.url
        finally:
            server.stop()
        return
    context = multiprocessing.get_context("spawn")
    urls = context.Queue()
    child = context.Process(target=_serve, args=(urls,), name="moto-server", daemon=True)
    child.start()
    try:
        yield str(urls.get(timeout=120))
    finally:
        child.terminate()
        child.join(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2, help="management account included")
    parser.add_argument("--regions", nargs="+", default=list(REGIONS))
    parser.add_argument("--notebooks", type=int, default=200, help="per account and region")
    parser.add_argument("--vpcs", type=int, default=40, help="per account and region")
    parser.add_argument("--roles", type=int, default=1000, help="per account")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument(
        "--server-process",
        action="store_true",
        help="run moto's server (start_moto) in a child process: client and server then use "
        "two cores instead of sharing one interpreter lock (about 1.45x faster here)",
    )
    args = parser.parse_args()
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with moto_server(separate_process=args.server_process) as url:
        result = seed_org(
            url,
            accounts=args.accounts,
            regions=args.regions,
            notebooks=args.notebooks,
            vpcs=args.vpcs,
            roles=args.roles,
            workers=args.workers,
            progress=lambda line: print(line, flush=True),
        )
        print(
            f"\nseeded {args.accounts} accounts x {len(result.regions)} regions "
            f"({args.vpcs} VPCs, {args.notebooks} notebooks per account-region; "
            f"{args.roles} roles per account) in {result.seconds:.1f} s "
            f"(organization {result.org_seconds:.1f} s), {args.workers} workers"
        )
        print("| account | kind | VPCs | endpoints | notebooks | IAM roles |")
        print("|---|---|---|---|---|---|")
        for account in result.org.accounts:
            got = read_back(result.org, account, result.regions)
            kind = "management" if account == result.org.management_id else "member"
            print(
                f"| {account} | {kind} | {got['vpcs']} | {got['endpoints']} | "
                f"{got['notebooks']} | {got['iam roles']} |"
            )


if __name__ == "__main__":
    main()
