"""The per-pack rewards count the console's funnel shows: GET /v1/pack-stats?ids=."""

from __future__ import annotations

from tests.rewards.conftest import SYSTEM, RewardsDriver, fan


def test_rewards_and_points_are_counted_per_pack_and_reversals_left_out(
    driver: RewardsDriver,
) -> None:
    # given a 10-point share rule and a 50-point conversion rule
    driver.rule(name="share", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.rule(name="sale", trigger="CONVERSION_APPROVED", reward_kind="POINTS", points=50)
    # and on pack-1 two shares and two conversions, one of them refunded; on pack-2 one share
    driver.share("fan-1", pack_id="pack-1")
    driver.share("fan-2", pack_id="pack-1")
    driver.conversion("fan-1", "c1", pack_id="pack-1")
    driver.conversion("fan-2", "c2", pack_id="pack-1")
    driver.reversal("fan-2", "c2")
    driver.share("fan-3", pack_id="pack-2")

    # when staff ask for the three packs at once, one of them never rewarded
    response = driver.call("GET", "/v1/pack-stats?ids=pack-1,pack-2,pack-none")

    # then each pack has its kept rewards and points, the unrewarded one at zero
    assert response.status_code == 200, response.json
    by_pack = {item["pack_id"]: item for item in response.json["items"]}
    assert by_pack == {
        "pack-1": {"pack_id": "pack-1", "rewards_issued": 3, "points_issued": 70},
        "pack-2": {"pack_id": "pack-2", "rewards_issued": 1, "points_issued": 10},
        "pack-none": {"pack_id": "pack-none", "rewards_issued": 0, "points_issued": 0},
    }


def test_a_reward_without_points_counts_as_a_reward(driver: RewardsDriver) -> None:
    # given a badge rule for shares
    driver.rule(name="badge", trigger="SHARE_RECORDED", reward_kind="BADGE", badge_code="sharer")

    # when a fan shares pack-1
    driver.share("fan-1", pack_id="pack-1")

    # then pack-1 shows one reward and no points
    items = driver.call("GET", "/v1/pack-stats?ids=pack-1").json["items"]
    assert items == [{"pack_id": "pack-1", "rewards_issued": 1, "points_issued": 0}]


def test_only_staff_read_pack_stats(driver: RewardsDriver) -> None:
    # when a fan asks
    response = driver.call("GET", "/v1/pack-stats?ids=pack-1", fan("fan-1"))

    # then they are refused; the system principal (the seeder) is staff
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert driver.call("GET", "/v1/pack-stats?ids=pack-1", SYSTEM).status_code == 200


def test_missing_or_too_many_ids_are_refused_with_the_field_to_fix(driver: RewardsDriver) -> None:
    # when the ids are missing, then too many
    missing = driver.call("GET", "/v1/pack-stats")
    too_many = driver.call("GET", "/v1/pack-stats?ids=" + ",".join(f"p{n}" for n in range(201)))

    # then both are 422 INVALID naming the ids field
    for response in (missing, too_many):
        assert response.status_code == 422, response.json
        assert response.json["error"]["code"] == "INVALID"
        assert "ids" in response.json["error"]["details"]["fields"]
