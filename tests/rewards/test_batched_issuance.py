"""Rewards issued from events delivered in batches (one transaction per batch).

The common consumer applies a batch at once and falls back to a savepoint per
event when one fails; either way each (rule, event) gets one reward.
"""

from __future__ import annotations

import base64
import json

import redis
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select

from services.common.events import Event
from services.common.outbox import BatchOutcome
from services.rewards.models import deliveries
from services.rewards.reconcile import reconcile_ledger
from tests.rewards.conftest import (
    RewardsDriver,
    conversion_event,
    fan,
    reversal_event,
    share_event,
)
from tests.rewards.test_issuance import outbox_events


def apply_batch(driver: RewardsDriver, events: list[Event]) -> BatchOutcome:
    assert driver.runtime.consumer is not None
    with driver.app.app_context():
        return driver.runtime.consumer.apply_batch(driver.runtime.db, events)


def test_a_batch_of_shares_rewards_each_share_once_and_moves_tiers_once(
    driver: RewardsDriver,
) -> None:
    # given 40 points per share (ADVOCATE at 100) and a batch of shares by two fans,
    # one share delivered twice
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=40)
    shares = [share_event(fan_id) for fan_id in ("fan-a", "fan-b", "fan-a", "fan-a")]

    # when the batch is applied, then delivered again with one more share
    first = apply_batch(driver, [*shares, shares[1]])
    again = apply_batch(driver, [*shares, share_event("fan-b")])

    # then every distinct share earned one reward
    assert len(first.applied) == 4
    assert len(again.applied) == 1
    assert all(driver.reward_count(event_id=event.id) == 1 for event in shares)
    summary_a, summary_b = driver.summary("fan-a"), driver.summary("fan-b")
    assert (summary_a["balance"], summary_a["tier"]) == (120, "ADVOCATE")
    assert (summary_b["balance"], summary_b["tier"]) == (80, "FAN")
    # and fan-a's move to ADVOCATE was announced once
    assert outbox_events(driver, "rewards.tier_changed") == [
        {"fan_id": "fan-a", "old_tier": "FAN", "new_tier": "ADVOCATE", "lifetime_points": 120}
    ]
    # and the ledger balances
    with driver.runtime.db.transaction() as session:
        assert reconcile_ledger(session).ok


def test_a_broken_event_in_a_batch_fails_alone_and_the_others_are_rewarded(
    driver: RewardsDriver,
) -> None:
    # given a batch with a share that names no fan between two good shares
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    broken = Event.new(type="referrals.share_recorded", producer="referrals", payload={})
    good = [share_event("fan-a"), share_event("fan-b")]

    # when it is applied
    outcome = apply_batch(driver, [good[0], broken, good[1]])

    # then the good shares are rewarded once each and only the broken one failed, with its reason
    assert outcome.applied == good
    assert [(event, "has no fan_id" in str(exc)) for event, exc in outcome.failed] == [
        (broken, True)
    ]
    assert driver.summary("fan-a")["balance"] == 10
    assert driver.summary("fan-b")["balance"] == 10
    assert driver.reward_count(event_id=broken.id) == 0


def test_a_rule_paused_between_batches_gives_nothing_in_the_next_until_resumed(
    driver: RewardsDriver,
) -> None:
    # given fans with accounts from a first batch, and the rule paused after it
    rule_id = driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    apply_batch(driver, [share_event("fan-a"), share_event("fan-b")])
    driver.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": True})

    # when the next batch of their shares is applied
    paused = apply_batch(driver, [share_event("fan-a"), share_event("fan-b")])

    # then the paused rule gave nothing, and once resumed it gives again
    assert len(paused.applied) == 2
    assert driver.summary("fan-a")["balance"] == 10
    driver.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": False})
    apply_batch(driver, [share_event("fan-a"), share_event("fan-b")])
    assert driver.summary("fan-a")["balance"] == 20
    assert driver.summary("fan-b")["balance"] == 20


def test_a_fan_crossing_two_tiers_in_one_batch_is_announced_once_per_tier_in_order(
    driver: RewardsDriver,
) -> None:
    # given 60 points per share (ADVOCATE at 100, INSIDER at 500)
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=60)

    # when one batch brings a fan nine shares (540 points)
    outcome = apply_batch(driver, [share_event("fan-a") for _ in range(9)])

    # then each share is rewarded, and each move was announced once, when it happened
    assert len(outcome.applied) == 9
    summary = driver.summary("fan-a")
    assert (summary["balance"], summary["lifetime_points"], summary["tier"]) == (
        540,
        540,
        "INSIDER",
    )
    assert outbox_events(driver, "rewards.tier_changed") == [
        {"fan_id": "fan-a", "old_tier": "FAN", "new_tier": "ADVOCATE", "lifetime_points": 120},
        {"fan_id": "fan-a", "old_tier": "ADVOCATE", "new_tier": "INSIDER", "lifetime_points": 540},
    ]


