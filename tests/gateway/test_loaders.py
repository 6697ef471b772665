"""Per-request loaders: one call per loader per wave, and independent loaders concurrently."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.core.futures import Future, then
from gateway.core.loaders import RequestLoaders


def test_keys_asked_in_one_wave_cost_one_call_and_repeats_are_cached() -> None:
    calls: list[list[str]] = []

    def fetch(keys: list[str]) -> dict[str, str]:
        calls.append(keys)
        return {key: key.upper() for key in keys if key != "missing"}

    loaders = RequestLoaders(pool=None)
    loader = loaders.loader("letters", fetch, name="Letters")
    futures = [loader.load(key) for key in ["a", "b", "a", "missing"]]

    assert loaders.run_wave()
    assert not loaders.run_wave()
    assert calls == [["a", "b", "missing"]]
    assert [future.result() for future in futures] == ["A", "B", "A", None]


def test_independent_loaders_go_out_concurrently_and_dependent_ones_in_the_next_wave() -> None:
    threads: set[str] = set()

    def slow(keys: list[str]) -> dict[str, str]:
        threads.add(threading.current_thread().name)
        time.sleep(0.2)
        return {key: f"{key}!" for key in keys}

    with ThreadPoolExecutor(4) as pool:
        loaders = RequestLoaders(pool)
        first = loaders.loader("first", slow, name="First").load("x")
        second = loaders.loader("second", slow, name="Second").load("y")
        # the third depends on the first's answer
        third: Future = then(
            first, lambda value: loaders.loader("third", slow, name="Third").load(value)
        )

        started = time.monotonic()
        loaders.run_until_settled()
        took = time.monotonic() - started

    assert (first.result(), second.result(), third.result()) == ("x!", "y!", "x!!")
    # two waves of 0.2 s: the first two loaders ran side by side
    assert 0.35 < took < 0.6
    assert len(threads) == 2
    assert loaders.calls_made == 3


def test_a_failing_batch_fails_each_of_its_futures_and_no_other() -> None:
    def broken(keys: list[str]) -> dict[str, str]:
        raise RuntimeError("service said no")

    loaders = RequestLoaders(pool=None)
    failing = loaders.loader("broken", broken, name="Broken").load("a")
    fine = loaders.loader("fine", lambda keys: {k: k for k in keys}, name="Fine").load("b")
    loaders.run_until_settled()

    assert fine.result() == "b"
    with pytest.raises(RuntimeError, match="service said no"):
        failing.result()


def test_what_an_answer_leads_to_goes_out_while_the_answer_is_being_completed() -> None:
    # given a page call whose answer names the keys of a dependent loader, and
    # completing the page's answer that takes 0.2 s of the request's own time
    dependent_started: list[float] = []
    completed_at: list[float] = []

    def dependent(keys: list[str]) -> dict[str, str]:
        dependent_started.append(time.monotonic())
        time.sleep(0.2)
        return {key: f"link of {key}" for key in keys}

    with ThreadPoolExecutor(4) as pool:
        loaders = RequestLoaders(pool)
        links = loaders.loader("links", dependent, name="Links")

        def ask_ahead(page: list[str]) -> None:
            for key in page:
                links.load(key)

        def complete(page: list[str]) -> Future:
            time.sleep(0.2)
            completed_at.append(time.monotonic())
            return links.load_many(page)

        page = loaders.defer(lambda: ["a", "b"], name="Page", on_arrival=ask_ahead)
        answer = then(page, complete)

        # when the request runs its waves
        started = time.monotonic()
        loaders.run_until_settled()
        took = time.monotonic() - started

    # then the dependent call went out before the page was completed, once, for both keys
    assert answer.result() == ["link of a", "link of b"]
    assert dependent_started[0] < completed_at[0]
    assert loaders.calls_made == 2
    assert took < 0.35


def test_an_answer_that_fails_leads_to_nothing_ahead() -> None:
    asked: list[list[str]] = []

    def broken() -> list[str]:
        raise RuntimeError("content said no")

    def links_of(keys: list[str]) -> dict[str, str]:
        asked.append(keys)
        return {}

    loaders = RequestLoaders(pool=None)
    links = loaders.loader("links", links_of, name="Links")

    def ask_ahead(keys: list[str]) -> None:
        for key in keys:
            links.load(key)

    page = loaders.defer(broken, name="Page", on_arrival=ask_ahead)
    loaders.run_until_settled()

    with pytest.raises(RuntimeError, match="content said no"):
        page.result()
    assert asked == []
    assert loaders.calls_made == 1


def test_an_answer_is_completed_while_the_rest_of_its_wave_is_still_coming() -> None:
    # given two pages asked in one wave, the second answered 0.3 s after the
    # first (one service computing them one after the other), each naming keys
    # of a dependent loader, and completing a page that takes 0.2 s
    events: list[tuple[str, float]] = []
    asked: list[list[str]] = []

    def page(keys: list[str], delay: float) -> list[str]:
        time.sleep(delay)
        events.append((f"{keys[0]} arrived", time.monotonic()))
        return keys

    def links_of(keys: list[str]) -> dict[str, str]:
        asked.append(keys)
        events.append(("links asked", time.monotonic()))
        return {key: f"link of {key}" for key in keys}

    with ThreadPoolExecutor(4) as pool:
        loaders = RequestLoaders(pool)
        links = loaders.loader("links", links_of, name="Links")

        def ask_ahead(keys: list[str]) -> None:
            for key in keys:
                links.load(key)

        def complete(keys: list[str]) -> Future:
            time.sleep(0.2)
            events.append((f"{keys[0]} completed", time.monotonic()))
            return links.load_many(keys)

        first = then(
            loaders.defer(lambda: page(["a", "b"], 0.05), name="Page 1", on_arrival=ask_ahead),
            complete,
        )
        second = then(
            loaders.defer(lambda: page(["c"], 0.35), name="Page 2", on_arrival=ask_ahead),
            complete,
        )

        # when the request runs its waves
        started = time.monotonic()
        loaders.run_until_settled()
        took = time.monotonic() - started

    # then the first page was completed before the second arrived, the links of
    # both pages went out in one call once the second arrived, and the whole
    # took the second page's time plus one completion, not two
    order = [name for name, _ in sorted(events, key=lambda event: event[1])]
    assert order == ["a arrived", "a completed", "c arrived", "links asked", "c completed"]
    assert asked == [["a", "b", "c"]]
    assert first.result() == ["link of a", "link of b"]
    assert second.result() == ["link of c"]
    assert loaders.calls_made == 3
    assert took < 0.35 + 0.2 + 0.1
