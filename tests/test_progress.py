"""Progress sinks: the log sink counts units, the rich bar starts and stops cleanly."""

from __future__ import annotations

import logging

from scanner.progress import LogProgress, RichProgress


class Collect(logging.Handler):
    """Keeps records (independent of pytest's logging plugin)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_log_progress_reports_start_units_and_finish() -> None:
    logger = logging.getLogger("scanner.progress")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        sink = LogProgress()
        sink.start("collect", 2)
        sink.advance("collect", "vpc us-west-2")
        sink.advance("collect", "iam global")
        sink.finish("collect")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    messages = [r.getMessage() for r in handler.records]
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
