"""An answered connection is closed at once, without waiting for the client to close first."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fanfare.apps import get_app_spec
from fanfare.embedded import free_port
from services.common import migrations
from services.common.prompt_close import gunicorn_graceful_close, prompt

REQUEST = b"GET /r/Abcdefgh HTTP/1.1\r\nHost: fan.example\r\nConnection: close\r\n\r\n"
ANSWER = b"HTTP/1.1 302 Found\r\nLocation: https://shop.example/\r\nContent-Length: 0\r\n\r\n"
ROOT = Path(__file__).resolve().parents[2]
HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: fanfare.example\r\nConnection: close\r\n\r\n"
SECRET = "prompt-close-test-internal-secret-0123456789-abcdef"
# Every app whose entry point closes answered connections promptly.
SERVED_APPS = ("content", "referrals", "rewards", "gateway")


def close_promptly(sock: socket.socket) -> None:
    graceful = gunicorn_graceful_close()
    assert graceful is not None, "this gunicorn has no graceful close: nothing to replace"
    prompt(graceful)(sock)


@contextlib.contextmanager
def connected_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    """(server side, client side) of one real TCP connection on the loopback."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        served, _ = listener.accept()
    with served, client:
        served.setblocking(True)
        yield served, client


def read_to_end(sock: socket.socket) -> bytes:
    sock.settimeout(5)
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_request_read_whole_is_closed_at_once_while_the_client_keeps_its_side_open() -> None:
    # Given a request the server read whole and answered
    with connected_pair() as (served, client):
        client.sendall(REQUEST)
        assert served.recv(len(REQUEST)) == REQUEST
        served.sendall(ANSWER)
        # When the server closes, with the client not closing its side
        started = time.monotonic()
        close_promptly(served)
        # Then the close does not wait for the client (gunicorn alone waits 2 s) ...
        assert time.monotonic() - started < 0.5
        # ... and the client still reads the whole answer, then the end of the stream
        assert read_to_end(client) == ANSWER


def test_a_client_that_has_closed_already_is_not_waited_for() -> None:
    # Given a client that sent its request and closed its side
    with connected_pair() as (served, client):
        client.sendall(REQUEST)
        client.shutdown(socket.SHUT_WR)
        assert served.recv(len(REQUEST)) == REQUEST
        served.sendall(ANSWER)
        # When the server closes
        started = time.monotonic()
        close_promptly(served)
        # Then it closes at once and the answer arrives whole
        assert time.monotonic() - started < 0.5
        assert read_to_end(client) == ANSWER


def test_unread_bytes_make_the_server_drain_as_gunicorn_does_so_the_answer_is_not_reset() -> None:
    # Given a client that sent more than the server read (a body nobody asked for)
    with connected_pair() as (served, client):
        client.sendall(REQUEST + b"unexpected trailing bytes")
        assert served.recv(len(REQUEST)) == REQUEST
        served.sendall(ANSWER)
        # When the server closes
        closing = threading.Thread(target=close_promptly, args=(served,))
        closing.start()
        # Then it lingers until the client is done (no reset racing the answer) ...
        time.sleep(0.3)
        assert closing.is_alive()
        # ... the client reads the whole answer, and its close lets the server finish
        assert read_to_end(client) == ANSWER
        client.close()
        closing.join(5)
        assert not closing.is_alive()


@contextlib.contextmanager
def under_gunicorn(
    app_name: str, database_url: str, redis_url: str, workdir: Path
) -> Iterator[int]:
    """An app's own WSGI entry point under one sync gunicorn worker; yields its port."""
    spec = get_app_spec(app_name)
    migrations.upgrade(spec.migrations_dir, database_url)
    port = free_port()
    env = {
        **os.environ,
        "FANFARE_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "STORAGE_URL": workdir.as_uri(),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        "1",
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        spec.wsgi_target,
    ]
    server = subprocess.Popen(
        command,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert server.poll() is None, server.stderr.read() if server.stderr else b""
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        if server.stderr:
            server.stderr.close()


def visit(port: int) -> tuple[socket.socket, bytes]:
    """Ask for the health page and read the answer to its end; the connection is left open."""
    visitor = socket.create_connection(("127.0.0.1", port), 5)
    visitor.sendall(HEALTH_REQUEST)
    return visitor, read_to_end(visitor)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("app_name", SERVED_APPS)
def test_a_visitor_who_keeps_the_connection_open_does_not_hold_up_the_next(
    app_name: str, database_url: str, redis_url: str, tmp_path: Path
) -> None:
    # Given an app served by gunicorn's sync worker, one request at a time
    with under_gunicorn(app_name, database_url, redis_url, tmp_path) as port:
        # ... and a visitor who has read its answer but keeps the connection open
        first, answer = visit(port)
        with first:
            assert answer.startswith(b"HTTP/1.1 200 ")
            # When the next visitor asks
            started = time.monotonic()
            second, answer = visit(port)
            second.close()
            # Then it is answered at once, not after the worker waited up to 2 s for the
            # first visitor to close
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert time.monotonic() - started < 1.0
