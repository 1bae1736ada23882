"""Real receivers for notifications, on 127.0.0.1: an HTTP server and an SMTP server.

``receiver`` starts ``ThreadingHTTPServer``s that record every POST and answer from a
script; ``smtp_server`` starts aiosmtpd servers that keep every message and login attempt.
Both are fixtures (registered in ``conftest.py``) that stop what they started.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from scanner.demo.server import free_port

# -- HTTP ------------------------------------------------------------------


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """``ThreadingHTTPServer`` recording every POST and answering from a script of
    (status, body); the last answer repeats."""

    answers: list[tuple[int, bytes]]
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with lock:
                    receiver.requests.append(Request(self.path, headers, body))
                    n = len(receiver.requests)
                status, reply = receiver.answers[min(n, len(receiver.answers)) - 1]
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the path may carry the fake token the log tests look for."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver() -> Iterator[Callable[..., Receiver]]:
    """Start receivers: ``receiver(200)``, ``receiver(500, 200)``, ``receiver((404, b"x"))``."""
    started: list[Receiver] = []

    def start(*answers: int | tuple[int, bytes]) -> Receiver:
        script = [a if isinstance(a, tuple) else (a, b"ok") for a in answers or (200,)]
        started.append(Receiver(script))
        return started[-1]

    yield start
    for r in started:
        r.close()


# -- SMTP -----------------------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage


class Mailbox:
    """Handler and authenticator of a real aiosmtpd server: keeps every message and every
    login attempt, and accepts ``logins`` (user -> password)."""

    def __init__(self, logins: dict[str, str]) -> None:
        self.logins = logins
        self.mail: list[Mail] = []
        self.attempts: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.mail.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), cast(Any, parsed)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        self.attempts.append((login, password))
        return AuthResult(success=self.logins.get(login) == password, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Mailbox, int]]]:
    """Start a real SMTP server on 127.0.0.1 (AUTH over plain text allowed: it is local)."""
    controllers: list[Controller] = []

    def start(logins: dict[str, str] | None = None) -> tuple[Mailbox, int]:
        box = Mailbox(logins or {})
        port = free_port()
        controller = Controller(
            box,
            hostname="127.0.0.1",
            port=port,
            auth_require_tls=False,
            authenticator=box.authenticate,
        )
        controller.start()
        controllers.append(controller)
        return box, port

    yield start
    for c in controllers:
        c.stop()
