"""``scanner demo``: an embedded, seeded demo account scanned end to end over HTTP.

The demo points the scanner at a moto server on 127.0.0.1 with dummy credentials set for
this process only, so it can never reach a real AWS account whatever the user's
environment holds.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, TypeVar

import boto3

from scanner.config import Config
from scanner.demo.server import start_moto

log = logging.getLogger(__name__)

DEMO_REGION = "us-west-2"
T = TypeVar("T")

_DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",
    "AWS_DEFAULT_REGION": DEMO_REGION,
    "AWS_REGION": DEMO_REGION,
}
_CLEARED_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


# moto's server answers Direct Connect calls with HTTP 500 (not implemented). A real
# failure would rightly make the scan incomplete; in the demo it is a known gap of the
# stand-in, so the demo turns that collector off and says so.
MOTO_UNSUPPORTED_COLLECTORS = ("directconnect",)


def demo_config(config: Config, endpoint_url: str) -> Config:
    """The user's config, aimed at the demo server (and its region when none is set)."""
    disabled = list(dict.fromkeys([*config.collectors.disabled, *MOTO_UNSUPPORTED_COLLECTORS]))
    update: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "profile": None,
        "collectors": config.collectors.model_copy(update={"disabled": disabled}),
    }
    if not config.regions:
        update["regions"] = [DEMO_REGION]
    log.info("demo: collectors %s disabled (moto does not implement them)", disabled)
    return config.model_copy(update=update)


def run_demo(config: Config, scan: Callable[[Config], T]) -> T:
    """Start moto, seed the demo account, call ``scan`` on the demo config, stop moto."""
    from scanner.demo.seed import seed_demo_account

    saved = {k: os.environ.get(k) for k in (*_DEMO_ENV, *_CLEARED_ENV, "AWS_ENDPOINT_URL")}
    server = start_moto()
    try:
        os.environ.update(_DEMO_ENV)
        for key in _CLEARED_ENV:
            os.environ.pop(key, None)
        os.environ["AWS_ENDPOINT_URL"] = server.url
        cfg = demo_config(config, server.url)
        region = cfg.regions[0]

        def make(service: str, reg: str = region) -> Any:
            return boto3.client(service, region_name=reg, endpoint_url=server.url)

        log.info("seeding the demo account at %s", server.url)
        seed_demo_account(make, region)
        return scan(cfg)
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
