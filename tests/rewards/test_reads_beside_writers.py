"""Reads never queue behind a writer: every GET answers while another transaction writes.

On SQLite a transaction of ``Database.transaction()`` takes the file's write lock up front;
a GET that did the same would wait for the writer (an event consumer, a redemption; up
to the 30 s busy timeout) and hold the next writer up. Read paths use
``Database.reading()``, a snapshot that takes no lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import update

from services.rewards.models import rules
from tests.rewards.conftest import STAFF, SYSTEM, RewardsDriver, fan
from tests.support.writer_beside import answered_promptly
from tests.support.writer_beside import writer_holding_its_transaction as holding_a_write


@pytest.fixture
def writer_holding_its_transaction(driver: RewardsDriver) -> Iterator[None]:
    """Another connection in the middle of a write (on SQLite: holding the file's lock)."""
    with holding_a_write(driver.runtime.db, update(rules).values(name="Being renamed")):
        yield


@pytest.fixture
def ids(driver: RewardsDriver) -> dict[str, int]:
    rule_id = driver.rule(name="Thanks", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    profile = {"email": "ada@example.org", "display_name": "Ada"}
    assert driver.call("PUT", "/v1/fans/fan-1", SYSTEM, json=profile).status_code == 200
    driver.share("fan-1")
    bank = driver.call("POST", "/v1/code-banks", json={"name": "Spring", "low_stock_threshold": 1})
    assert bank.status_code == 201, bank.json
    return {"rule": rule_id, "bank": int(bank.json["id"])}


def test_every_read_answers_while_another_transaction_writes(
    driver: RewardsDriver, ids: dict[str, int], writer_holding_its_transaction: None
) -> None:
    # given a rule, a fan with a profile and points, a code bank, and a writer mid-transaction
    reads = [
        ("/v1/fans/fan-1", fan("fan-1")),
        ("/v1/fans?ids=fan-1", fan("fan-1")),
        ("/v1/fans/fan-1/rewards", fan("fan-1")),
        ("/v1/fans/fan-1/redemptions", fan("fan-1")),
        ("/v1/fans/fan-1/export", fan("fan-1")),
        ("/v1/rules", STAFF),
        (f"/v1/rules/{ids['rule']}", STAFF),
        ("/v1/code-banks", STAFF),
        (f"/v1/code-banks/{ids['bank']}", STAFF),
        ("/v1/catalog", fan("fan-1")),
        ("/v1/gift-card-orders", STAFF),
        ("/v1/handwritten-notes", STAFF),
        ("/v1/leaderboard", fan("fan-1")),
        ("/v1/thank-you-wall", fan("fan-1")),
        ("/v1/pack-stats?ids=pack-1", STAFF),
        ("/v1/ledger/reconciliation", STAFF),
    ]
    for path, caller in reads:
        # when the read is asked for
        response = answered_promptly(partial(driver.call, "GET", path, caller))
        # then it answers at once
        assert response.status_code == 200, (path, response.json)
    # and it shows what was committed before the writer began
    rule = answered_promptly(partial(driver.call, "GET", f"/v1/rules/{ids['rule']}", STAFF))
    assert rule.json["name"] == "Thanks"
    summary = answered_promptly(partial(driver.call, "GET", "/v1/fans?ids=fan-1", STAFF))
    assert summary.json["items"][0]["balance"] == 10
