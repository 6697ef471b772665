"""The processing task's limits in a real Celery worker on a real Redis.

The stuck-asset sweep, the soft time limit, the per-process memory cap and
dead-lettering, each driven through the worker the way production runs it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.utc_time import utcnow
from services.content.app import create_app
from services.content.models import Asset
from tests.content.conftest import ContentApi, content_settings, jpeg_bytes
from tests.content.test_worker import asset_status, worker_environment
from tests.support.workers import CeleryWorker, wait_until

StartStack = Callable[..., tuple[ContentApi, CeleryWorker]]


def blank_png(width: int, height: int, *, color_type: int = 2) -> bytes:
    """A black PNG of any size, written row by row so the test never holds its pixels."""
    channels = {0: 1, 2: 3}[color_type]
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels)  # filter byte, then the pixels
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


@pytest.fixture
def start_stack(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[StartStack]:
    """Start the content app and a worker (with beat) whose settings the test chooses."""
    started: list[tuple[Flask, CeleryWorker]] = []

    def start(
        *, broker_loses_tasks: bool = False, **overrides: Any
    ) -> tuple[ContentApi, CeleryWorker]:
        settings = content_settings(database_url, redis_url, tmp_path / "files", **overrides)
        app: Flask = create_app(settings)
        migrations.upgrade(get_app_spec("content").migrations_dir, database_url)
        if broker_loses_tasks:
            app.extensions["content"].enqueue_processing = lambda _asset_id: None
        env = worker_environment(settings)
        env.update({key.upper(): str(value) for key, value in overrides.items()})
        worker = CeleryWorker(
            "services.content.worker:celery",
            queue="content",
            env=env,
            log_path=tmp_path / "worker.log",
        )
        started.append((app, worker))
        worker.start()
        return ContentApi(app=app, client=app.test_client()), worker

    yield start
    for app, worker in started:
        worker.stop()
        app.extensions["fanfare"].db.dispose()


def asset_body(api: ContentApi, asset_id: str) -> dict[str, Any]:
    body = api.call("GET", f"/v1/assets/{asset_id}").json
    assert body is not None
    return dict(body)


def dead_letters(api: ContentApi) -> list[dict[str, Any]]:
    assert api.runtime.event_tables is not None
    table = api.runtime.event_tables.dead_letters
    with api.runtime.db.transaction() as session:
        return [dict(row._mapping) for row in session.execute(select(table))]


def leave_processing(api: ContentApi, asset_id: str, *, minutes_ago: int, attempts: int) -> None:
    """As if the asset's task had been lost ``minutes_ago`` after ``attempts`` deliveries."""
    with api.runtime.db.transaction() as session:
        session.execute(
            update(Asset)
            .where(Asset.id == int(asset_id))
            .values(updated_at=utcnow() - timedelta(minutes=minutes_ago), attempts=attempts)
        )


def test_the_sweep_requeues_lost_assets_and_aborts_those_that_used_every_attempt(
    start_stack: StartStack,
) -> None:
    # given a broker that lost three processing tasks: one an hour ago, one an
    # hour ago after every allowed attempt (its worker died each time), one just now
    api, worker = start_stack(
        broker_loses_tasks=True,
        asset_stuck_after_seconds=600,
        asset_sweep_interval_seconds=0.5,
        asset_task_max_attempts=3,
    )
    pack = api.create_pack()
    lost, poisonous, recent = (
        api.upload(pack["id"], jpeg_bytes(color=color)).json for color in ("red", "green", "blue")
    )
    assert lost is not None
    assert poisonous is not None
    assert recent is not None
    leave_processing(api, lost["id"], minutes_ago=60, attempts=0)
    leave_processing(api, poisonous["id"], minutes_ago=60, attempts=3)

    # when the worker's periodic sweep runs
    wait_until(
        lambda: (
            asset_status(api, lost["id"]) == "READY"
            and asset_status(api, poisonous["id"]) == "FAILED"
        ),
        timeout=60,
        message=worker.log_tail(),
    )

    # then the lost one is processed, the poisonous one fails with a code and a dead letter
    assert len(asset_body(api, lost["id"])["renditions"]) == 5
    failed = asset_body(api, poisonous["id"])
    assert failed["failure_code"] == "PROCESSING_ABORTED"
    assert [(row["kind"], row["reference"]) for row in dead_letters(api)] == [
        ("task", f"asset:{poisonous['id']}")
    ]
    # and the one within its deadline is left to its own task
    assert asset_status(api, recent["id"]) == "PROCESSING"
    with api.runtime.db.transaction() as session:
        attempts = {
            asset.id: asset.attempts for asset in session.scalars(select(Asset).order_by(Asset.id))
        }
    # and the lost one was processed once, however many sweeps ran meanwhile
    assert attempts == {int(lost["id"]): 1, int(poisonous["id"]): 4, int(recent["id"]): 0}


