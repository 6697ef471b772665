"""The committed OpenAPI document is the one the code generates."""

from __future__ import annotations

import json
from pathlib import Path

from services.content.app import create_app
from services.content.openapi import OPENAPI_PATH, render_spec
from tests.content.conftest import content_settings


def test_the_committed_openapi_document_matches_the_code(tmp_path: Path) -> None:
    # given the app as the code builds it
    app = create_app(
        content_settings(f"sqlite:///{tmp_path / 'c.db'}", "redis://127.0.0.1:1/0", tmp_path)
    )

    # when its document is generated
    generated = render_spec(app)

    # then it is the committed one (run 'fanfare content openapi' after changing a view)
    assert OPENAPI_PATH.read_text() == generated
    document = json.loads(generated)
    assert "/v1/packs" in document["paths"]
    assert set(document["paths"]["/v1/packs"]) == {"get", "post"}
    assert "/media/packs/{pack_id}/social-card" in document["paths"]
    app.extensions["fanfare"].db.dispose()
