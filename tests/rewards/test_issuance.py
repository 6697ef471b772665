"""Rules turn deeds into rewards: triggers, filters, caps, budgets, pauses, badges, tiers."""

from __future__ import annotations

from sqlalchemy import select

from services.common.events import Event
from services.rewards.models import event_tables
from tests.rewards.conftest import RewardsDriver, fan


def outbox_events(driver: RewardsDriver, event_type: str) -> list[dict[str, object]]:
    table = event_tables.outbox
    with driver.runtime.db.transaction() as session:
        rows = session.execute(
            select(table.c.payload).where(table.c.event_type == event_type).order_by(table.c.seq)
        )
        return [dict(payload) for (payload,) in rows]


def test_a_share_earns_the_points_of_a_share_rule(driver: RewardsDriver) -> None:
    # given a rule giving 10 points per share
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)

    # when a fan shares twice
    driver.share("fan-1")
    driver.share("fan-1")

    # then the fan's balance and lifetime points show 20
    summary = driver.summary("fan-1")
    assert summary["balance"] == 20
    assert summary["lifetime_points"] == 20


def test_the_same_event_applied_twice_gives_one_reward(driver: RewardsDriver) -> None:
    # given a rule and an event that was applied
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    event = driver.share("fan-1")

    # when the event arrives again
    driver.apply(event.type, event.payload, event=event)

    # then it counted once
    assert driver.reward_count(event_id=event.id) == 1
    assert driver.summary("fan-1")["balance"] == 10


def test_the_unique_key_alone_refuses_a_second_reward_for_a_rule_and_event(
    driver: RewardsDriver,
) -> None:
    # given a reward issued for an event
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    event = driver.share("fan-1")

    # when the same event id is re-processed after its processed-event row is gone
    table = event_tables.processed
    with driver.runtime.db.transaction() as session:
        session.execute(table.delete().where(table.c.event_id == event.id))
    driver.apply(event.type, event.payload, event=event)

    # then the (rule, event) key still lets only one reward and one credit through
    assert driver.reward_count(event_id=event.id) == 1
    assert driver.summary("fan-1")["balance"] == 10


def test_caps_per_day_and_in_total_stop_rewards_beyond_them(driver: RewardsDriver) -> None:
    # given a rule capped at 2 a day and a badge rule capped at 1 in total
    driver.rule(
        name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10, cap_per_day=2
    )
    driver.rule(
        name="badge",
        trigger="SHARE_RECORDED",
        reward_kind="BADGE",
        badge_code="first-share",
        cap_total=1,
    )

    # when a fan shares four times in one day, and another fan once
    for _ in range(4):
        driver.share("fan-1")
    driver.share("fan-2")

    # then the first fan got 2 point rewards and one badge; the other fan's caps are their own
    mine = driver.summary("fan-1")
    assert mine["balance"] == 20
    assert [badge["code"] for badge in mine["badges"]] == ["first-share"]
    assert driver.summary("fan-2")["balance"] == 10


def test_a_weekly_cap_counts_across_days(driver: RewardsDriver) -> None:
    # given a rule capped at 1 a week
    driver.rule(
        name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10, cap_per_week=1
    )

    # when the fan shares on Monday and on Wednesday of the same ISO week
    for day in ("2026-11-16", "2026-11-18"):
        event = Event(
            id=f"00000000-0000-0000-0000-0000000{day[-2:]}000",
            type="referrals.share_recorded",
            producer="referrals",
            occurred_at=f"{day}T10:00:00+00:00",
            payload={"share_id": day, "fan_id": "fan-1", "pack_id": "p", "channel": "x"},
        )
        driver.apply(event.type, event.payload, event=event)

    # then only the first share was rewarded
    assert driver.summary("fan-1")["balance"] == 10


def test_a_budget_stops_a_rule_once_spent(driver: RewardsDriver) -> None:
    # given a rule with a budget of 25 points, 10 points a share
    rule_id = driver.rule(
        name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10, budget=25
    )

    # when three fans share
    for fan_id in ("fan-1", "fan-2", "fan-3"):
        driver.share(fan_id)

    # then only two rewards fit in the budget
    assert driver.reward_count(rule_id=rule_id) == 2
    assert driver.summary("fan-3")["balance"] == 0
    rule = driver.call("GET", f"/v1/rules/{rule_id}").json
    assert rule["budget_spent"] == 20


def test_a_paused_rule_gives_nothing_until_resumed(driver: RewardsDriver) -> None:
    # given a paused rule
    rule_id = driver.rule(
        name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10, paused=True
    )

    # when a fan shares, then the marketer resumes the rule, and the fan shares again
    driver.share("fan-1")
    assert driver.call("PATCH", f"/v1/rules/{rule_id}", json={"paused": False}).status_code == 200
    driver.share("fan-1")

    # then only the second share was rewarded
    assert driver.summary("fan-1")["balance"] == 10


