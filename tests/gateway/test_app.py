"""The gateway's process-wide settings: how its workers keep the garbage collector cheap."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.app import GC_FIRST_GENERATION_THRESHOLD, collect_garbage_less_often
from services.common.gc_freeze import freeze_startup_objects


@pytest.fixture
def restored_collector() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("restored_collector")
def test_a_worker_hides_its_start_up_objects_from_full_collections() -> None:
    # given a process with its start-up objects alive (this test process has thousands)
    tracked_before = len(gc.get_objects())

    # when the worker freezes them after start-up
    freeze_startup_objects()

    # then a full collection no longer walks them, and objects made later are still collected
    assert gc.get_freeze_count() >= tracked_before // 2
    assert len(gc.get_objects()) < tracked_before // 10
    cycle: list[object] = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


@pytest.mark.usefixtures("restored_collector")
def test_the_first_collection_threshold_is_raised_and_never_lowered() -> None:
    gc.set_threshold(700, 10, 10)
    collect_garbage_less_often()
    assert gc.get_threshold() == (GC_FIRST_GENERATION_THRESHOLD, 10, 10)

    gc.set_threshold(50_000, 10, 10)
    collect_garbage_less_often()
    assert gc.get_threshold()[0] == 50_000
