"""Log lines: the run id on every line from every thread, secrets masked everywhere, and a
log call that can never fail the code that makes it."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from scanner.logs import current_run, register_secret, setup_logging

SECRET = "fake-log-secret-Q1w2E3r4"


@pytest.fixture
def json_logs(capfd: pytest.CaptureFixture[str]) -> Iterator[Callable[[], logging.Logger]]:
    """``start()`` installs the JSON handler: called inside the test, so the handler writes
    to the test's own captured stderr (one made in fixture setup would outlive its stream)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    def start() -> logging.Logger:
        setup_logging("json")
        capfd.readouterr()
        return logging.getLogger("scanner.test")

    yield start
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(capfd: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(x) for x in capfd.readouterr().err.splitlines() if x.strip()]


def test_every_line_carries_the_run_id_from_any_thread(
    json_logs: Callable[[], logging.Logger], capfd: pytest.CaptureFixture[str]
) -> None:
    log = json_logs()
    log.info("before")
    with current_run("R-1"):
        worker = threading.Thread(target=log.info, args=("from a worker",))
        worker.start()
        worker.join()
        log.info("explicit", extra={"run_id": "R-other"})
    log.info("after")
    got = [(x["msg"], x["run_id"]) for x in lines(capfd)]
    assert got == [
        ("before", None),
        ("from a worker", "R-1"),
        ("explicit", "R-other"),
        ("after", None),
    ]


def test_a_registered_secret_is_masked_in_message_fields_and_traceback(
    json_logs: Callable[[], logging.Logger], capfd: pytest.CaptureFixture[str]
) -> None:
    log = json_logs()
    register_secret(SECRET)
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        log.exception("token %s", SECRET, extra={"url": f"https://x/{SECRET}"})
    out = capfd.readouterr().err
    assert SECRET not in out
    [line] = [json.loads(x) for x in out.splitlines() if x.strip()]
    assert line["msg"] == "token ***" and line["url"] == "https://x/***"
    assert "failed with ***" in str(line["exc"])


def test_a_bad_format_string_never_raises_into_the_caller(
    json_logs: Callable[[], logging.Logger], capfd: pytest.CaptureFixture[str]
) -> None:
    log = json_logs()
    register_secret(SECRET)
    log.info("two %s %s", SECRET)  # one argument short
    out = capfd.readouterr().err
    assert SECRET not in out
