"""Shared fixtures: one moto server per test session, reset between tests.

AWS is reached over real HTTP only.  The environment is pointed at the moto server and
given dummy credentials before any boto3 client exists, so no test can touch real AWS.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings

from scanner.demo.server import MotoServer, start_moto
from scanner.logs import forget_secrets
from tests.faultproxy import FaultProxy
from tests.historykit import make_snapshots

for _key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_key, None)
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-west-2"
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull

# moto's server logs every request through werkzeug; keep test failure output readable.
logging.getLogger("werkzeug").setLevel(logging.WARNING)

# Property-based tests run the same examples on every machine (derandomize: a CI failure
# reproduces locally), keep no example database in the checkout, and bound their cost by
# example count, never by a wall-clock deadline (a loaded CI machine must not fail them).
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

REGION = "us-west-2"
ACCOUNT = "123456789012"  # moto's default account


@pytest.fixture(autouse=True)
def _no_secrets_across_tests() -> Iterator[None]:
    """Secrets registered for masking live for the process; a test starts with none, so a
    fake credential of one test (a user name such as ``scanner``) cannot mask another's."""
    yield
    forget_secrets()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's ThreadedMotoServer on 127.0.0.1 and a free port, for the whole session."""
    server = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    """A freshly reset moto server: every test starts from an empty account."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def aws(moto: MotoServer) -> Any:
    """Factory for boto3 clients talking to the reset moto server over HTTP."""

    def make(service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=moto.url)

    return make


pytest_plugins = ["tests.storekit", "tests.schedulekit", "tests.notifykit", "tests.ticketkit"]


@pytest.fixture
def proxy(moto: MotoServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the session's moto server (tests/faultproxy.py):
    collectors pointed at ``proxy.url`` meet genuine AWS error bodies over real HTTP."""
    with FaultProxy(moto.url) as p:
        yield p


@pytest.fixture(scope="module")
def snapshots(
    moto_server: MotoServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """Two stored snapshots of the scenario account, differing in one notebook (nb2): the
    history tests' consecutive runs, collected once per module (tests.historykit)."""
    return make_snapshots(moto_server.url, moto_server.reset, tmp_path_factory.mktemp("snaps"))
