"""What the three ticketing fakes share: a real HTTP server, a request log and the faults.

A fake is a ``ThreadingHTTPServer`` on 127.0.0.1 and a port the kernel picks, serving from
a daemon thread, so a client under test talks real HTTP (sockets, timeouts, retries) and
not a mock of its own HTTP library.  Everything that is not an API's own business lives
here once: recording each request, checking credentials, routing by method and path,
turning Python values into JSON responses, and the scripted faults (``fail_next``,
``delay_next``, ``hold_next``) that let a test put a client through rate limits, read
timeouts and a crash between the remote write and its own bookkeeping.

A subclass supplies its routes, its error document (``problem``) and its state.  Route
handlers run under ``lock``, one at a time, so the state dicts need no finer locking and a
test reading them under the same lock sees a consistent picture.
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Recorded:
    """One request as it arrived: ``path`` is without the query and without the fake's
    context path, so assertions read the same whatever prefix a deployment uses."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def param(self, name: str) -> str | None:
        """The first value of a query parameter (what the documented APIs read)."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Reply:
    """A response: ``body`` is a JSON document, raw ``bytes``, or ``None`` for no body."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class Rejected(Exception):
    """Raised by a route handler to answer with ``reply`` (a validation error, a 404): it
    keeps each handler's happy path straight-line."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


Route = Callable[[Recorded, "re.Match[str]"], Reply]


@dataclass
class _Fault:
    kind: Literal["fail", "delay", "hold"]
    method: str
    pattern: re.Pattern[str]
    times: int
    status: int = 503
    retry_after: str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    arrived: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)

    def matches(self, rec: Recorded) -> bool:
        return (
            self.times > 0
            and self.method in ("*", rec.method)
            and self.pattern.fullmatch(rec.path) is not None
        )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, service: FakeService) -> None:
        self.service = service
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Silent: a client that gave up mid-response (the point of ``delay_next``) or a
        test that closed the fake under a held request is not an error of the fake, and
        a traceback on stderr would read like one."""


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so once ``close`` returns no pooled keep-alive
    # connection can still be answered by a handler thread of the closed fake.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        self.server.service._serve(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: request lines carry tokens and test output should show only failures."""


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while size := int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
        while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # trailers
        return b"".join(chunks)
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def utcnow() -> datetime:
    return datetime.now(UTC)


