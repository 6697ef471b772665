"""The REST API the gateway calls: access, validation, profiles, rules, leaderboard, privacy."""

from __future__ import annotations

import json

import pytest

from services.common.internal_auth import Principal
from services.rewards.openapi import OPENAPI_PATH, render_openapi
from tests.rewards.conftest import SYSTEM, RewardsDriver, fan


def test_a_fan_cannot_read_or_change_another_fans_rewards(driver: RewardsDriver) -> None:
    # given fan-2 asking about fan-1
    intruder = fan("fan-2")

    # when it reads rewards, balance, export, or redeems, then every call is refused
    for method, path in (
        ("GET", "/v1/fans/fan-1/rewards"),
        ("GET", "/v1/fans?ids=fan-1,fan-2"),
        ("GET", "/v1/fans/fan-1/export"),
        ("DELETE", "/v1/fans/fan-1"),
        ("PATCH", "/v1/fans/fan-1"),
    ):
        response = driver.call(method, path, intruder, json={})
        assert response.status_code == 403, (method, path)
        assert response.json["error"]["code"] == "FORBIDDEN"
    redeem = driver.call("POST", "/v1/fans/fan-1/redemptions", intruder, json={"item_id": 1})
    assert redeem.status_code == 403


def test_fans_cannot_manage_rules_and_calls_without_a_token_are_refused(
    driver: RewardsDriver,
) -> None:
    assert driver.call("GET", "/v1/rules", fan("fan-1")).status_code == 403
    refused = driver.client.get("/v1/leaderboard")
    assert refused.status_code == 401
    assert (refused.json or {})["error"]["code"] == "TOKEN_MISSING"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "trigger": "SHARED", "reward_kind": "POINTS", "points": 1}, "trigger"),
        ({"name": "x", "trigger": "SHARE_RECORDED", "reward_kind": "POINTS"}, "points"),
        (
            {
                "name": "x",
                "trigger": "HUMAN_CLICKS_REACHED",
                "reward_kind": "BADGE",
                "badge_code": "b",
            },
            "trigger_clicks",
        ),
        (
            {
                "name": "x",
                "trigger": "SHARE_RECORDED",
                "reward_kind": "DISCOUNT_CODE",
                "code_bank_id": 999,
            },
            "code_bank_id",
        ),
        (
            {
                "name": "x",
                "trigger": "SHARE_RECORDED",
                "reward_kind": "GIFT_CARD",
                "gift_card_amount_cents": 100,
                "gift_card_currency": "euro",
            },
            "gift_card_currency",
        ),
        ({"trigger": "SHARE_RECORDED", "reward_kind": "POINTS", "points": 1}, "name"),
        (
            {
                "name": "x",
                "trigger": "SHARE_RECORDED",
                "reward_kind": "POINTS",
                "points": 1,
                "cap_per_day": 0,
            },
            "cap_per_day",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field_to_fix(
    driver: RewardsDriver, body: dict[str, object], field: str
) -> None:
    response = driver.call("POST", "/v1/rules", json=body)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "INVALID"
    assert field in response.json["error"]["details"]["fields"]
    assert driver.call("GET", "/v1/rules").json["items"] == []


def test_a_marketer_creates_lists_and_pauses_a_rule(driver: RewardsDriver) -> None:
    created = driver.call(
        "POST",
        "/v1/rules",
        json={"name": "Shares", "trigger": "SHARE_RECORDED", "reward_kind": "POINTS", "points": 5},
    )
    assert created.status_code == 201
    paused = driver.call("PATCH", f"/v1/rules/{created.json['id']}", json={"paused": True})
    listed = driver.call("GET", "/v1/rules").json["items"]
    assert paused.json["paused"] is True
    assert [(r["name"], r["paused"], r["issued_count"]) for r in listed] == [("Shares", True, 0)]


def test_a_non_json_body_and_unknown_fields_get_a_clear_422(driver: RewardsDriver) -> None:
    not_json = driver.call("PUT", "/v1/fans/fan-1", fan("fan-1"), data=b"email=x")
    unknown = driver.call("PUT", "/v1/fans/fan-1", fan("fan-1"), json={"emial": "a@b.org"})
    bad_email = driver.call("PUT", "/v1/fans/fan-1", fan("fan-1"), json={"email": "nope"})
    assert not_json.status_code == unknown.status_code == bad_email.status_code == 422
    assert "JSON" in not_json.json["error"]["message"]
    assert "emial" in unknown.json["error"]["details"]["fields"]
    assert "email" in bad_email.json["error"]["details"]["fields"]


def test_the_gateway_upserts_a_profile_and_the_fan_changes_the_channel(
    driver: RewardsDriver,
) -> None:
    first = driver.call(
        "PUT", "/v1/fans/fan-1", SYSTEM, json={"email": "a@x.org", "display_name": "Ada"}
    )
    again = driver.call(
        "PUT", "/v1/fans/fan-1", SYSTEM, json={"email": "ada@x.org", "display_name": "Ada L."}
    )
    patched = driver.call(
        "PATCH", "/v1/fans/fan-1", fan("fan-1"), json={"thank_you_channel": "NONE"}
    )
    assert first.json["thank_you_channel"] == "PRIVATE_EMAIL"
    assert (again.json["email"], again.json["display_name"]) == ("ada@x.org", "Ada L.")
    assert patched.json["thank_you_channel"] == "NONE"
    assert driver.call("GET", "/v1/fans/fan-1", fan("fan-1")).json["display_name"] == "Ada L."


def test_batch_summaries_answer_each_id_and_unknown_fans_start_at_zero(
    driver: RewardsDriver,
) -> None:
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")
    items = driver.call("GET", "/v1/fans?ids=fan-1,fan-9").json["items"]
    assert [(i["fan_id"], i["balance"], i["tier"]) for i in items] == [
        ("fan-1", 10, "FAN"),
        ("fan-9", 0, "FAN"),
    ]
    too_many = ",".join(f"f{n}" for n in range(201))
    assert driver.call("GET", f"/v1/fans?ids={too_many}").status_code == 422


def test_rewards_are_paged_with_an_opaque_cursor(driver: RewardsDriver) -> None:
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=1)
    for _ in range(3):
        driver.share("fan-1")
    first = driver.call("GET", "/v1/fans/fan-1/rewards?first=2", fan("fan-1")).json
    after = first["page_info"]["end_cursor"]
    second = driver.call("GET", f"/v1/fans/fan-1/rewards?first=2&after={after}", fan("fan-1")).json
    assert (len(first["items"]), first["page_info"]["has_next_page"], first["total_count"]) == (
        2,
        True,
        3,
    )
    assert (len(second["items"]), second["page_info"]["has_next_page"]) == (1, False)
    bad = driver.call("GET", "/v1/fans/fan-1/rewards?after=garbage", fan("fan-1"))
    assert bad.status_code == 422


