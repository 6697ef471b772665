"""Closing an answered connection without waiting for the client to close first.

gunicorn 27 ends every connection with ``util.close_graceful``: it half-closes, then
waits in ``recv`` (up to 2 s) until the client closes its side too (RFC 9112 §9.6).
Its aim is sound: if the client sent bytes the server never read, closing at once makes
the kernel answer with a reset, and the reset can destroy the response before the
client has read it. But a sync worker can do nothing else while it waits (a gthread
worker waits on its main thread, which holds up all its connections), so every
request cost a full round trip to the client on top of its own work. Measured on the
referrals redirect under its benchmark's open loop (70% of the maximum rate): the
worker spent 32% of its time in that wait against 14% in the app, p99 4.2 ms per
close, so connections queued behind an idle worker. A client that never closes held
the worker for 2 s.

``close_promptly`` keeps the safe part: when nothing unread is waiting (the usual case,
a GET the parser read whole) or the client has already closed, the socket is closed at
once, which sends no reset; only when unread bytes are waiting does it drain as gunicorn
would. Bytes a client sends after the answer (pipelining after ``Connection: close``)
can still meet a reset, as with gunicorn before version 27.
"""

from __future__ import annotations

import importlib
import socket
import ssl
from collections.abc import Callable
from typing import Any

GracefulClose = Callable[..., None]
_PROMPT_MARK = "_closes_promptly"


def nothing_unread(sock: socket.socket) -> bool:
    """True when the receive buffer is empty (or the peer has closed): a close sends no reset."""
    try:
        sock.setblocking(False)
        waiting = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return True  # reset or not connected: there is nothing left to protect
    return not waiting


def prompt(graceful: GracefulClose) -> GracefulClose:
    """``graceful`` only when unread bytes are waiting; otherwise a plain close at once."""

    def close_promptly(sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        # TLS sockets refuse recv flags, and their close has its own alert to send.
        if isinstance(sock, ssl.SSLSocket) or not nothing_unread(sock):
            graceful(sock, *args, **kwargs)
            return
        sock.close()

    setattr(close_promptly, _PROMPT_MARK, True)
    return close_promptly


def gunicorn_graceful_close() -> GracefulClose | None:
    """gunicorn's own close (``util.close_graceful``), or None if this version has none."""
    graceful: GracefulClose | None = getattr(
        importlib.import_module("gunicorn.util"), "close_graceful", None
    )
    return graceful


def close_gunicorn_connections_promptly() -> bool:
    """Make gunicorn's workers in this process close answered connections promptly.

    Returns False when this gunicorn has no graceful close to replace (older versions
    close at once already) or it was replaced before.
    """
    graceful = gunicorn_graceful_close()
    if graceful is None or getattr(graceful, _PROMPT_MARK, False):
        return False
    # The workers look the function up on the module at each close, so this reaches them.
    setattr(importlib.import_module("gunicorn.util"), "close_graceful", prompt(graceful))  # noqa: B010
    return True
