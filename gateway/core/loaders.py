"""Per-request batching: one DataLoader per (entity, key), dispatched in waves.

Resolvers never call a service directly. They ask a loader for a key and get a
future; when the executor has nothing left to resolve it dispatches every
loader with queued keys at once, one call per loader, concurrently in a thread
pool (services that do not depend on each other are asked in parallel), then
resolves the futures on the request's own thread, which may queue the next
wave (a pack's link, then that link's stats). A page of N packs therefore
costs one call per loader, whatever N is.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Executor, wait
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from gateway.core.futures import Future, gather, resolved, then

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")

BatchFetch = Callable[[list[Any]], Mapping[Any, Any]]

# How long a head start may hold the request back while its call is handed to
# the pool (the interpreter's switch interval: past it, the pool thread would
# be let in anyway).
_HEAD_START_WAIT_SECONDS = 0.005

__all__ = ["BatchLoader", "Future", "RequestLoaders", "gather", "resolved", "then"]


@dataclass
class Batch:
    """One backend call: ``fetch`` runs on a pool thread, ``settle`` on the request's."""

    fetch: Callable[[], Any]
    settle: Callable[[Any, BaseException | None], None]
    # Runs on the request's thread with the fetched value as soon as the wave is
    # back, before anything is settled: it may queue what the answer will lead to
    # (see :meth:`RequestLoaders.defer`).
    on_arrival: Callable[[Any], None] | None = None


class BatchLoader(Generic[K, V]):
    """Loads values by key, one call per wave for all keys asked, cached per request.

    ``fetch(keys)`` returns a mapping from key to value; keys it leaves out
    resolve to ``None`` (the service's batch reads simply omit missing ids).
    """

    def __init__(self, registry: RequestLoaders, fetch: BatchFetch, *, name: str) -> None:
        self.registry = registry
        self.fetch = fetch
        self.name = name
        self._cache: dict[K, Future] = {}
        self._queue: list[tuple[K, Future]] = []

    def load(self, key: K) -> Future:
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        future = Future()
        if not self._queue:
            self.registry.mark_pending(self)
        self._queue.append((key, future))
        self._cache[key] = future
        return future

    def load_many(self, keys: Iterable[K]) -> Future:
        return gather(self.load(key) for key in keys)

    def prime(self, key: K, value: V) -> None:
        if key not in self._cache:
            self._cache[key] = resolved(value)

    def take_batch(self) -> Batch | None:
        queue, self._queue = self._queue, []
        if not queue:
            return None
        keys = [key for key, _ in queue]

        def settle(values: Any, error: BaseException | None) -> None:
            for key, future in queue:
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(values.get(key))

        return Batch(fetch=lambda: self.fetch(keys), settle=settle)


class DeferredCall:
    """A single call (a list page, a search) that joins the next wave like a loader."""

    def __init__(
        self,
        registry: RequestLoaders,
        fetch: Callable[[], Any],
        *,
        name: str,
        on_arrival: Callable[[Any], None] | None = None,
    ) -> None:
        self.registry = registry
        self.name = name
        self.future = Future()
        self._fetch: Callable[[], Any] | None = fetch
        self._on_arrival = on_arrival
        registry.mark_pending(self)

    def take_batch(self) -> Batch | None:
        fetch, self._fetch = self._fetch, None
        if fetch is None:
            return None

        def settle(value: Any, error: BaseException | None) -> None:
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(value)

        return Batch(fetch=fetch, settle=settle, on_arrival=self._on_arrival)


