"""Session and client factory: credentials, regions, endpoint and client settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner import __version__
from scanner.aws.session import ClientFactory, global_region_for
from scanner.collectors import collect
from scanner.config import Config, RetryConfig
from scanner.errors import InputError
from scanner.model.snapshot import Snapshot
from tests.collectkit import make_config


def test_unknown_profile_is_an_input_error() -> None:
    with pytest.raises(InputError, match="'nope'"):
        ClientFactory(Config(profile="nope"))


def test_credentials_that_cannot_be_loaded_leave_the_failure_to_the_preflight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A role profile whose AssumeRole cannot succeed (its source profile names no region
    # and the endpoint is closed): making the factory must not raise; the preflight's
    # first call records the failure on every collector (exit 3), as before.
    aws_config = tmp_path / "aws-config"
    aws_config.write_text(
        "[profile base]\naws_access_key_id = testing\naws_secret_access_key = testing\n"
        "[profile assumer]\nrole_arn = arn:aws:iam::123456789012:role/scanner\n"
        "source_profile = base\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(aws_config))
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    config = Config(profile="assumer", regions=["us-west-2"], retries=RetryConfig(max_attempts=1))
    ClientFactory(config)
    snap = collect(config)
    assert snap.failed_outcomes() and all(
        o.operation == "GetCallerIdentity" for o in snap.failed_outcomes()
    )


def test_aws_region_is_the_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert ClientFactory(Config()).default_region == "eu-central-1"
    monkeypatch.delenv("AWS_REGION")
    assert ClientFactory(Config()).default_region == "us-west-2"  # AWS_DEFAULT_REGION


def test_clients_carry_retries_timeouts_user_agent_and_endpoint() -> None:
    config = Config(
        endpoint_url="http://127.0.0.1:9",
        retries=RetryConfig(mode="standard", max_attempts=3, connect_timeout=4, read_timeout=7),
    )
    factory = ClientFactory(config)
    client = factory.client("ec2", "eu-west-1")
    settings = client.meta.config
    assert settings.retries == {"mode": "standard", "total_max_attempts": 3}
    assert (settings.connect_timeout, settings.read_timeout) == (4, 7)
    assert f"privatelink-scanner/{__version__}" in settings.user_agent_extra
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    assert client.meta.region_name == "eu-west-1"
    assert factory.client("ec2", "eu-west-1") is client
    assert factory.client("ec2", "us-west-2") is not client


def test_endpoint_defaults_to_aws_endpoint_url(moto: Any) -> None:
    client = ClientFactory(Config()).client("sts", "us-west-2")
    assert client.meta.endpoint_url == moto.url


@pytest.mark.parametrize(
    ("region", "home"),
    [
        ("eu-west-1", "us-east-1"),
        ("cn-northwest-1", "cn-north-1"),
        ("us-gov-east-1", "us-gov-west-1"),
    ],
)
def test_global_services_are_called_in_the_partition_home_region(region: str, home: str) -> None:
    assert global_region_for(region) == home


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def start(self, stage: str, total: int) -> None:
        self.events.append(("start", stage, total))

    def advance(self, stage: str, label: str) -> None:
        self.events.append(("advance", stage, label))

    def finish(self, stage: str) -> None:
        self.events.append(("finish", stage, None))


def test_progress_and_snapshot_round_trip(moto: Any, tmp_path: Path) -> None:
    progress = Recorder()
    snap = collect(make_config("vpc", "subnet", "iam"), progress=progress)
    n = len(snap.collectors)
    assert progress.events[0] == ("start", "collect", n)
    assert [e[0] for e in progress.events[1:]] == ["advance"] * n + ["finish"]
    assert snap.finished_at is not None and snap.finished_at >= snap.started_at
    loaded = Snapshot.load(snap.save(tmp_path / "snap.json.gz"))
    assert loaded.resources == snap.resources  # everything collected is plain JSON
    assert [o.to_dict() for o in loaded.collectors] == [o.to_dict() for o in snap.collectors]
