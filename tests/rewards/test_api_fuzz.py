"""Property-based fuzzing of the rewards API from its committed OpenAPI document.

Every documented operation gets generated requests, valid and invalid, as a marketer,
a fan and the system; no answer is a 5xx, every 4xx is the error envelope with a stable
code, and documented answers match their schemas (tests/support/api_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from services.rewards.app import create_app
from services.rewards.gift_card_providers import ManualGiftCardProvider
from services.rewards.gift_cards import purchase_gift_card
from tests.rewards.conftest import (
    SECRET,
    STAFF,
    SYSTEM,
    RewardsDriver,
    fan,
    migrate,
    rewards_settings,
)
from tests.rewards.test_gift_cards import gift_card_rule, orders
from tests.support.api_fuzz import ServiceApi, fuzz_database, fuzz_settings
from tests.support.postgres import PostgresHarness

FAN = fan("fan-1")
API = ServiceApi("rewards", secret=SECRET, callers=(STAFF, FAN, SYSTEM))
schema = API.schema


def seed(driver: RewardsDriver) -> None:
    """A profile, points from a share, a catalog item, a code bank and a gift-card order."""
    profile = {"email": "ada@example.org", "display_name": "Ada"}
    assert driver.call("PUT", "/v1/fans/fan-1", SYSTEM, json=profile).status_code in (200, 201)
    rule_id = driver.rule(name="Shares", trigger="SHARE_RECORDED", reward_kind="POINTS", points=50)
    driver.share("fan-1")
    item = driver.call(
        "POST",
        "/v1/catalog",
        json={"name": "Mug", "kind": "MERCH", "cost_points": 10, "stock": 5},
    )
    assert item.status_code == 201, item.json
    bank = driver.call("POST", "/v1/code-banks", json={"name": "Spring", "low_stock_threshold": 1})
    assert bank.status_code == 201, bank.json
    codes = driver.call(
        "POST",
        f"/v1/code-banks/{bank.json['id']}/codes",
        data=b"CODE-1\nCODE-2\n",
        content_type="text/csv",
    )
    assert codes.status_code == 200, codes.json
    gift_card_rule(driver)
    driver.conversion("fan-1", "c1")
    for order in orders(driver):
        purchase_gift_card(
            driver.runtime.db, order_id=int(str(order["id"])), provider=ManualGiftCardProvider()
        )
    API.seed(
        fan_id=["fan-1"],
        rule_id=[str(rule_id)],
        item_id=[str(item.json["id"])],
        bank_id=[str(bank.json["id"])],
        order_id=[str(order["id"]) for order in orders(driver)],
    )


@pytest.fixture(scope="module")
def rewards_under_fuzz(
    postgres: PostgresHarness, redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("rewards-fuzz")
    with fuzz_database(postgres, directory) as database_url:
        migrate(database_url)
        app = create_app(rewards_settings(database_url, redis_server_url))
        try:
            seed(RewardsDriver(app))
            yield app
        finally:
            app.extensions["fanfare"].db.dispose()


@schema.parametrize()
@fuzz_settings
def test_no_generated_request_gets_a_server_error_or_a_bare_error(
    case: Any, rewards_under_fuzz: Flask
) -> None:
    # given the rewards app on a real database, with a fan's profile and points, a rule,
    # a catalog item, a code bank and a gift-card order
    # when a generated request is sent as a marketer, a fan and the system
    # (each with its internal token)
    # then it is answered without a 5xx, its 4xx in the envelope, its 2xx as documented
    API.call_and_check(case, app=rewards_under_fuzz)
