"""Rewards' times mean one instant on both databases: through its API, caps and export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.common.events import Event
from services.rewards.models import redemptions
from tests.rewards.conftest import RewardsDriver, fan
from tests.rewards.test_ledger import catalog_item, give_points


def share_at(fan_id: str, occurred_at: str, number: int) -> Event:
    """A ``referrals.share_recorded`` event that happened at ``occurred_at``."""
    return Event(
        id=f"share-{fan_id}-{number}",
        type="referrals.share_recorded",
        producer="referrals",
        occurred_at=occurred_at,
        payload={"share_id": f"s{number}", "fan_id": fan_id, "pack_id": "pack-1"},
    )


def test_a_deed_at_plus_five_is_rewarded_with_its_instant_in_utc(driver: RewardsDriver) -> None:
    # given a share rule, and a share that happened at 02:00 +05:00 (21:00Z the day before)
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.deliver(share_at("fan-1", "2026-11-22T02:00:00.250000+05:00", 1))

    # when the fan reads their rewards
    response = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1"))

    # then the reward's time is that instant, in UTC with its offset
    assert response.status_code == 200, response.json
    [reward] = response.json["items"]
    assert reward["occurred_at"] == "2026-11-21T21:00:00.250000+00:00"


def test_a_daily_cap_counts_the_deeds_utc_day_whatever_offset_they_carry(
    driver: RewardsDriver,
) -> None:
    # given a rule capped at one reward a day
    driver.rule(
        name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10, cap_per_day=1
    )

    # when a fan shares at 21:00Z on the 21st (sent as 02:00 on the 22nd at +05:00), at
    # 22:00Z the same day, and at 00:30Z on the 22nd (sent as 16:30 on the 21st at -08:00)
    driver.deliver(share_at("fan-1", "2026-11-22T02:00:00+05:00", 1))
    driver.deliver(share_at("fan-1", "2026-11-21T22:00:00+00:00", 2))
    driver.deliver(share_at("fan-1", "2026-11-21T16:30:00-08:00", 3))

    # then the first two share one UTC day (one reward), the third is the next day's
    rewarded = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"]
    assert sorted(item["occurred_at"] for item in rewarded) == [
        "2026-11-21T21:00:00+00:00",
        "2026-11-22T00:30:00+00:00",
    ]
    assert driver.summary("fan-1")["balance"] == 20


def test_a_redemption_time_round_trips_through_the_api_as_stored(driver: RewardsDriver) -> None:
    # given a fan with points and an item
    give_points(driver, "fan-1", conversions=1)
    item_id = catalog_item(driver, name="Mug", cost_points=30)
    before = datetime.now(UTC)

    # when the fan redeems it, then reads their redemptions
    made = driver.call(
        "POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": item_id}
    )
    listed = driver.call("GET", "/v1/fans/fan-1/redemptions", fan("fan-1"))

    # then both answers give the stored instant, in UTC with its offset
    assert made.status_code == 201, made.json
    assert listed.status_code == 200, listed.json
    with driver.runtime.db.reading() as session:
        stored = session.scalar(select(redemptions.c.created_at))
    assert stored is not None
    assert stored.tzinfo is UTC
    assert made.json["created_at"] == stored.isoformat()
    assert made.json["created_at"].endswith("+00:00")
    assert [item["created_at"] for item in listed.json["items"]] == [made.json["created_at"]]
    assert before <= stored <= datetime.now(UTC) + timedelta(seconds=1)


def test_a_fans_export_gives_every_time_with_its_offset(driver: RewardsDriver) -> None:
    # given a fan rewarded for a share that happened at -08:00
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.deliver(share_at("fan-1", "2026-11-21T16:30:00-08:00", 1))

    # when the fan exports their data
    response = driver.call("GET", "/v1/fans/fan-1/export", fan("fan-1"))

    # then the reward's and ledger's times are in UTC with their offset
    assert response.status_code == 200, response.json
    exported = response.json
    assert [reward["occurred_at"] for reward in exported["rewards"]] == [
        "2026-11-22T00:30:00+00:00"
    ]
    assert exported["ledger"]
    assert all(entry["created_at"].endswith("+00:00") for entry in exported["ledger"])
