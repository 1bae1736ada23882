"""A seeded account behind :mod:`tests.faultproxy`, for the fault-matrix tests.

moto's backends live in the process that runs its server, and the shared server of
``tests/conftest.py`` is reset before every test that asks for ``moto`` (under ``pytest -n``
such tests interleave with any module's).  So the matrix runs its own moto server in a
subprocess (:func:`moto_process`), seeds it once with the demo account (two VPCs, notebooks,
Studio domains, profiles, spaces and image configs, a private hosted zone, IAM principals,
a trail) plus an organization, and collects the undisturbed snapshot once.  Every fault is
then one partial collection through the proxy, spliced into that snapshot
(:func:`splice`) and evaluated offline: each half is the product's own code over HTTP.

moto's server does not implement Direct Connect (HTTP 500 on every call), so the proxy
answers its three read calls with canned, botocore-shaped bodies (:data:`DIRECT_CONNECT`):
one gateway without associations, no virtual interfaces.  Their collectors then run like
the others, and denying one of their calls is a real AccessDenied through botocore.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session

from scanner.collectors import COLLECTORS, collect
from scanner.collectors.registry import all_operations
from scanner.config import CollectorsConfig, Config
from scanner.demo.builders import CachedClients
from scanner.demo.seed import seed_demo_account
from scanner.engine import RuleSet
from scanner.model.finding import Finding, Status
from scanner.model.record import RunRecord
from scanner.model.snapshot import Snapshot
from scanner.run import evaluate_snapshot
from tests.faultproxy import DENIED, FaultProxy, ProtocolFault
from tests.scenariokit import REGION, scan_config

ACCOUNT = "123456789012"
JSON = "application/x-amz-json-1.1"

_MOTO_SERVER = """\
import logging, sys
logging.getLogger("werkzeug").setLevel(logging.WARNING)
from scanner.demo.server import start_moto
server = start_moto()
print(server.url, flush=True)
sys.stdin.read()
server.stop()
"""

DIRECT_CONNECT: dict[str, dict[str, Any]] = {
    "DescribeDirectConnectGateways": {
        "directConnectGateways": [
            {
                "directConnectGatewayId": "5f294f92-bafb-4011-916d-9b0bexample",
                "directConnectGatewayName": "corp-dx",
                "amazonSideAsn": 64512,
                "ownerAccount": ACCOUNT,
                "directConnectGatewayState": "available",
            }
        ]
    },
    "DescribeDirectConnectGatewayAssociations": {"directConnectGatewayAssociations": []},
    "DescribeVirtualInterfaces": {"virtualInterfaces": []},
}
"""What the proxy answers for Direct Connect, which moto lacks (module docstring)."""


@contextmanager
def moto_process() -> Iterator[str]:
    """moto's server (with the scanner's additions) in a subprocess: its URL while open."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _MOTO_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), f"moto did not start: {url!r}"
        yield url
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def seed(url: str) -> None:
    """The demo account, and an organization whose management account it is (so the
    Organizations collector reads its SCPs and walks up to the root)."""
    make = CachedClients(
        lambda service, region: boto3.client(service, region_name=region, endpoint_url=url)
    )
    seed_demo_account(make, REGION)
    make("organizations", "us-east-1").create_organization(FeatureSet="ALL")


def bare(operation: str) -> str:
    """``DescribeVpcs`` of ``ec2:DescribeVpcs``: the name the proxy knows a request by."""
    return operation.partition(":")[2]


def rest_services() -> list[str]:
    """Services the scanner calls whose protocol is REST (the proxy routes them by path)."""
    session = botocore.session.get_session()
    services = sorted({op.partition(":")[0] for op in all_operations()})
    return [
        s
        for s in services
        if session.get_service_model(s).resolved_protocol in ("rest-xml", "rest-json")
    ]


def callers(operation: str) -> set[str]:
    """Collectors whose spec may call ``operation`` (``service:Operation``)."""
    return {name for name, spec in COLLECTORS.items() if operation in spec.operations}


def provided_types(collectors: Iterable[str]) -> set[str]:
    return {t for name in collectors for t in COLLECTORS[name].resource_types}


def dependents(rules: RuleSet, types: set[str]) -> set[str]:
    """Rules whose declared dependencies (``requires``, their own type included) meet
    ``types``: with those unread, every verdict of theirs is ERROR."""
    return {r.id for r in rules.rules if set(r.requires) & types}


