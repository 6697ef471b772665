"""An event rewards sent itself and the broker lost is sent again, and applied once."""

from __future__ import annotations

from datetime import timedelta

from services.common.events import Event
from services.common.outbox import utcnow
from services.rewards.unconsumed_events import resend_unconsumed_events
from tests.rewards.conftest import RewardsDriver


def relay(driver: RewardsDriver, *, lose: bool) -> list[Event]:
    """Run the real outbox relay; its broker either loses every message or hands it over."""
    sent: list[Event] = []

    def send(service: str, event: Event) -> None:
        if service == "rewards":
            sent.append(event)
            if not lose:
                driver.apply(event.type, event.payload, event)

    assert driver.runtime.outbox is not None
    driver.runtime.outbox.relay_pending(driver.runtime.db, send)
    return sent


def sweep(driver: RewardsDriver) -> int:
    # as the beat sweep does once the grace has passed (here: everything sent until now)
    with driver.runtime.db.transaction() as session:
        return resend_unconsumed_events(
            session,
            sent_before=utcnow() + timedelta(seconds=1),
            not_before=utcnow() - timedelta(days=1),
        )


def test_a_lost_tier_changed_event_is_sent_again_and_rewards_once(driver: RewardsDriver) -> None:
    # given a welcome bonus for advocates, and a conversion that makes the fan one
    driver.rule(name="conversion", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    driver.rule(
        name="welcome",
        trigger="TIER_REACHED",
        trigger_tier="ADVOCATE",
        reward_kind="POINTS",
        points=5,
    )
    driver.conversion("fan-1", "c1")
    # and the relay sent the tier_changed event into a broker that lost it
    [lost] = relay(driver, lose=True)
    assert lost.type == "rewards.tier_changed"
    assert driver.summary("fan-1")["balance"] == 100

    # when the sweep runs and the relay runs again
    resent = sweep(driver)
    [again] = relay(driver, lose=False)

    # then the same event went out again and the welcome bonus was given
    assert resent == 1
    assert again.id == lost.id
    assert driver.summary("fan-1")["balance"] == 105
    # and once applied, it is never sent again
    assert sweep(driver) == 0
    assert relay(driver, lose=False) == []
    assert driver.summary("fan-1")["balance"] == 105


def test_an_event_sent_and_applied_is_left_alone(driver: RewardsDriver) -> None:
    # given a tier_changed event relayed and applied normally
    driver.rule(name="conversion", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)
    driver.conversion("fan-1", "c1")
    assert len(relay(driver, lose=False)) == 1

    # when the sweep runs, then it re-sends nothing
    assert sweep(driver) == 0
    assert relay(driver, lose=False) == []