def test_a_conversion_reversed_in_the_batch_that_rewarded_it_is_clawed_back(
    driver: RewardsDriver,
) -> None:
    # given 50 points per approved conversion and a fan with one share rewarded before
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.rule(name="conversion", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=50)
    apply_batch(driver, [share_event("fan-a")])

    # when one batch holds a conversion, a share, and the conversion's reversal
    batch = [conversion_event("fan-a", "c-1"), share_event("fan-a"), reversal_event("fan-a", "c-1")]
    outcome = apply_batch(driver, batch)

    # then the reversal found the conversion's reward: only the shares' points are left
    assert len(outcome.applied) == 3
    assert driver.summary("fan-a")["balance"] == 20
    assert driver.reward_count(conversion_id="c-1", status="REVERSED") == 1
    with driver.runtime.db.transaction() as session:
        assert reconcile_ledger(session).ok


def test_a_capped_rule_beside_a_plain_one_in_a_batch_counts_every_reward_before_it(
    driver: RewardsDriver,
) -> None:
    # given a plain rule of 10 points per share and a rule of 5 points capped at 2 a day
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.rule(
        name="capped", trigger="SHARE_RECORDED", reward_kind="POINTS", points=5, cap_per_day=2
    )

    # when one batch brings a fan three shares
    apply_batch(driver, [share_event("fan-a") for _ in range(3)])

    # then the plain rule gave three times and the capped one twice
    assert driver.summary("fan-a")["balance"] == 3 * 10 + 2 * 5
    assert driver.reward_count(fan_id="fan-a") == 5


def test_thank_yous_of_a_batch_are_queued_for_delivery_once_it_commits(
    driver: RewardsDriver, redis_url: str
) -> None:
    # given a fan who likes public thanks and a points rule
    profile = driver.call(
        "PUT",
        "/v1/fans/fan-a",
        fan("fan-a"),
        json={
            "email": "a@example.org",
            "display_name": "Ada",
            "thank_you_channel": "PUBLIC_SHOUTOUT",
        },
    )
    assert profile.status_code == 200, profile.json
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)

    # when a batch of two of her shares is applied
    apply_batch(driver, [share_event("fan-a"), share_event("fan-a")])

    # then each thank-you waits as a PENDING delivery and its delivery task is on the queue
    with driver.runtime.db.transaction() as session:
        pending = sorted(
            session.scalars(select(deliveries.c.id).where(deliveries.c.status == "PENDING"))
        )
    assert len(pending) == 2
    queued = [json.loads(raw) for raw in redis.Redis.from_url(redis_url).lrange("rewards", 0, -1)]
    assert (
        sorted(
            json.loads(base64.b64decode(message["body"]))[0][0]
            for message in queued
            if message["headers"]["task"] == "rewards.deliver_reward"
        )
        == pending
    )


def test_a_batch_of_points_rewards_goes_to_postgresql_in_one_pipeline(
    driver: RewardsDriver,
) -> None:
    # given a points rule and 30 fans who were rewarded before (their accounts exist)
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    fans = [f"fan-{n}" for n in range(30)]
    apply_batch(driver, [share_event(fan_id) for fan_id in fans])
    statements: list[str] = []

    def note(*args: object) -> None:
        statements.append(str(args[2]))

    # when a batch of one more share each is applied
    engine = driver.runtime.db.engine
    sqlalchemy_event.listen(engine, "before_cursor_execute", note)
    try:
        outcome = apply_batch(driver, [share_event(fan_id) for fan_id in fans])
    finally:
        sqlalchemy_event.remove(engine, "before_cursor_execute", note)

    # then each share was rewarded
    assert len(outcome.applied) == 30
    assert all(driver.summary(fan_id)["balance"] == 20 for fan_id in fans)
    if engine.dialect.name == "postgresql":
        # and the 30 rewards went in one pipeline beside a few statements for the whole
        # batch, not a statement (or a savepoint) each: a type that needs converting once
        # made the pipeline refuse, and every batch fall back to one event at a time
        assert len(statements) <= 5, statements
    else:
        # and on SQLite (no pipeline) each reward is written statement by statement
        assert len(statements) >= 30
