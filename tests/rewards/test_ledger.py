"""The double-entry ledger: redemptions under concurrency, reversals, reconciliation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from sqlalchemy import select, update

from services.common.internal_auth import issue_internal_token
from services.rewards.models import accounts, ledger_entries
from services.rewards.reconcile import reconcile_ledger
from tests.rewards.conftest import SECRET, RewardsDriver, fan
from tests.support.live import serve


def give_points(driver: RewardsDriver, fan_id: str, conversions: int, points: int = 100) -> None:
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=points)
    for number in range(conversions):
        driver.conversion(fan_id, f"{fan_id}-c{number}")


def catalog_item(driver: RewardsDriver, **data: Any) -> int:
    response = driver.call("POST", "/v1/catalog", json={"kind": "MERCH", **data})
    assert response.status_code == 201, response.json
    return int(response.json["id"])


def assert_ledger_balances(driver: RewardsDriver) -> None:
    with driver.runtime.db.transaction() as session:
        report = reconcile_ledger(session)
    assert report.ok, report


def test_fifty_parallel_redemptions_of_10_against_100_give_exactly_10(
    driver: RewardsDriver,
) -> None:
    # given a fan with 100 points and a 10-point item
    give_points(driver, "fan-1", conversions=1)
    item_id = catalog_item(driver, name="Sticker", cost_points=10)

    # when 50 redemptions arrive at once over HTTP
    token = issue_internal_token(fan("fan-1"), audience="rewards", secret=SECRET, ttl_seconds=120)
    with serve(driver.app) as base_url:

        def redeem(_: int) -> requests.Response:
            return requests.post(
                f"{base_url}/v1/fans/fan-1/redemptions",
                json={"item_id": item_id},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )

        with ThreadPoolExecutor(max_workers=50) as pool:
            responses = list(pool.map(redeem, range(50)))

    # then exactly 10 succeed, the rest are told the points are insufficient, the balance is 0
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 10 + [409] * 40
    refused = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
    assert set(refused) == {"INSUFFICIENT_POINTS"}
    assert driver.summary("fan-1")["balance"] == 0
    assert driver.summary("fan-1")["lifetime_points"] == 100
    assert_ledger_balances(driver)


def test_a_redemption_retried_with_its_idempotency_key_spends_once(driver: RewardsDriver) -> None:
    # given a fan with 100 points
    give_points(driver, "fan-1", conversions=1)
    item_id = catalog_item(driver, name="Mug", cost_points=30)

    # when the same redemption is sent twice with one key
    body = {"item_id": item_id, "idempotency_key": "click-1"}
    first = driver.call("POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json=body)
    second = driver.call("POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json=body)

    # then both answers name the same redemption and 30 points were spent once
    assert first.status_code == second.status_code == 201
    assert first.json["id"] == second.json["id"]
    assert driver.summary("fan-1")["balance"] == 70


def test_stock_runs_out_with_a_clear_error_and_nothing_spent(driver: RewardsDriver) -> None:
    # given an item with one left
    give_points(driver, "fan-1", conversions=1)
    item_id = catalog_item(driver, name="Hoodie", cost_points=10, stock=1)

    # when the fan redeems it twice
    driver.call("POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": item_id})
    response = driver.call(
        "POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": item_id}
    )

    # then the second is refused as out of stock and its points stay with the fan
    assert response.status_code == 409
    assert response.json["error"]["code"] == "OUT_OF_STOCK"
    assert driver.summary("fan-1")["balance"] == 90
    assert_ledger_balances(driver)


def test_a_reversal_claws_back_points_by_new_entries_and_twice_is_a_no_op(
    driver: RewardsDriver,
) -> None:
    # given a fan whose conversion earned 100 points and the ADVOCATE tier
    give_points(driver, "fan-1", conversions=1)
    assert driver.summary("fan-1")["tier"] == "ADVOCATE"
    with driver.runtime.db.transaction() as session:
        before = [dict(r) for r in session.execute(select(ledger_entries)).mappings()]

    # when the conversion is reversed, and the reversal arrives again as a new event
    driver.reversal("fan-1", "fan-1-c0")
    driver.reversal("fan-1", "fan-1-c0")

    # then the points are gone, the tier is back to FAN, and the original entries are untouched
    summary = driver.summary("fan-1")
    assert (summary["balance"], summary["lifetime_points"], summary["tier"]) == (0, 0, "FAN")
    with driver.runtime.db.transaction() as session:
        after = [dict(r) for r in session.execute(select(ledger_entries)).mappings()]
    assert after[: len(before)] == before
    assert [entry["kind"] for entry in after[len(before) :]] == ["REVERSAL", "REVERSAL"]
    assert driver.call("GET", "/v1/fans/fan-1/rewards").json["items"][0]["status"] == "REVERSED"
    assert_ledger_balances(driver)


def test_spent_points_reversed_leave_a_negative_balance_that_blocks_redemptions(
    driver: RewardsDriver,
) -> None:
    # given a fan who earned 100 points twice and spent 150
    give_points(driver, "fan-1", conversions=2)
    item_id = catalog_item(driver, name="Jacket", cost_points=150)
    driver.call("POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": item_id})
    small = catalog_item(driver, name="Pin", cost_points=1)

    # when one conversion is reversed
    driver.reversal("fan-1", "fan-1-c0")

    # then the balance is -50 and even a 1-point redemption waits until it is positive again
    assert driver.summary("fan-1")["balance"] == -50
    response = driver.call(
        "POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": small}
    )
    assert response.json["error"]["code"] == "INSUFFICIENT_POINTS"
    driver.conversion("fan-1", "fan-1-c9")
    assert driver.summary("fan-1")["balance"] == 50
    ok = driver.call("POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": small})
    assert ok.status_code == 201
    assert_ledger_balances(driver)


def test_reconciliation_finds_a_cached_balance_that_differs_from_the_entries(
    driver: RewardsDriver,
) -> None:
    # given a balanced ledger
    give_points(driver, "fan-1", conversions=1)
    assert driver.call("GET", "/v1/ledger/reconciliation").json["ok"] is True

    # when a cached balance is changed behind the ledger's back
    with driver.runtime.db.transaction() as session:
        session.execute(update(accounts).where(accounts.c.fan_id == "fan-1").values(balance=999))

    # then the reconciliation names the account
    report = driver.call("GET", "/v1/ledger/reconciliation").json
    assert report["ok"] is False
    assert [(a["balance"], a["ledger_balance"]) for a in report["mismatched_accounts"]] == [
        (999, 100)
    ]
