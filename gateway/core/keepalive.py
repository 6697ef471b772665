"""Plain HTTP/1.1 with kept-alive connections, for the gateway's JSON calls to one service.

The services sit next to the gateway and speak plain HTTP/1.1 (gunicorn,
Flask). Measured on the bench machine, a small read through urllib3 cost
0.56 ms of gateway CPU, through ``http.client`` 0.28 ms, and written straight
to the socket 0.07 ms: three such calls per page were a large part of the
gateway's own cost. This client does only what those calls need: one request
at a time per connection, bodies by ``Content-Length``, chunked or until the
server closes; no TLS, no proxies, no redirects, no compression (``https``
base URLs keep going through urllib3).

Failures are reported as two kinds, as the caller needs them:
:class:`NotDelivered` (the connection was refused, reset or closed before an
answer came: the service did not answer this request) and :class:`NoAnswerInTime`
(the read timeout passed: the service may be working on it).
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Mapping

_CHUNK = 65536
_MAX_HEAD_BYTES = 64 * 1024
_NO_BODY_STATUSES = frozenset({204, 304})


class NotDelivered(Exception):
    """Connection refused, reset or closed before a whole answer arrived."""


class NoAnswerInTime(Exception):
    """The service took the request and did not answer within the read timeout."""


class KeepAliveConnections:
    """Requests to one ``host:port``, each on an idle kept-alive connection or a new one."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_idle: int,
    ) -> None:
        self.address = (host, port)
        self.host_header = f"{host}:{port}"
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def request(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, str, bytes]:
        """Send one request; (status, reason, body) of its answer."""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host_header}"]
        head.extend(f"{name}: {value}" for name, value in headers.items())
        if body is not None or method in ("POST", "PUT", "PATCH"):
            head.append(f"Content-Length: {len(body or b'')}")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")
        connection = self._checkout()
        try:
            try:
                connection.sendall(payload)
            except OSError as exc:
                raise NotDelivered(str(exc)) from exc
            status, reason, answer, reusable = _read_answer(connection, method)
        except BaseException:
            connection.close()
            raise
        if reusable:
            self._checkin(connection)
        else:
            connection.close()
        return status, reason, answer

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _checkout(self) -> socket.socket:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                return self._connect()
            if _still_open(connection):
                return connection
            connection.close()

    def _checkin(self, connection: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self) -> socket.socket:
        try:
            connection = socket.create_connection(self.address, timeout=self.connect_timeout)
        except OSError as exc:  # refused, unreachable, connect timeout: never reached
            raise NotDelivered(str(exc)) from exc
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.settimeout(self.read_timeout)
        return connection


def _still_open(connection: socket.socket) -> bool:
    """False if the server closed an idle connection (or sent something unasked).

    An idle connection has nothing to read; readable means end of file (or
    stray bytes), either way not one to send a request on.
    """
    poller = select.poll()
    poller.register(connection, select.POLLIN)
    return not poller.poll(0)


class _Reader:
    """Buffered reads from a connection; the read timeout means no answer in time."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.buffer = bytearray()
        self.received_any = False

    def fill(self) -> bool:
        try:
            data = self.connection.recv(_CHUNK)
        except TimeoutError as exc:
            raise NoAnswerInTime("no answer within the read timeout") from exc
        except OSError as exc:
            raise NotDelivered(str(exc)) from exc
        if not data:
            return False
        self.received_any = True
        self.buffer += data
        return True

    def line(self) -> bytes:
        while True:
            end = self.buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 2]
                return line
            if len(self.buffer) > _MAX_HEAD_BYTES:
                raise NotDelivered("the answer's head is too long")
            if not self.fill():
                raise NotDelivered("the connection closed before the answer's head")

    def exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self.fill():
                raise NotDelivered("the connection closed in the middle of the answer")
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def to_end(self) -> bytes:
        while self.fill():
            pass
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _read_answer(connection: socket.socket, method: str) -> tuple[int, str, bytes, bool]:
    """(status, reason, body, whether the connection can be reused)."""
    reader = _Reader(connection)
    while True:
        version, status, reason = _status_line(reader.line())
        headers = _headers(reader)
        if not 100 <= status < 200:
            break  # an interim answer (100 Continue) is followed by the real one
    keep_alive = _keeps_alive(version, headers.get("connection", ""))
    if method == "HEAD" or status in _NO_BODY_STATUSES:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError as exc:
            raise NotDelivered("the answer's Content-Length is not a number") from exc
        body = reader.exactly(length)
    else:
        body = reader.to_end()
        keep_alive = False
    # Anything left over would be read as the next answer: do not reuse the connection.
    return status, reason, body, keep_alive and not reader.buffer


def _status_line(line: bytes) -> tuple[str, int, str]:
    parts = line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise NotDelivered(f"not an HTTP answer: {line[:80]!r}")
    return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""


def _headers(reader: _Reader) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = reader.line()
        if not line:
            return headers
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()


def _keeps_alive(version: str, connection_header: str) -> bool:
    tokens = {token.strip().lower() for token in connection_header.split(",")}
    if version == "HTTP/1.0":
        return "keep-alive" in tokens
    return "close" not in tokens


def _chunked(reader: _Reader) -> bytes:
    body = bytearray()
    while True:
        size_text = reader.line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError as exc:
            raise NotDelivered("a chunk size is not hexadecimal") from exc
        if size == 0:
            while reader.line():  # trailers, then the blank line
                pass
            return bytes(body)
        body += reader.exactly(size)
        if reader.exactly(2) != b"\r\n":
            raise NotDelivered("a chunk does not end with CRLF")
