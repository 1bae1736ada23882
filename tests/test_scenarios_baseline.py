"""The compliant baseline: every issue-2 rule PASSes except imdsv2 (moto drops the setting)."""

from __future__ import annotations

from typing import Any

from scanner.demo.server import MotoServer
from scanner.model.finding import Status
from tests.scenariokit import NB, assert_scan, build_baseline, scan


def test_baseline_passes_every_rule_but_imdsv2(aws: Any, moto: MotoServer) -> None:
    base = build_baseline(aws)
    result = scan(moto.url)
    assert_scan(result, base.expected())
    assert result.status()["notebook-imdsv2-required"] == {NB: Status.FAIL}