def test_an_image_that_outlasts_the_soft_time_limit_ends_failed_with_a_code(
    start_stack: StartStack,
) -> None:
    # given a worker that allows one second per image
    api, worker = start_stack(asset_task_soft_time_limit_seconds=1, max_image_pixels=70_000_000)
    pack = api.create_pack()

    # when a 64-megapixel image (seconds of decoding and resizing), then a small one, arrive
    slow = api.upload(pack["id"], blank_png(8000, 8000), "huge.png").json
    assert slow is not None
    wait_until(
        lambda: asset_status(api, slow["id"]) != "PROCESSING",
        timeout=60,
        message=worker.log_tail(),
    )
    small = api.upload(pack["id"], jpeg_bytes()).json
    assert small is not None

    # then the big one ends FAILED with the timeout code, never stuck PROCESSING
    failed = asset_body(api, slow["id"])
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "PROCESSING_TIMEOUT")
    assert failed["renditions"] == []
    # and the worker goes on with the next upload
    wait_until(
        lambda: asset_status(api, small["id"]) == "READY", timeout=30, message=worker.log_tail()
    )


def test_an_image_whose_decode_passes_the_memory_cap_fails_cleanly(
    start_stack: StartStack,
) -> None:
    # given workers capped at 600 MB each, and a pixel limit high enough to let
    # a 196-megapixel image through its header check
    api, worker = start_stack(worker_memory_limit_mb=600, max_image_pixels=200_000_000)
    pack = api.create_pack()

    # when that image (784 MB once decoded to RGB) is uploaded, then a small one
    huge = api.upload(pack["id"], blank_png(14_000, 14_000, color_type=0), "huge.png").json
    assert huge is not None
    wait_until(
        lambda: asset_status(api, huge["id"]) != "PROCESSING",
        timeout=60,
        message=worker.log_tail(),
    )
    small = api.upload(pack["id"], jpeg_bytes()).json
    assert small is not None

    # then the huge one ends FAILED with a code the marketer can act on
    failed = asset_body(api, huge["id"])
    assert (failed["status"], failed["failure_code"]) == ("FAILED", "IMAGE_TOO_COMPLEX")
    assert "memory" in failed["failure_message"]
    # and the worker keeps answering: the small one is processed, the service is healthy
    wait_until(
        lambda: asset_status(api, small["id"]) == "READY", timeout=30, message=worker.log_tail()
    )
    assert api.client.get("/healthz").status_code == 200
    assert "Process 'ForkPoolWorker" not in worker.log_text()  # no pool process was lost


def test_processing_that_keeps_failing_ends_in_dead_letters_after_its_retries(
    start_stack: StartStack, tmp_path: Path
) -> None:
    # given storage where uploads can be written but renditions cannot
    api, worker = start_stack(asset_task_max_attempts=3)
    blocked = tmp_path / "files" / "objects" / "renditions"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"a file where the renditions directory should be")
    pack = api.create_pack()

    # when an image is uploaded
    asset = api.upload(pack["id"], jpeg_bytes()).json
    assert asset is not None

    # then the task is tried three times, with backoff, and then given up
    wait_until(
        lambda: asset_status(api, asset["id"]) == "FAILED", timeout=60, message=worker.log_tail()
    )
    failed = asset_body(api, asset["id"])
    assert failed["failure_code"] == "PROCESSING_ERROR"
    letters = dead_letters(api)
    assert [(row["kind"], row["name"], row["reference"]) for row in letters] == [
        ("task", "content.process_asset", f"asset:{asset['id']}")
    ]
    assert letters[0]["attempts"] == 3
    assert "could not write renditions/" in letters[0]["error"]
    assert worker.log_text().count(f"asset {asset['id']}: failed") == 2  # two retries
    with api.runtime.db.transaction() as session:
        assert session.get(Asset, int(asset["id"])).attempts == 3  # type: ignore[union-attr]