def test_a_tag_filter_matches_only_packs_with_that_tag(driver: RewardsDriver) -> None:
    # given two packs known from content's events, one tagged "launch"
    for pack_id, tags in (("pack-launch", ["Launch", "bts"]), ("pack-other", ["bts"])):
        driver.apply(
            "content.pack_published",
            {"pack_id": pack_id, "slug": pack_id, "title": pack_id.title(), "tags": tags},
        )
    driver.rule(
        name="launch", trigger="SHARE_RECORDED", reward_kind="POINTS", points=50, tag="launch"
    )

    # when the fan shares each pack
    driver.share("fan-1", pack_id="pack-launch")
    driver.share("fan-1", pack_id="pack-other")

    # then only the launch pack's share earned points
    assert driver.summary("fan-1")["balance"] == 50


def test_a_pack_filter_matches_only_that_pack(driver: RewardsDriver) -> None:
    # given a rule for one pack
    driver.rule(
        name="one", trigger="SHARE_RECORDED", reward_kind="POINTS", points=5, pack_id="pack-9"
    )

    # when the fan shares two packs
    driver.share("fan-1", pack_id="pack-9")
    driver.share("fan-1", pack_id="pack-1")

    # then one share counted
    assert driver.summary("fan-1")["balance"] == 5


def test_human_click_milestones_reward_the_rule_for_that_milestone(driver: RewardsDriver) -> None:
    # given a rule for 10 human clicks
    driver.rule(
        name="ten",
        trigger="HUMAN_CLICKS_REACHED",
        trigger_clicks=10,
        reward_kind="POINTS",
        points=25,
    )

    # when a link reaches 1, then 10, then 100 human clicks
    for milestone in (1, 10, 100):
        driver.apply(
            "referrals.human_click",
            {
                "link_id": "l1",
                "fan_id": "fan-1",
                "pack_id": "p",
                "code": "abc",
                "milestone": milestone,
                "human_clicks": milestone,
            },
        )

    # then only the 10-click milestone paid
    assert driver.summary("fan-1")["balance"] == 25


def test_a_badge_is_awarded_once_even_from_two_rules(driver: RewardsDriver) -> None:
    # given two rules awarding the same badge, without caps
    for name in ("a", "b"):
        driver.rule(
            name=name, trigger="SHARE_RECORDED", reward_kind="BADGE", badge_code="first-share"
        )

    # when the fan shares twice
    driver.share("fan-1")
    driver.share("fan-1")

    # then the fan holds the badge once, from one reward
    assert [b["code"] for b in driver.summary("fan-1")["badges"]] == ["first-share"]
    assert driver.reward_count(fan_id="fan-1") == 1


def test_crossing_a_threshold_moves_the_tier_and_announces_it(driver: RewardsDriver) -> None:
    # given conversions worth 100 points each (ADVOCATE at 100, INSIDER at 500)
    driver.rule(name="c", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=100)

    # when the fan's first conversion is approved
    driver.conversion("fan-1", "c1")

    # then the fan is an ADVOCATE and a tier_changed event waits in the outbox
    assert driver.summary("fan-1")["tier"] == "ADVOCATE"
    assert outbox_events(driver, "rewards.tier_changed") == [
        {"fan_id": "fan-1", "old_tier": "FAN", "new_tier": "ADVOCATE", "lifetime_points": 100}
    ]


def test_a_tier_reached_rule_rewards_the_fan_from_the_tier_changed_event(
    driver: RewardsDriver,
) -> None:
    # given a note for new insiders and a profile with the fan's name
    driver.rule(
        name="insider",
        trigger="TIER_REACHED",
        trigger_tier="INSIDER",
        reward_kind="THANK_YOU_NOTE",
        note_template="Welcome, $display_name! ${unknown} stays.",
    )
    driver.call("PUT", "/v1/fans/fan-1", json={"display_name": "Ada", "thank_you_channel": "NONE"})

    # when rewards consumes its own tier_changed event for the fan
    driver.apply(
        "rewards.tier_changed",
        {"fan_id": "fan-1", "old_tier": "ADVOCATE", "new_tier": "INSIDER", "lifetime_points": 500},
    )
    # and a move down to INSIDER (from AMBASSADOR) gives nothing
    driver.apply(
        "rewards.tier_changed",
        {
            "fan_id": "fan-1",
            "old_tier": "AMBASSADOR",
            "new_tier": "INSIDER",
            "lifetime_points": 600,
        },
    )

    # then the fan has one note, written from the template
    rewards = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"]
    assert [r["note"] for r in rewards] == ["Welcome, Ada! ${unknown} stays."]


def test_an_event_with_a_broken_payload_is_refused_and_rolls_back(driver: RewardsDriver) -> None:
    # given a rule
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    event = Event.new(type="referrals.share_recorded", producer="referrals", payload={})

    # when an event without fan_id is applied
    assert driver.runtime.consumer is not None
    try:
        driver.runtime.consumer.apply(driver.runtime.db, event)
    except ValueError as exc:
        error = str(exc)
    else:
        error = ""

    # then it fails with a clear reason and leaves no processed record (so it can dead-letter)
    assert "has no fan_id" in error
    table = event_tables.processed
    with driver.runtime.db.transaction() as session:
        assert session.scalar(select(table.c.event_id).where(table.c.event_id == event.id)) is None