class RequestLoaders:
    """The loaders of one GraphQL request, and the waves that dispatch them."""

    def __init__(self, pool: Executor | None) -> None:
        self.pool = pool
        self._loaders: dict[Hashable, BatchLoader[Any, Any]] = {}
        self._pending: list[BatchLoader[Any, Any] | DeferredCall] = []
        self._extras: dict[Hashable, set[str]] = {}
        # Batches sent ahead of their wave (see ``defer``'s ``on_arrival``), with their
        # outcome: a pool future, or the outcome itself when there is no pool.
        self._in_flight: list[tuple[Batch, Any]] = []
        self.calls_made = 0

    def loader(self, key: Hashable, fetch: BatchFetch, *, name: str) -> BatchLoader[Any, Any]:
        """The request's one loader for ``key`` (an entity and how it is looked up)."""
        existing = self._loaders.get(key)
        if existing is None:
            existing = self._loaders[key] = BatchLoader(self, fetch, name=name)
        return existing

    def extras(self, key: Hashable) -> set[str]:
        """What callers of loader ``key`` asked it to include (e.g. a link's stats), per request.

        The loader's fetch reads the set when its wave goes out, so one call
        serves every caller, whichever of them asked for more.
        """
        return self._extras.setdefault(key, set())

    def defer(
        self,
        fetch: Callable[[], Any],
        *,
        name: str,
        on_arrival: Callable[[Any], None] | None = None,
    ) -> Future:
        """A future of ``fetch()``, called in the next wave.

        ``on_arrival(value)``, if given, runs as soon as the wave is back and before
        anything waiting on it is settled; whatever it asks of loaders goes out at
        once, in the background, while the request completes the answers it has
        (a page of packs: the viewer's links for those packs are fetched while the
        packs' own fields are filled in). Every arrival of a wave is seen before
        that early dispatch, so keys from several answers still share one call.
        """
        return DeferredCall(self, fetch, name=name, on_arrival=on_arrival).future

    def mark_pending(self, item: BatchLoader[Any, Any] | DeferredCall) -> None:
        self._pending.append(item)

    def run_wave(self) -> bool:
        """Dispatch everything queued, concurrently, and wait for what was sent ahead;
        False when there was nothing to wait for.

        Answers are completed in the order they arrive: a first page of packs is
        completed while the service still computes the second (content answers
        the pages of one query one after the other). What the arrivals ask for
        ahead (``on_arrival``) goes out once the wave's last answer is in, so the
        keys of every answer still share one call.
        """
        pending, self._pending = self._pending, []
        batches = [batch for item in pending if (batch := item.take_batch()) is not None]
        in_flight, self._in_flight = self._in_flight, []
        if not batches and not in_flight:
            return False
        self.calls_made += len(batches)
        remaining = len(batches) + len(in_flight)
        asked_ahead: list[BatchLoader[Any, Any] | DeferredCall] = []
        for batch, (value, error) in self._arrivals(batches, in_flight):
            remaining -= 1
            if batch.on_arrival is not None and error is None:
                asked_ahead += self._ask_ahead(batch.on_arrival, value)
            if remaining == 0 and asked_ahead:
                self._send_ahead(asked_ahead)
            batch.settle(value, error)
        return True

    def _arrivals(
        self, batches: list[Batch], in_flight: list[tuple[Batch, Any]]
    ) -> Iterator[tuple[Batch, tuple[Any, BaseException | None]]]:
        """Each batch with its outcome, in the order the outcomes arrive."""
        if self.pool is None:
            outcomes = [(batch, _run(batch.fetch)) for batch in batches]
            yield from outcomes
            yield from in_flight
            return
        # The first batch runs here while the others run on the pool; the
        # request's context (its request id) goes with each.
        waiting = {self._submit(batch): batch for batch in batches[1:]}
        waiting.update({future: batch for batch, future in in_flight})
        if batches:
            yield batches[0], _run(batches[0].fetch)
        while waiting:
            # With one future left, its result() below is the wait.
            done = list(waiting)
            if len(waiting) > 1:
                finished, _ = wait(waiting, return_when=FIRST_COMPLETED)
                done = [future for future in done if future in finished]
            for future in done:
                yield waiting.pop(future), future.result()

    def _submit(self, batch: Batch) -> Any:
        assert self.pool is not None
        return self.pool.submit(contextvars.copy_context().run, _run, batch.fetch)

    def _ask_ahead(
        self, on_arrival: Callable[[Any], None], value: Any
    ) -> list[BatchLoader[Any, Any] | DeferredCall]:
        """Run an arrival's hook; the loaders it queued (to send ahead, not in the next wave)."""
        start = len(self._pending)
        # Only a head start: whatever a failing hook left out, the next wave asks for.
        with contextlib.suppress(Exception):
            on_arrival(value)
        queued = self._pending[start:]
        del self._pending[start:]
        return queued

    def _send_ahead(self, items: list[BatchLoader[Any, Any] | DeferredCall]) -> None:
        """Send what the arrivals asked for now, in the background, before they are completed."""
        early = [batch for item in items if (batch := item.take_batch()) is not None]
        self.calls_made += len(early)
        for batch in early:
            if self.pool is None:
                self._in_flight.append((batch, _run(batch.fetch)))
                continue
            started = threading.Event()

            def fetch_when_started(
                fetch: Callable[[], Any] = batch.fetch, signal: threading.Event = started
            ) -> Any:
                signal.set()
                return fetch()

            self._in_flight.append((batch, self._submit(Batch(fetch_when_started, batch.settle))))
            # Let the pool thread take the interpreter lock now: otherwise this thread,
            # busy completing the answers, keeps it for up to Python's switch interval
            # (5 ms) before the call is even sent. Waiting here costs no CPU; the pool
            # thread gives the lock back as soon as it blocks on the socket.
            started.wait(_HEAD_START_WAIT_SECONDS)

    def run_until_settled(self, max_waves: int = 50) -> None:
        for _ in range(max_waves):
            if not self.run_wave():
                return
        raise RuntimeError("data loading did not settle")


def _run(fetch: Callable[[], T]) -> tuple[T | None, BaseException | None]:
    try:
        return fetch(), None
    except Exception as exc:
        return None, exc
