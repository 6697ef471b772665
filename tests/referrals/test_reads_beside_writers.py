"""Reads never queue behind a writer: every GET answers while another transaction writes.

On SQLite a transaction of ``Database.transaction()`` takes the file's write lock up front;
a GET that did the same would wait for the writer (up to the 30 s busy timeout) and hold
the next writer up. Read paths use ``Database.reading()``, a snapshot that takes no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest
from sqlalchemy import update

from services.referrals.models import packs
from tests.referrals.conftest import MARKETER, ReferralsHarness, fan
from tests.support.writer_beside import answered_promptly
from tests.support.writer_beside import writer_holding_its_transaction as holding_a_write


@pytest.fixture
def writer_holding_its_transaction(live_pack: ReferralsHarness) -> Iterator[None]:
    """Another connection in the middle of a write (on SQLite: holding the file's lock)."""
    with holding_a_write(live_pack.runtime.db, update(packs).values(title="Being rewritten")):
        yield


@pytest.fixture
def link(live_pack: ReferralsHarness) -> dict[str, str]:
    made = live_pack.create_link()
    assert live_pack.visit(made["code"]).status_code == 302
    live_pack.drain()
    return made


def test_every_read_answers_while_another_transaction_writes(
    live_pack: ReferralsHarness, link: dict[str, str], writer_holding_its_transaction: None
) -> None:
    # given a fan's link with a click counted, and a writer mid-transaction
    today = datetime.now(UTC).date().isoformat()
    reads = [
        (f"/v1/links?ids={link['id']}", fan()),
        (f"/v1/links?codes={link['code']}", MARKETER),
        ("/v1/fans/fan-1/links", fan()),
        ("/v1/fans/fan-1/links?include=stats", fan()),
        ("/v1/fans/fan-1/links?pack_ids=pack-1", fan()),
        ("/v1/conversions?ids=1", MARKETER),
        (f"/v1/stats/links?ids={link['id']}", fan()),
        ("/v1/stats/fans?ids=fan-1", MARKETER),
        ("/v1/stats/packs?ids=pack-1", MARKETER),
        (f"/v1/stats/daily?scope=link&id={link['id']}&start={today}&end={today}", fan()),
        ("/v1/stats/top-fans", MARKETER),
        ("/v1/fans/fan-1/export", fan()),
    ]
    for path, caller in reads:
        # when the read is asked for
        response = answered_promptly(partial(live_pack.call, "GET", path, caller))
        # then it answers at once
        assert response.status_code == 200, (path, response.json)
    # and the public pages too: a link's QR code, and a code nobody has cached
    qr = answered_promptly(partial(live_pack.client.get, f"/r/{link['code']}/qr.svg"))
    assert qr.status_code == 200
    unknown = answered_promptly(partial(live_pack.visit, "nosuchcode"))
    assert unknown.status_code == 404
    # and the numbers read are what was committed before the writer began
    stats = answered_promptly(partial(live_pack.call, "GET", "/v1/stats/links?ids=1", MARKETER))
    assert stats.json is not None
    assert [item["human_clicks"] for item in stats.json["items"]] == [1]
