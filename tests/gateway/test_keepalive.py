"""The gateway's kept-alive HTTP/1.1 connections, against a real TCP server on this machine.

The server answers each request with the next scripted answer (raw bytes, as a
service would send them) and counts the connections it accepted, so a test can
see whether a connection was reused.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from fanfare.embedded import free_port
from gateway.core.keepalive import KeepAliveConnections, NoAnswerInTime, NotDelivered

JSON_OK = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"ok":true}'
)


@dataclass
class ScriptedServer:
    """Answers requests in order with ``answers``; ``None`` means close without answering."""

    answers: list[bytes | None]
    close_after_each: bool = False
    delay_seconds: float = 0.0
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)

    def serve(self, listener: socket.socket) -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection: socket.socket) -> None:
        with connection:
            buffer = b""
            while True:
                while b"\r\n\r\n" not in buffer:
                    data = connection.recv(65536)
                    if not data:
                        return
                    buffer += data
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                self.requests.append(head)
                time.sleep(self.delay_seconds)
                answer = self.answers.pop(0) if self.answers else JSON_OK
                if answer is None:
                    return
                try:
                    connection.sendall(answer)
                except OSError:  # the client gave up waiting
                    return
                if self.close_after_each:
                    return


@pytest.fixture
def server() -> Iterator[tuple[ScriptedServer, int]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    scripted = ScriptedServer(answers=[])
    thread = threading.Thread(target=scripted.serve, args=(listener,), daemon=True)
    thread.start()
    yield scripted, listener.getsockname()[1]
    listener.close()


def connections_to(port: int, read_timeout: float = 2.0) -> KeepAliveConnections:
    return KeepAliveConnections(
        "127.0.0.1", port, connect_timeout=1.0, read_timeout=read_timeout, max_idle=4
    )


def test_consecutive_calls_share_one_connection(server: tuple[ScriptedServer, int]) -> None:
    scripted, port = server
    client = connections_to(port)

    # when three calls are made one after another
    answers = [
        client.request("GET", f"/v1/fans?ids={n}", {"Accept": "application/json"}, None)
        for n in range(3)
    ]

    # then each gets its answer and the server saw a single connection
    assert answers == [(200, "OK", b'{"ok":true}')] * 3
    assert scripted.connections == 1
    assert scripted.requests[0].startswith(b"GET /v1/fans?ids=0 HTTP/1.1\r\nHost: 127.0.0.1:")
    client.close()


def test_a_chunked_answer_is_read_whole(server: tuple[ScriptedServer, int]) -> None:
    scripted, port = server
    scripted.answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n3;ext=1\r\n12}\r\n0\r\nX-Trailer: y\r\n\r\n'
    ]
    client = connections_to(port)

    assert client.request("GET", "/x", {}, None) == (200, "OK", b'{"a":12}')
    # and the connection is still good for the next call
    assert client.request("GET", "/y", {}, None) == (200, "OK", b'{"ok":true}')
    assert scripted.connections == 1
    client.close()


def test_a_connection_the_server_closed_while_idle_is_not_reused(
    server: tuple[ScriptedServer, int],
) -> None:
    scripted, port = server
    scripted.close_after_each = True  # as a server whose keep-alive timeout has passed
    client = connections_to(port)

    first = client.request("GET", "/a", {}, None)
    time.sleep(0.05)
    second = client.request("POST", "/b", {"Content-Type": "application/json"}, b"{}")

    # then both calls succeed, the second on a new connection
    assert first == second == (200, "OK", b'{"ok":true}')
    assert scripted.connections == 2
    assert b"Content-Length: 2" in scripted.requests[1]
    client.close()


def test_an_answer_without_a_length_ends_when_the_server_closes(
    server: tuple[ScriptedServer, int],
) -> None:
    scripted, port = server
    scripted.answers = [b"HTTP/1.0 503 Service Unavailable\r\n\r\nbusy"]
    scripted.close_after_each = True
    client = connections_to(port)

    assert client.request("GET", "/a", {}, None) == (503, "Service Unavailable", b"busy")
    client.close()


def test_a_server_that_closes_without_answering_did_not_answer(
    server: tuple[ScriptedServer, int],
) -> None:
    scripted, port = server
    scripted.answers = [None]
    client = connections_to(port)

    with pytest.raises(NotDelivered):
        client.request("GET", "/a", {}, None)
    client.close()


def test_a_refused_connection_is_not_delivered() -> None:
    client = connections_to(free_port())
    with pytest.raises(NotDelivered):
        client.request("GET", "/a", {}, None)


def test_a_slow_answer_times_out(server: tuple[ScriptedServer, int]) -> None:
    scripted, port = server
    scripted.delay_seconds = 1.0
    client = connections_to(port, read_timeout=0.2)

    started = time.monotonic()
    with pytest.raises(NoAnswerInTime):
        client.request("GET", "/slow", {}, None)
    # then the caller was let go at the read timeout, not when the server answered
    assert time.monotonic() - started < 0.8
    client.close()