def fail_dependents(rules: RuleSet, types: set[str], config: Config) -> set[str]:
    """Rules whose ``requires_for_fail`` meets ``types`` (and that config does not supply,
    ``unless_config``): with those unread, a FAIL of theirs is ERROR and a PASS stands."""
    return {
        r.id
        for r in rules.rules
        for req in r.requires_for_fail
        if req.type in types and not any(_config_value(config, n) for n in req.unless_config)
    } - dependents(rules, types)


def _config_value(config: Config, dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def splice(base: Snapshot, part: Snapshot, collectors: set[str]) -> Snapshot:
    """A copy of ``base`` with the outcomes and resources of ``collectors`` from ``part``
    (``base`` itself is left alone: every operation splices into the same one)."""
    out = copy.deepcopy(base)
    types = provided_types(collectors)
    for regions in out.resources.values():
        for by_type in regions.values():
            for rtype in types:
                by_type.pop(rtype, None)
    for res in part.iter_resources():
        if res.type in types:
            out.add(res.account_id, res.region, res.type, res.id, res.data, res.arn)
    kept = [o for o in out.collectors if o.collector not in collectors]
    out.collectors = kept + [o for o in part.collectors if o.collector in collectors]
    out.collectors.sort(key=lambda o: (o.account_id, o.region, o.collector))
    return out


def record_of(snapshot: Snapshot, findings: list[Finding]) -> RunRecord:
    """The run record the product would build from these (its exit code, its report)."""
    return RunRecord("matrix", snapshot, findings, snapshot.started_at, snapshot.finished_at or "")


def by_fingerprint(findings: Iterable[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in findings:
        assert f.fingerprint not in out, f"two findings {f.rule_id} {f.resource_id}"
        out[f.fingerprint] = f
    return out


def kept_statuses(findings: Iterable[Finding], excluded: set[str]) -> set[tuple[str, Status]]:
    """(fingerprint, status) of every finding of a rule not in ``excluded``."""
    return {(f.fingerprint, f.status) for f in findings if f.rule_id not in excluded}


def changed(
    before: list[Finding], after: list[Finding], hard: set[str], soft: frozenset[str] = frozenset()
) -> list[str]:
    """Findings that are not what the undisturbed scan's predict, readably (the assertion
    message of "everything else is unchanged"): rules in ``hard`` are left out (asserted
    ERROR apart); a rule in ``soft`` (FAIL-only dependencies) gives no FAIL, and each of its
    findings keeps its status or is ERROR (a PASS that rested on the unread data has
    nothing to stand on either); every other finding keeps its fingerprint and status."""
    old, new = by_fingerprint(before), by_fingerprint(after)
    out: list[str] = []
    for fp in sorted(set(old) | set(new)):
        a, b = old.get(fp), new.get(fp)
        f = b or a
        assert f is not None
        if f.rule_id in hard:
            continue
        want = a.status if a else None
        got = b.status if b else None
        allowed = {Status.ERROR} | ({want} - {Status.FAIL}) if f.rule_id in soft else {want}
        if got not in allowed:
            out.append(f"{f.rule_id} {f.resource_id}: {want} before, {got} now: {f.message[:200]}")
    return out


@dataclass
class Seeded:
    """The seeded account, its proxy and the undisturbed scan."""

    proxy: FaultProxy
    rules: RuleSet
    baseline: Snapshot
    findings: list[Finding]
    called: Counter[str]
    """Requests per operation of the undisturbed collection."""

    def config(self, only: Iterable[str] | None = None, **overrides: Any) -> Config:
        """The scan config through the proxy: every collector, or ``only`` these."""
        keep = set(COLLECTORS) if only is None else set(only)
        disabled = sorted(set(COLLECTORS) - keep)
        settings: dict[str, Any] = {"collectors": CollectorsConfig(disabled=disabled)}
        return scan_config(self.proxy.url, **{**settings, **overrides})

    def arm(self, *denied: str, fault: ProtocolFault = DENIED) -> None:
        """Forget earlier faults and counts; answer Direct Connect; deny ``denied``."""
        arm(self.proxy)
        for operation in denied:
            self.proxy.fail(bare(operation), fault)

    def collect(
        self, *denied: str, only: Iterable[str] | None = None, **overrides: Any
    ) -> Snapshot:
        """Collect (``only`` these collectors) with ``denied`` operations denied."""
        self.arm(*denied)
        return collect(self.config(only, **overrides))

    def evaluate(self, snapshot: Snapshot) -> list[Finding]:
        return evaluate_snapshot(snapshot, self.config(), self.rules)


def arm(proxy: FaultProxy) -> None:
    """Reset ``proxy`` and make it answer Direct Connect (:data:`DIRECT_CONNECT`)."""
    proxy.reset()
    for operation, body in DIRECT_CONNECT.items():
        proxy.answer(operation, json.dumps(body), JSON)