def test_a_fans_rewards_can_be_read_by_id_and_another_fans_are_not_found(
    driver: RewardsDriver,
) -> None:
    # given two fans with rewards
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=1)
    for _ in range(3):
        driver.share("fan-1")
    driver.share("fan-2")
    mine = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"]
    theirs = driver.call("GET", "/v1/fans/fan-2/rewards", fan("fan-2")).json["items"]

    # when fan-1 asks for two of theirs and one of fan-2's by id
    wanted = [mine[2]["id"], theirs[0]["id"], mine[0]["id"]]
    ids = ",".join(str(reward_id) for reward_id in wanted)
    found = driver.call("GET", f"/v1/fans/fan-1/rewards?ids={ids}", fan("fan-1")).json

    # then only their own come back, newest first, in one page
    assert [item["id"] for item in found["items"]] == [mine[0]["id"], mine[2]["id"]]
    assert found["page_info"]["has_next_page"] is False
    # and ids that are not whole numbers are refused with what to fix
    bad = driver.call("GET", "/v1/fans/fan-1/rewards?ids=1,abc", fan("fan-1"))
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "INVALID")
    assert "whole numbers" in bad.json["error"]["message"]


def test_the_leaderboard_shows_display_names_only_and_respects_hiding(
    driver: RewardsDriver,
) -> None:
    # given three fans with points, one hidden from the leaderboard, one without a profile
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    for fan_id, name, shares in (
        ("fan-1", "Ada", 3),
        ("fan-2", "Grace", 1),
        ("fan-3", "Hidden", 2),
    ):
        driver.call(
            "PUT",
            f"/v1/fans/{fan_id}",
            SYSTEM,
            json={"email": f"{fan_id}@x.org", "display_name": name},
        )
        for _ in range(shares):
            driver.share(fan_id)
    driver.call("PATCH", "/v1/fans/fan-3", fan("fan-3"), json={"show_on_leaderboard": False})
    driver.share("fan-4")

    # when anyone looks at each period
    anonymous = Principal(role="anonymous")
    boards = {
        period: driver.call("GET", f"/v1/leaderboard?period={period}", anonymous).json
        for period in ("week", "month", "all")
    }

    # then it ranks by points with display names, no ids or emails, and no hidden fans
    for board in boards.values():
        assert board["items"] == [
            {"rank": 1, "display_name": "Ada", "points": 30},
            {"rank": 2, "display_name": "Grace", "points": 10},
        ]
    assert "fan-1" not in json.dumps(boards)
    assert driver.call("GET", "/v1/leaderboard?period=year", anonymous).status_code == 422


def test_export_holds_the_fans_data_and_erase_keeps_only_anonymous_totals(
    driver: RewardsDriver,
) -> None:
    # given a fan with a profile, points and a badge
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.rule(name="b", trigger="SHARE_RECORDED", reward_kind="BADGE", badge_code="first-share")
    driver.call("PUT", "/v1/fans/fan-1", SYSTEM, json={"email": "ada@x.org", "display_name": "Ada"})
    driver.share("fan-1")

    # when the fan exports, then erases their data
    export = driver.call("GET", "/v1/fans/fan-1/export", fan("fan-1")).json
    erased = driver.call("DELETE", "/v1/fans/fan-1", fan("fan-1"))

    # then the export had everything; after erasure nothing points at the fan, totals still add up
    assert export["profile"]["email"] == "ada@x.org"
    assert export["summary"]["balance"] == 10
    assert len(export["rewards"]) == 2
    assert len(export["ledger"]) == 1
    assert erased.status_code == 204
    after = driver.call("GET", "/v1/fans/fan-1/export", SYSTEM).json
    assert (after["profile"], after["rewards"], after["ledger"]) == (None, [], [])
    assert driver.call("GET", "/v1/leaderboard?period=all", SYSTEM).json["items"] == []
    report = driver.call("GET", "/v1/ledger/reconciliation", SYSTEM).json
    assert (report["ok"], report["entries"]) == (True, 2)


def test_the_committed_openapi_document_matches_the_code() -> None:
    # given the document generated from the views' schemas, then it equals the committed file
    assert OPENAPI_PATH.read_text(encoding="utf-8") == render_openapi(), (
        "services/rewards/openapi.json is stale: run `fanfare rewards openapi`"
    )


def test_every_route_is_in_the_openapi_document(driver: RewardsDriver) -> None:
    documented = json.loads(render_openapi())["paths"]
    for rule in driver.app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/") or rule.rule == "/v1/principal":
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert method.lower() in documented[path], (method, path)
