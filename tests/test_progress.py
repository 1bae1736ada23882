"""Progress sinks: the log sink counts units, the rich bar starts and stops cleanly."""

from __future__ import annotations

import logging

import pytest

from scanner.progress import LogProgress, RichProgress


def test_log_progress_reports_start_units_and_finish(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="scanner.progress")
    sink = LogProgress()
    sink.start("collect", 2)
    sink.advance("collect", "vpc us-west-2")
    sink.advance("collect", "iam global")
    sink.finish("collect")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "collect: 2 units",
        "collect: vpc us-west-2 (1/2)",
        "collect: iam global (2/2)",
        "collect: done",
    ]


def test_rich_progress_stops_the_bar_when_the_last_stage_finishes() -> None:
    sink = RichProgress()
    sink.start("collect", 1)
    assert sink._bar.live.is_started
    sink.advance("collect", "vpc us-west-2")
    sink.finish("collect")
    assert not sink._bar.live.is_started
