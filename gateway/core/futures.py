"""A minimal synchronous future: a value (or error) that arrives later in the same thread.

Resolvers return these for data a loader will fetch in the next wave; the
executor chains on them. Callbacks run when the value is set, on the thread
that sets it (always the request's own thread).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

Callback = Callable[["Future"], None]
_PENDING = object()


class Future:
    __slots__ = ("_callbacks", "_error", "_value")

    def __init__(self) -> None:
        self._value: Any = _PENDING
        self._error: BaseException | None = None
        self._callbacks: list[Callback] = []

    def done(self) -> bool:
        return self._value is not _PENDING or self._error is not None

    def result(self) -> Any:
        if self._error is not None:
            raise self._error
        if self._value is _PENDING:
            raise RuntimeError("The future has no value yet.")
        return self._value

    def add_done_callback(self, callback: Callback) -> None:
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)

    def set_result(self, value: Any) -> None:
        self._settle(value, None)

    def set_exception(self, error: BaseException) -> None:
        self._settle(_PENDING, error)

    def _settle(self, value: Any, error: BaseException | None) -> None:
        if self.done():
            raise RuntimeError("The future is already settled.")
        self._value = value
        self._error = error
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)


def resolved(value: Any) -> Future:
    future = Future()
    future.set_result(value)
    return future


def then(future: Future, transform: Callable[[Any], Any]) -> Future:
    """A future of ``transform(result)`` (which may itself be a future); errors pass through."""
    chained = Future()

    def settle(source: Future) -> None:
        try:
            value = transform(source.result())
        except Exception as exc:
            chained.set_exception(exc)
            return
        if isinstance(value, Future):
            value.add_done_callback(lambda inner: _copy(inner, chained))
        else:
            chained.set_result(value)

    future.add_done_callback(settle)
    return chained


def gather(futures: Iterable[Future]) -> Future:
    """A future of the list of results; fails with the first error."""
    items = list(futures)
    combined = Future()
    remaining = len(items)
    if not remaining:
        combined.set_result([])
        return combined

    def one_done(item: Future) -> None:
        nonlocal remaining
        if combined.done():
            return
        if item._error is not None:
            combined.set_exception(item._error)
            return
        remaining -= 1
        if remaining == 0:
            combined.set_result([each.result() for each in items])

    for item in items:
        item.add_done_callback(one_done)
    return combined


def _copy(source: Future, target: Future) -> None:
    try:
        target.set_result(source.result())
    except Exception as exc:
        target.set_exception(exc)
