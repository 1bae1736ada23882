"""A small HTTP proxy in front of moto's server that injects genuine AWS errors.

Why: collector failure handling must be tested over the wire, through botocore's real
retry and error parsing, not with patched clients.  The proxy forwards every request to
moto unchanged except those for operations it was told to fail, which get the error body
the service's protocol really uses (EC2 XML, query XML, JSON with ``__type``).  It counts
requests per operation so a test can assert that retries are bounded without timing.

It can also answer an operation with a given HTTP 200 body (:meth:`FaultProxy.answer`), to
test what the scanner does with a well-formed reply that lacks fields it relies on, and
hold every reply for ``delay`` seconds (a slow AWS, so a test can stop a scan mid-way);
``arrivals`` keeps the monotonic time each request arrived, to show when calls stopped.

Operations are recognised by ``Action=`` (EC2/query protocols, form body or query string),
``X-Amz-Target`` (JSON protocols), or, for REST services, by method and path: the routes of a
service are read from botocore's own model with :meth:`FaultProxy.route_rest` (Route 53's
``GET /2013-04-01/hostedzone/{Id}`` is GetHostedZone), or registered by hand with
:meth:`FaultProxy.fail_path`.

A :class:`ProtocolFault` is one failure whose code AWS spells per protocol: access denied
(:data:`DENIED`: EC2's UnauthorizedOperation, AccessDenied, AccessDeniedException) and, for
credentials that die mid-scan (:meth:`FaultProxy.die_after` answers every request after the
first ``n``), :data:`EXPIRED_TOKEN` and :data:`INVALID_TOKEN`.  A fault wins over a canned
answer for the same operation.

Both sockets of every exchange (client side and moto side) set ``TCP_NODELAY``: a reply is
written as headers then body, and with Nagle's algorithm the second write waits for the
peer's delayed ACK (40 ms on Linux), which cost ~40 ms per proxied request.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

EC2_API_VERSION = "2016-11-15"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class Fault:
    """The error to answer with."""

    code: str
    status: int
    message: str = "injected by faultproxy"


ACCESS_DENIED = Fault("AccessDenied", 403, "User is not authorized to perform this operation")
THROTTLING = Fault("Throttling", 400, "Rate exceeded")


@dataclass(frozen=True)
class ProtocolFault:
    """One failure whose error code depends on the protocol of the request, as AWS's
    credential errors do; ``by_protocol`` has a :class:`Fault` for ``ec2``, ``query``,
    ``json`` and ``rest``."""

    name: str
    by_protocol: Mapping[str, Fault]

    def for_protocol(self, protocol: str) -> Fault:
        return self.by_protocol[protocol]


_EXPIRED = "The security token included in the request is expired"
_INVALID = "The security token included in the request is invalid."
# Session credentials past their expiry: EC2 says RequestExpired (400), the query protocols
# (STS, IAM) and Route 53 ExpiredToken (403), the JSON protocols ExpiredTokenException.
EXPIRED_TOKEN = ProtocolFault(
    "expired",
    {
        "ec2": Fault("RequestExpired", 400, "Request has expired."),
        "query": Fault("ExpiredToken", 403, _EXPIRED),
        "json": Fault("ExpiredTokenException", 400, _EXPIRED),
        "rest": Fault("ExpiredToken", 403, _EXPIRED),
    },
)
# A key AWS does not know (revoked, deleted, mistyped): EC2 AuthFailure (401), the query
# protocols and Route 53 InvalidClientTokenId (403), JSON UnrecognizedClientException (400).
INVALID_TOKEN = ProtocolFault(
    "invalid",
    {
        "ec2": Fault(
            "AuthFailure", 401, "AWS was not able to validate the provided access credentials"
        ),
        "query": Fault("InvalidClientTokenId", 403, _INVALID),
        "json": Fault("UnrecognizedClientException", 400, _INVALID),
        "rest": Fault("InvalidClientTokenId", 403, _INVALID),
    },
)


# Access denied as each protocol says it: EC2 UnauthorizedOperation (403, its message never
# names the action), the query protocols and Route 53 AccessDenied (403), JSON services
# AccessDeniedException (400).
DENIED = ProtocolFault(
    "denied",
    {
        "ec2": Fault(
            "UnauthorizedOperation", 403, "You are not authorized to perform this operation."
        ),
        "query": ACCESS_DENIED,
        "json": Fault(
            "AccessDeniedException", 400, "User is not authorized to perform this operation"
        ),
        "rest": ACCESS_DENIED,
    },
)


def rest_routes(service: str) -> list[tuple[str, str, re.Pattern[str]]]:
    """(operation, HTTP method, path pattern) of every operation of a REST ``service``, from
    botocore's model; routes with fewer path variables first, so a literal path wins."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    routes: list[tuple[int, str, str, re.Pattern[str]]] = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http["requestUri"]).split("?", 1)[0]
        parts = re.split(r"(\{[^}]+\})", uri)
        regex = "".join(
            ("[^?]+" if p.endswith("+}") else "[^/?]+") if p.startswith("{") else re.escape(p)
            for p in parts
        )
        routes.append((uri.count("{"), str(http["method"]), name, re.compile(f"^{regex}(?:\\?|$)")))
    return [
        (name, method, pattern) for _, method, name, pattern in sorted(routes, key=lambda r: r[0])
    ]


