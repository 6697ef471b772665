"""Workers cache the live rules; a marketer's change reaches them on the next event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from services.rewards.app import create_app
from tests.rewards.conftest import RewardsDriver, rewards_settings


@pytest.fixture
def console(database_url: str, redis_url: str, rewards_app: Flask) -> Iterator[RewardsDriver]:
    """A second app on the same database: the marketers' API, in another process."""
    app = create_app(rewards_settings(database_url, redis_url))
    yield RewardsDriver(app)
    app.extensions["fanfare"].db.dispose()


def test_a_rule_paused_elsewhere_stops_giving_from_the_next_event(
    driver: RewardsDriver, console: RewardsDriver
) -> None:
    # given a worker that issued (and so cached) a share rule
    rule_id = console.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")
    assert driver.summary("fan-1")["balance"] == 10

    # when a marketer pauses it through the other app, and the fan shares again
    paused = console.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": True})
    assert paused.status_code == 200, paused.json
    driver.share("fan-1")

    # then the worker gave nothing for the second share
    assert driver.summary("fan-1")["balance"] == 10
    assert driver.reward_count(rule_id=rule_id) == 1


def test_a_rule_added_or_changed_elsewhere_applies_from_the_next_event(
    driver: RewardsDriver, console: RewardsDriver
) -> None:
    # given a worker that cached one share rule
    rule_id = console.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")

    # when a marketer raises its points and adds a second rule
    changed = console.call("PATCH", f"/v1/rules/{rule_id}", json={"points": 25})
    assert changed.status_code == 200, changed.json
    console.rule(name="bonus", trigger="SHARE_RECORDED", reward_kind="POINTS", points=5)
    driver.share("fan-1")

    # then the next share earns under both rules as they are now
    assert driver.summary("fan-1")["balance"] == 10 + 25 + 5
