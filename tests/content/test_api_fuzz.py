"""Property-based fuzzing of the content API from its committed OpenAPI document.

Every documented operation gets generated requests, valid and invalid, as a marketer,
a fan, a partner and the system; no answer is a 5xx, every 4xx is the error envelope
with a stable code, and documented answers match their schemas (tests/support/api_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.content.conftest import (
    FAN,
    MARKETER,
    PARTNER,
    SECRET,
    SYSTEM,
    ContentApi,
    build_content_app,
    content_settings,
)
from tests.support.api_fuzz import ServiceApi, fuzz_database, fuzz_settings
from tests.support.postgres import PostgresHarness

API = ServiceApi("content", secret=SECRET, callers=(MARKETER, FAN, PARTNER, SYSTEM))
schema = API.schema


@pytest.fixture(scope="module")
def content_under_fuzz(
    postgres: PostgresHarness, redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("content-fuzz")
    with fuzz_database(postgres, directory) as database_url:
        app = build_content_app(content_settings(database_url, redis_server_url, directory))
        content = ContentApi(app=app, client=app.test_client())
        published = content.published_pack(title="Kiln tour")
        draft = content.create_pack(title="Glaze notes")
        feedback = content.call(
            "PUT", f"/v1/packs/{published['id']}/feedback", FAN, json={"sentiment": "IDEA"}
        )
        assert feedback.status_code == 200, feedback.json
        API.seed(
            pack_id=[published["id"], draft["id"]],
            slug=[published["slug"]],
            asset_id=[asset["id"] for asset in published["assets"]],
            fan_id=[FAN.user_id or ""],
        )
        try:
            yield app
        finally:
            app.extensions["fanfare"].db.dispose()


@schema.parametrize()
@fuzz_settings
def test_no_generated_request_gets_a_server_error_or_a_bare_error(
    case: Any, content_under_fuzz: Flask
) -> None:
    # given the content app on a real database, with a published pack, a draft and feedback
    # when a generated request is sent as a marketer, a fan, a partner key and the system
    # (each with its internal token)
    # then it is answered without a 5xx, its 4xx in the envelope, its 2xx as documented
    API.call_and_check(case, app=content_under_fuzz)
