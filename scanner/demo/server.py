"""Start moto's server, the stand-in for AWS used by ``scanner demo`` and the tests.

The scanner always talks real HTTP to it (``ThreadedMotoServer`` on 127.0.0.1 and a free
port); the scanner's clients are never patched, so pagination, serialisation and errors are
real.  The additions to moto itself, installed into the server here, are
:mod:`scanner.demo.moto_studio` (Studio user profiles, spaces and app image configs, which
moto lacks), :mod:`scanner.demo.moto_tagging` (the tagging API's GetResources for them) and
:mod:`scanner.demo.moto_sts` (AssumeRole refused, as AWS refuses it, for a role that does
not exist or does not trust the caller).
"""

from __future__ import annotations

import socket
import urllib.request
from dataclasses import dataclass
from typing import Any

from scanner.errors import ScannerError


class DemoUnavailable(ScannerError):
    """moto is not installed (the ``demo`` extra)."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoServer:
    """A running moto server; ``url`` is what ``AWS_ENDPOINT_URL`` should point at."""

    server: Any
    url: str

    def reset(self) -> None:
        """Forget every resource (moto's documented reset endpoint)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=60) as resp:
            resp.read()

    def stop(self) -> None:
        """Shut the server down."""
        self.server.stop()


def start_moto() -> MotoServer:
    """Start moto's threaded server on 127.0.0.1 at a free port, with the additions."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:  # pragma: no cover - depends on installed extras
        raise DemoUnavailable(
            "the demo needs moto's server: pip install 'privatelink-scanner[demo]'"
        ) from None
    from scanner.demo import moto_sts, moto_studio, moto_tagging

    moto_studio.install()
    moto_tagging.install()
    moto_sts.install()
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return MotoServer(server=server, url=f"http://127.0.0.1:{port}")
