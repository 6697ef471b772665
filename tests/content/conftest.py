"""A content app on a fresh database and local storage, and callers with internal tokens."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from fanfare.apps import get_app_spec
from services.common import migrations
from services.common.internal_auth import Principal, issue_internal_token
from services.common.runtime import ServiceRuntime
from services.content import assets
from services.content.app import create_app
from services.content.context import ContentContext
from services.content.settings import ContentSettings

SECRET = "content-tests-internal-token-secret-0123456789abcdef"
CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "images"

MARKETER = Principal(role="marketer", user_id="staff-1")
ADMIN = Principal(role="admin", user_id="staff-2")
FAN = Principal(role="fan", user_id="fan-1")
OTHER_FAN = Principal(role="fan", user_id="fan-2")
ANONYMOUS = Principal(role="anonymous")
PARTNER = Principal(role="partner", api_key_id="key-1", scopes=("CONTENT_READ",))
PARTNER_WITHOUT_SCOPE = Principal(role="partner", api_key_id="key-2", scopes=("STATS_READ",))
SYSTEM = Principal(role="system")


def content_settings(
    database_url: str, redis_url: str, files: Path, **overrides: Any
) -> ContentSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "redis_url": redis_url,
        "internal_token_secret": SECRET,
        "storage_url": f"file://{files}",
        "content_allowed_hosts": "shop.example.com,.brand.example",
        "short_link_host": "fan.example",
        "content_public_url": "http://content.test",
        "log_format": "text",
    }
    values.update(overrides)
    return ContentSettings(**values)


def png_bytes(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (640, 480), color: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@dataclass
class ContentApi:
    """Calls the content app as the gateway would, as one principal or another."""

    app: Flask
    client: FlaskClient

    @property
    def context(self) -> ContentContext:
        context: ContentContext = self.app.extensions["content"]
        return context

    @property
    def runtime(self) -> ServiceRuntime:
        runtime: ServiceRuntime = self.app.extensions["fanfare"]
        return runtime

    def headers(self, principal: Principal) -> dict[str, str]:
        token = issue_internal_token(principal, audience="content", secret=SECRET)
        return {"Authorization": f"Bearer {token}"}

    def call(
        self, method: str, path: str, principal: Principal = MARKETER, **kwargs: Any
    ) -> TestResponse:
        return self.client.open(path, method=method, headers=self.headers(principal), **kwargs)

    def create_pack(self, principal: Principal = MARKETER, **fields: Any) -> dict[str, Any]:
        body = {
            "title": "Why our mugs never chip",
            "summary": "A tour of the kiln.",
            "story": "We fire them **twice**.",
            "purpose": "LEARN",
            "destination_url": "https://shop.example.com/mugs",
            **fields,
        }
        response = self.call("POST", "/v1/packs", principal, json=body)
        assert response.status_code == 201, response.json
        assert response.json is not None
        return dict(response.json)

    def upload(
        self,
        pack_id: str,
        data: bytes,
        filename: str = "photo.jpg",
        principal: Principal = MARKETER,
        **form: str,
    ) -> TestResponse:
        # Encoded here, in memory: the test client would spool a large body to a
        # temporary file it never closes.
        fields: dict[str, Any] = {**form, "file": FileStorage(io.BytesIO(data), filename)}
        boundary, body = encode_multipart(fields)
        return self.call(
            "POST",
            f"/v1/packs/{pack_id}/assets",
            principal,
            data=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def process_queued(self) -> None:
        """Run the processing the worker would run, for every PROCESSING asset (no broker)."""
        from services.content.models import Asset

        with self.context.db.transaction() as session:
            ids = list(session.scalars(select(Asset.id).where(Asset.status == "PROCESSING")))
        for asset_id in ids:
            assets.process_asset(context=self.context, asset_id=asset_id)

    def published_pack(self, **fields: Any) -> dict[str, Any]:
        pack = self.create_pack(**fields)
        assert self.upload(pack["id"], jpeg_bytes()).status_code == 202
        self.process_queued()
        response = self.call("POST", f"/v1/packs/{pack['id']}/publish")
        assert response.status_code == 200, response.json
        assert response.json is not None
        return dict(response.json)

    def outbox_events(self, event_type: str) -> list[dict[str, Any]]:
        assert self.runtime.event_tables is not None
        table = self.runtime.event_tables.outbox
        with self.runtime.db.transaction() as session:
            rows = session.execute(
                select(table.c.payload)
                .where(table.c.event_type == event_type)
                .order_by(table.c.seq)
            )
            return [dict(row.payload) for row in rows]

    def count(self, model: Any) -> int:
        with self.runtime.db.transaction() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


def build_content_app(settings: ContentSettings) -> Flask:
    app = create_app(settings)
    migrations.upgrade(get_app_spec("content").migrations_dir, settings.database_url)
    # Tests run processing themselves or with a real worker: never on a broker of their own.
    app.extensions["content"].enqueue_processing = lambda _asset_id: None
    return app


@pytest.fixture
def content(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[ContentApi]:
    app = build_content_app(content_settings(database_url, redis_url, tmp_path / "files"))
    yield ContentApi(app=app, client=app.test_client())
    app.extensions["fanfare"].db.dispose()
