"""Reads never queue behind a writer: every GET answers while another transaction writes.

On SQLite a transaction of ``Database.transaction()`` takes the file's write lock up front;
a GET that did the same would wait for the writer (up to the 30 s busy timeout) and hold
the next writer up. Read paths use ``Database.reading()``, a snapshot that takes no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from sqlalchemy import update

from services.content.models import ContentPack
from tests.content.conftest import FAN, MARKETER, ContentApi
from tests.support.writer_beside import answered_promptly
from tests.support.writer_beside import writer_holding_its_transaction as holding_a_write


@pytest.fixture
def writer_holding_its_transaction(content: ContentApi) -> Iterator[None]:
    """Another connection in the middle of a write (on SQLite: holding the file's lock)."""
    with holding_a_write(content.context.db, update(ContentPack).values(summary="Being rewritten")):
        yield


@pytest.fixture
def published(content: ContentApi) -> dict[str, Any]:
    pack = content.published_pack(title="Kiln tour")
    response = content.call(
        "PUT", f"/v1/packs/{pack['id']}/feedback", FAN, json={"sentiment": "POSITIVE"}
    )
    assert response.status_code == 200, response.json
    return pack


def test_every_read_answers_while_another_transaction_writes(
    content: ContentApi, published: dict[str, Any], writer_holding_its_transaction: None
) -> None:
    # given a published pack with an asset and feedback, and a writer mid-transaction
    pack_id, asset_id = published["id"], published["assets"][0]["id"]
    reads = [
        ("/v1/packs", FAN),
        ("/v1/packs", MARKETER),
        (f"/v1/packs?ids={pack_id}", FAN),
        (f"/v1/packs/{pack_id}", FAN),
        (f"/v1/packs/by-slug/{published['slug']}", FAN),
        (f"/v1/assets/{asset_id}", MARKETER),
        (f"/v1/packs/{pack_id}/feedback", MARKETER),
        (f"/v1/fans/{FAN.user_id}/export", FAN),
        (f"/media/packs/{pack_id}/social-card", FAN),
    ]
    for path, caller in reads:
        # when the read is asked for
        response = answered_promptly(partial(content.call, "GET", path, caller))
        # then it answers at once, with what was committed before the writer began
        assert response.status_code in (200, 302), (path, response.json)
    pack = answered_promptly(lambda: content.call("GET", f"/v1/packs/{pack_id}", FAN)).json
    assert pack is not None
    assert pack["summary"] == published["summary"]
