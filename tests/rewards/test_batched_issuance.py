"""Rewards issued from events delivered in batches (one transaction per batch).

The common consumer applies a batch at once and falls back to a savepoint per
event when one fails; either way each (rule, event) gets one reward.
"""

from __future__ import annotations

from services.common.events import Event
from services.common.outbox import BatchOutcome
from services.rewards.reconcile import reconcile_ledger
from tests.rewards.conftest import RewardsDriver
from tests.rewards.test_issuance import outbox_events


def share(fan_id: str) -> Event:
    return Event.new(
        type="referrals.share_recorded",
        producer="referrals",
        payload={"share_id": "s", "fan_id": fan_id, "pack_id": "pack-1", "channel": "instagram"},
    )


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
    shares = [share("fan-a"), share("fan-b"), share("fan-a"), share("fan-a")]

    # when the batch is applied, then delivered again with one more share
    first = apply_batch(driver, [*shares, shares[1]])
    again = apply_batch(driver, [*shares, share("fan-b")])

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
    good = [share("fan-a"), share("fan-b")]

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
    apply_batch(driver, [share("fan-a"), share("fan-b")])
    driver.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": True})

    # when the next batch of their shares is applied
    paused = apply_batch(driver, [share("fan-a"), share("fan-b")])

    # then the paused rule gave nothing, and once resumed it gives again
    assert len(paused.applied) == 2
    assert driver.summary("fan-a")["balance"] == 10
    driver.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": False})
    apply_batch(driver, [share("fan-a"), share("fan-b")])
    assert driver.summary("fan-a")["balance"] == 20
    assert driver.summary("fan-b")["balance"] == 20
