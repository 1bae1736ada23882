"""Helpers for the collector tests: run a chosen subset of collectors against moto."""

from __future__ import annotations

from typing import Any

from scanner.collectors import COLLECTORS, collect
from scanner.config import CollectorsConfig, Config, RetryConfig
from scanner.model.snapshot import CollectorOutcome, Resource, Snapshot

REGION = "us-west-2"


def make_config(*only: str, endpoint_url: str | None = None, **overrides: Any) -> Config:
    """Config for tests: one region, standard retries with 2 attempts, only ``only`` enabled."""
    disabled = [name for name in COLLECTORS if only and name not in only]
    settings: dict[str, Any] = {
        "regions": [REGION],
        "retries": RetryConfig(mode="standard", max_attempts=2),
        "collectors": CollectorsConfig(disabled=disabled, concurrency=4),
        "endpoint_url": endpoint_url,
    }
    settings.update(overrides)
    return Config(**settings)


def collect_only(*only: str, endpoint_url: str | None = None, **overrides: Any) -> Snapshot:
    """Collect with only the named collectors enabled (all of them when none are named)."""
    return collect(make_config(*only, endpoint_url=endpoint_url, **overrides))


def resources(snap: Snapshot, rtype: str, region: str = REGION) -> dict[str, Resource]:
    """Resources of one type in one region, by id."""
    return {r.id: r for r in snap.iter_resources(rtype, region=region)}


def outcome(snap: Snapshot, collector: str, region: str = REGION) -> CollectorOutcome:
    """The single outcome of ``collector`` in ``region`` (``global`` for global collectors)."""
    if COLLECTORS[collector].is_global:
        region = "global"
    found = [o for o in snap.collectors if o.collector == collector and o.region == region]
    assert len(found) == 1, found
    return found[0]