class FakeService:
    """Base of the fakes: see the module docstring.

    ``basic`` (user, secret) and ``bearer`` are the credentials accepted; any other
    ``Authorization`` gets the API's own 401.  With neither, every request is accepted.
    """

    #: Authorization schemes (lower case) that carry the ``bearer`` token.
    token_schemes: tuple[str, ...] = ("bearer",)

    def __init__(
        self,
        *,
        context_path: str = "",
        basic: tuple[str, str] | None = None,
        bearer: str | None = None,
    ) -> None:
        self.context_path = "/" + context_path.strip("/") if context_path.strip("/") else ""
        self.basic = basic
        self.bearer = bearer
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._routes: list[tuple[str, re.Pattern[str], Route]] = [
            (method, re.compile(pattern), handler) for method, pattern, handler in self.routes()
        ]
        self._closing = threading.Event()
        self._closed = False
        self._server = _Server(self)
        host, port = self._server.server_address[:2]
        self.origin = f"http://{host!s}:{port}"
        self.url = self.origin + self.context_path
        # A short poll: ``close`` (shutdown) waits up to one poll interval, once per fake.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()

    # -- what a subclass provides ---------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Route]]:
        """(method, path regex, handler) in match order; paths exclude the context path."""
        raise NotImplementedError

    def problem(self, status: int, message: str) -> Reply:
        """The API's error document for ``status`` (404 of an unknown path, 401, faults)."""
        raise NotImplementedError

    def unauthorized(self) -> Reply:
        return self.problem(401, "Unauthorized")

    # -- helpers for subclasses -----------------------------------------------------------

    def json_body(self, rec: Recorded) -> Any:
        """The request's JSON document, or the API's 400 for a body that is not one."""
        try:
            return rec.json()
        except ValueError as exc:
            raise Rejected(self.problem(400, f"Invalid JSON in request body: {exc}")) from None

    def json_object(self, rec: Recorded) -> dict[str, Any]:
        doc = self.json_body(rec)
        if not isinstance(doc, dict):
            raise Rejected(self.problem(400, "The request body must be a JSON object."))
        return doc

    def page_url(self, rec: Recorded, **replace: str) -> str:
        """The URL of ``rec`` with some query parameters replaced: the links of a
        ``Link`` header keep every other parameter the client sent, as the APIs do."""
        query = {k: list(v) for k, v in rec.query.items()}
        for name, value in replace.items():
            query[name] = [value]
        return f"{self.url}{rec.path}?{urlencode(query, doseq=True)}"

    def auth_headers(self) -> dict[str, str]:
        """An ``Authorization`` header this fake accepts, for tests that call it directly."""
        if self.bearer is not None:
            return {"Authorization": f"Bearer {self.bearer}"}
        if self.basic is not None:
            raw = base64.b64encode(":".join(self.basic).encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        return {}

    # -- assertions and faults ------------------------------------------------------------

    def count(self, method: str, pattern: str) -> int:
        """Requests with this method ("*" for any) whose path fully matches ``pattern``."""
        regex = re.compile(pattern)
        with self.lock:
            return sum(
                1
                for r in self.requests
                if method in ("*", r.method) and regex.fullmatch(r.path) is not None
            )

    def fail_next(
        self,
        method: str,
        pattern: str,
        *,
        status: int = 503,
        times: int = 1,
        retry_after: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status`` and have no effect (an
        overloaded or rate-limiting front end answered them).  ``body`` defaults to the
        API's error document; ``headers`` adds e.g. GitHub's ``x-ratelimit-*``."""
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = retry_after
        self._add(
            _Fault("fail", method, re.compile(pattern), times, status, retry_after, body, extra)
        )

    def delay_next(self, method: str, pattern: str, seconds: float, *, times: int = 1) -> None:
        """The next matching requests take effect, and then their response waits
        ``seconds``: a client with a shorter read timeout gives up on work that was done."""
        self._add(_Fault("delay", method, re.compile(pattern), times, seconds=seconds))

    def hold_next(self, method: str, pattern: str) -> threading.Event:
        """The next matching request takes effect, then the returned event is set, then
        its response waits for ``release()`` or ``close()``: the window in which a test
        kills a client between the remote write and the client's own record of it."""
        fault = _Fault("hold", method, re.compile(pattern), 1)
        self._add(fault)
        return fault.arrived

    def release(self) -> None:
        """Let every request held so far (or still to be held by a registered hold) go."""
        with self.lock:
            for fault in self._faults:
                fault.gate.set()

    def recover(self) -> None:
        """Drop every programmed fault still pending: the service answers normally again."""
        with self.lock:
            for fault in self._faults:
                fault.gate.set()
            self._faults.clear()

    def close(self) -> None:
        """Stop serving (idempotent): held and delayed responses are let go first."""
        if self._closed:
            return
        self._closed = True
        self._closing.set()
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _add(self, fault: _Fault) -> None:
        with self.lock:
            self._faults.append(fault)

    # -- serving --------------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        body = _read_body(handler)
        raw = split.path
        ctx = self.context_path
        inside = not ctx or raw == ctx or raw.startswith(ctx + "/")
        rec = Recorded(
            method=handler.command,
            path=raw[len(ctx) :] if inside else raw,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self.lock:
            self.requests.append(rec)
            fault = next((f for f in self._faults if f.matches(rec)), None)
            if fault is not None:
                fault.times -= 1
        if fault is not None and fault.kind == "fail":
            reply = Reply(fault.status, fault.body, fault.headers)
            if fault.body is None:
                reply.body = self.problem(fault.status, _phrase(fault.status)).body
        else:
            reply = self._answer(rec) if inside else self.problem(404, "Not Found")
            if fault is not None and fault.kind == "delay":
                self._closing.wait(fault.seconds)
            elif fault is not None and fault.kind == "hold":
                fault.arrived.set()
                fault.gate.wait()
        _send(handler, reply)

    def _answer(self, rec: Recorded) -> Reply:
        if not self._authorized(rec.headers.get("authorization")):
            return self.unauthorized()
        allowed = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(rec.path)
            if match is None:
                continue
            if method != rec.method:
                allowed = True
                continue
            try:
                with self.lock:
                    return handler(rec, match)
            except Rejected as rejected:
                return rejected.reply
            except Exception as exc:  # noqa: BLE001 - a fake's own bug must reach the test as a 500
                return self.problem(500, f"{type(exc).__name__} in the fake: {exc}")
        if allowed:
            return self.problem(405, f"Method {rec.method} is not allowed for {rec.path}")
        return self.problem(404, "Not Found")

    def _authorized(self, header: str | None) -> bool:
        if self.basic is None and self.bearer is None:
            return True
        scheme, _, credential = (header or "").strip().partition(" ")
        credential = credential.strip()
        if scheme.lower() in self.token_schemes and self.bearer is not None:
            return hmac.compare_digest(credential.encode(), self.bearer.encode())
        if scheme.lower() == "basic" and self.basic is not None:
            try:
                decoded = base64.b64decode(credential, validate=True)
            except ValueError:
                return False
            return hmac.compare_digest(decoded, ":".join(self.basic).encode())
        return False


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    if reply.body is None:
        data = b""
    elif isinstance(reply.body, bytes):
        data = reply.body
    else:
        data = json.dumps(reply.body).encode()
    bodiless = reply.status in (204, 304)
    try:
        handler.send_response(reply.status)
        if reply.body is not None and not bodiless:
            handler.send_header("Content-Type", "application/json;charset=UTF-8")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if not bodiless:
            handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if data and not bodiless:
            handler.wfile.write(data)
    except OSError:
        pass  # the client hung up (a read timeout): the effect stands, as on a real server