class FaultProxy:
    """Threaded proxy on 127.0.0.1; use as a context manager or call :meth:`stop`."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.faults: dict[str, Fault | ProtocolFault] = {}
        self.answers: dict[str, tuple[bytes, str]] = {}
        self.path_faults: list[tuple[str, re.Pattern[str], Fault]] = []
        self.routes: list[tuple[str, str, re.Pattern[str]]] = []
        self.counts: Counter[str] = Counter()
        self.faulted: Counter[str] = Counter()
        """Requests answered with a fault, per operation."""
        self.delay = 0.0
        self.arrivals: list[tuple[float, str]] = []
        self.death: tuple[int, ProtocolFault] | None = None
        self.requests = 0
        """Requests seen so far, every operation (what :meth:`die_after` counts)."""
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll: :meth:`stop` waits up to one interval (0.5 s by default) per proxy.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, operation: str, fault: Fault | ProtocolFault) -> None:
        """Answer every request for ``operation`` (API name, e.g. DescribeVpcEndpoints),
        in preference to any canned :meth:`answer` for it."""
        self.faults[operation] = fault

    def answer(self, operation: str, body: str, content_type: str = "text/xml") -> None:
        """Answer every request for ``operation`` with HTTP 200 and ``body`` (not forwarded)."""
        self.answers[operation] = (body.encode(), content_type)

    def fail_path(self, operation: str, pattern: str, fault: Fault) -> None:
        """Answer requests whose path matches ``pattern``; counted as ``operation``."""
        self.path_faults.append((operation, re.compile(pattern), fault))

    def route_rest(self, *services: str) -> None:
        """Recognise the operations of these REST services (botocore names) by method and
        path, so :meth:`fail` and :attr:`counts` work for them by operation name."""
        for service in services:
            self.routes += rest_routes(service)

    def die_after(self, requests: int, fault: ProtocolFault) -> None:
        """Answer every request after the first ``requests`` (counted from now on, every
        operation) with ``fault`` in the request's protocol: credentials dying mid-scan."""
        with self._lock:
            self.death = (self.requests + requests, fault)

    def reset(self) -> None:
        """Forget faults, answers, counts and arrivals (routes stay)."""
        with self._lock:
            self.faults.clear()
            self.answers.clear()
            self.path_faults.clear()
            self.counts.clear()
            self.faulted.clear()
            self.arrivals.clear()
            self.requests = 0
            self.death = None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling ---------------------------------------------------------------
    def _identify(self, path: str, headers: dict[str, str], body: bytes) -> tuple[str, str]:
        """(operation, protocol) of a request; operation may be "" when unknown."""
        target = headers.get("x-amz-target")
        if target:
            return target.rsplit(".", 1)[-1], "json"
        for op, pattern, _ in self.path_faults:
            if pattern.search(path):
                return op, "rest"
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        form = form or parse_qs(urlsplit(path).query)
        if "Action" in form:
            protocol = "ec2" if form.get("Version") == [EC2_API_VERSION] else "query"
            return form["Action"][0], protocol
        return "", "rest"

    def _route(self, method: str, path: str) -> str:
        """The REST operation (of a service given to :meth:`route_rest`) a request is for."""
        for op, route_method, pattern in self.routes:
            if route_method == method and pattern.search(path):
                return op
        return ""

    def _fault_for(self, operation: str, protocol: str) -> Fault | None:
        for op, _, fault in self.path_faults:
            if op == operation:
                return fault
        found = self.faults.get(operation)
        return found.for_protocol(protocol) if isinstance(found, ProtocolFault) else found

    @staticmethod
    def error_body(fault: Fault, protocol: str) -> tuple[bytes, dict[str, str]]:
        """The body and headers AWS uses for an error in ``protocol``."""
        if protocol == "json":
            body = json.dumps({"__type": fault.code, "message": fault.message}).encode()
            return body, {
                "Content-Type": "application/x-amz-json-1.1",
                "x-amzn-ErrorType": fault.code,
            }
        if protocol == "ec2":
            xml = (
                f"<Response><Errors><Error><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error></Errors>"
                "<RequestID>faultproxy</RequestID></Response>"
            )
        else:
            xml = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{fault.code}</Code>"
                f"<Message>{fault.message}</Message></Error>"
                "<RequestId>faultproxy</RequestId></ErrorResponse>"
            )
        return xml.encode(), {"Content-Type": "text/xml"}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # TCP_NODELAY on the client's socket

            def log_message(self, format: str, *args: object) -> None:
                return None

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                operation, protocol = proxy._identify(self.path, headers, body)
                if not operation and protocol == "rest":
                    operation = proxy._route(self.command, self.path)
                with proxy._lock:
                    proxy.counts[operation] += 1
                    proxy.arrivals.append((time.monotonic(), operation))
                    proxy.requests += 1
                    dead = proxy.death is not None and proxy.requests > proxy.death[0]
                    death = proxy.death
                if proxy.delay:
                    time.sleep(proxy.delay)
                fault = proxy._fault_for(operation, protocol)
                if dead and death is not None:
                    fault = death[1].for_protocol(protocol)
                if fault is not None:  # a fault wins over a canned answer
                    with proxy._lock:
                        proxy.faulted[operation] += 1
                    payload, extra = proxy.error_body(fault, protocol)
                    self._reply(fault.status, list(extra.items()), payload)
                    return
                canned = proxy.answers.get(operation)
                if canned is not None:
                    self._reply(200, [("Content-Type", canned[1])], canned[0])
                    return
                conn = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
                try:
                    conn.connect()
                    assert conn.sock is not None
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    fwd = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                    fwd["Host"] = f"{proxy.upstream_host}:{proxy.upstream_port}"
                    conn.request(self.command, self.path, body=body or None, headers=fwd)
                    resp = conn.getresponse()
                    data = resp.read()
                    kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP]
                    self._reply(resp.status, kept, data)
                finally:
                    conn.close()

            def _reply(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

        return Handler
