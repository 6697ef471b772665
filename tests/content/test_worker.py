"""Processing in a real Celery worker, with uploads straight to a real S3 (SeaweedFS)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from PIL import Image

from fanfare.apps import get_app_spec
from services.common import migrations
from services.content import assets
from services.content.app import create_app
from services.content.models import Asset, Rendition
from services.content.settings import ContentSettings
from tests.content.conftest import CORPUS, SECRET, ContentApi, content_settings
from tests.support.s3 import SeaweedS3
from tests.support.workers import CeleryWorker, wait_until


def worker_environment(settings: ContentSettings) -> dict[str, str]:
    env = {
        "FANFARE_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "STORAGE_URL": settings.storage_url,
        "INTERNAL_TOKEN_SECRET": SECRET,
        "CONTENT_PUBLIC_URL": settings.content_public_url,
        "S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "S3_REGION": settings.s3_region,
        "S3_ACCESS_KEY_ID": settings.s3_access_key_id.get_secret_value(),
        "S3_SECRET_ACCESS_KEY": settings.s3_secret_access_key.get_secret_value(),
        "OUTBOX_RELAY_INTERVAL_SECONDS": "0.5",
        "LOG_FORMAT": "text",
    }
    return {key: value for key, value in env.items() if value}


@pytest.fixture
def stack(
    database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[ContentApi, CeleryWorker]]:
    settings = content_settings(database_url, redis_url, tmp_path / "files")
    app: Flask = create_app(settings)
    migrations.upgrade(get_app_spec("content").migrations_dir, database_url)
    worker = CeleryWorker(
        "services.content.worker:celery",
        queue="content",
        env=worker_environment(settings),
        log_path=tmp_path / "worker.log",
    ).start()
    try:
        yield ContentApi(app=app, client=app.test_client()), worker
    finally:
        worker.stop()
        app.extensions["fanfare"].db.dispose()


def asset_status(api: ContentApi, asset_id: str) -> str:
    body = api.call("GET", f"/v1/assets/{asset_id}").json
    assert body is not None
    return str(body["status"])


def test_the_worker_processes_uploads_and_fails_undecodable_ones_with_a_code(
    stack: tuple[ContentApi, CeleryWorker],
) -> None:
    api, worker = stack
    # given a pack, a phone photo turned on its side, and a JPEG cut short
    pack = api.create_pack()
    rotated = CORPUS / "formats" / "hopper_orientation_6.jpg"
    truncated = CORPUS / "formats" / "truncated_jpeg.jpg"

    # when both are uploaded
    good = api.upload(pack["id"], rotated.read_bytes(), rotated.name).json
    bad = api.upload(pack["id"], truncated.read_bytes(), truncated.name).json

    # then the worker makes the first READY and the second FAILED with a code
    assert good is not None
    assert bad is not None
    wait_until(
        lambda: (
            asset_status(api, good["id"]) == "READY" and asset_status(api, bad["id"]) == "FAILED"
        ),
        timeout=60,
        message=worker.log_tail(),
    )
    failed = api.call("GET", f"/v1/assets/{bad['id']}").json
    assert failed is not None
    assert failed["failure_code"] == "IMAGE_UNREADABLE"
    assert failed["renditions"] == []

    # and a second run of the task writes the same keys and changes nothing
    keys_before = api.context.storage.list_keys("renditions/")
    renditions_before = api.count(Rendition)
    assert assets.process_asset(context=api.context, asset_id=int(good["id"])) == "skipped"
    with api.runtime.db.transaction() as session:
        session.get(Asset, int(good["id"])).status = "PROCESSING"  # type: ignore[union-attr]
    assert assets.process_asset(context=api.context, asset_id=int(good["id"])) == "ready"
    assert api.context.storage.list_keys("renditions/") == keys_before
    assert api.count(Rendition) == renditions_before
    assert api.client.get("/healthz").status_code == 200


@pytest.fixture
def s3_overrides(s3_server: SeaweedS3) -> dict[str, str]:
    return {
        "storage_url": f"s3://{s3_server.create_bucket()}/content",
        "s3_endpoint_url": s3_server.endpoint_url,
        "s3_region": s3_server.region,
        "s3_access_key_id": s3_server.access_key,
        "s3_secret_access_key": s3_server.secret_key,
    }


@pytest.fixture
def s3_stack(
    s3_overrides: dict[str, str], database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[tuple[ContentApi, CeleryWorker]]:
    settings = content_settings(database_url, redis_url, tmp_path / "files", **s3_overrides)
    app: Flask = create_app(settings)
    migrations.upgrade(get_app_spec("content").migrations_dir, database_url)
    worker = CeleryWorker(
        "services.content.worker:celery",
        queue="content",
        env=worker_environment(settings),
        log_path=tmp_path / "worker.log",
    ).start()
    try:
        yield ContentApi(app=app, client=app.test_client()), worker
    finally:
        worker.stop()
        app.extensions["fanfare"].db.dispose()


def test_a_direct_upload_to_s3_is_completed_processed_and_served_by_presigned_urls(
    s3_stack: tuple[ContentApi, CeleryWorker],
) -> None:
    api, worker = s3_stack
    # given a pack, and a presigned POST for a PNG
    pack = api.create_pack()
    ticket = api.call(
        "POST",
        f"/v1/packs/{pack['id']}/direct-uploads",
        json={"filename": "kiln.png", "content_type": "image/png"},
    ).json
    assert ticket is not None
    image = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(image, "PNG")

    # when the browser posts the file to S3 and the console completes the upload (twice)
    posted = requests.post(
        ticket["url"],
        data=ticket["fields"],
        files={"file": ("kiln.png", image.getvalue(), "image/png")},
        timeout=10,
    )
    body = {"upload_token": ticket["upload_token"], "alt_text": "Kiln"}
    first = api.call("POST", f"/v1/packs/{pack['id']}/direct-uploads/complete", json=body)
    again = api.call("POST", f"/v1/packs/{pack['id']}/direct-uploads/complete", json=body)

    # then one asset is made and processed, and its renditions come from presigned URLs
    assert posted.status_code in (200, 204)
    assert first.status_code == 202
    assert first.json is not None
    assert again.json is not None
    assert again.json["id"] == first.json["id"]
    asset_id = first.json["id"]
    wait_until(
        lambda: asset_status(api, asset_id) == "READY", timeout=60, message=worker.log_tail()
    )
    asset = api.call("GET", f"/v1/assets/{asset_id}").json
    assert asset is not None
    card = next(r for r in asset["renditions"] if r["name"] == "social_card")
    fetched = requests.get(card["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(fetched.content)) as served:
        assert served.size == (1200, 630)


def test_a_forged_or_foreign_upload_token_is_refused(
    s3_stack: tuple[ContentApi, CeleryWorker],
) -> None:
    api, _ = s3_stack
    pack = api.create_pack()
    other = api.create_pack(title="Other")
    ticket = api.call(
        "POST",
        f"/v1/packs/{pack['id']}/direct-uploads",
        json={"filename": "x.png", "content_type": "image/png"},
    ).json
    assert ticket is not None

    forged = api.call(
        "POST",
        f"/v1/packs/{pack['id']}/direct-uploads/complete",
        json={"upload_token": ticket["upload_token"][:-2] + "xx"},
    )
    foreign = api.call(
        "POST",
        f"/v1/packs/{other['id']}/direct-uploads/complete",
        json={"upload_token": ticket["upload_token"]},
    )
    not_posted = api.call(
        "POST",
        f"/v1/packs/{pack['id']}/direct-uploads/complete",
        json={"upload_token": ticket["upload_token"]},
    )
    svg = api.call(
        "POST",
        f"/v1/packs/{pack['id']}/direct-uploads",
        json={"filename": "x.svg", "content_type": "image/svg+xml"},
    )

    assert forged.status_code == 422
    assert foreign.status_code == 409
    assert not_posted.status_code == 409
    assert not_posted.json is not None
    assert not_posted.json["error"]["code"] == "UPLOAD_MISSING"
    assert svg.status_code == 422
