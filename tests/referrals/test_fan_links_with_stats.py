"""A fan's links with their numbers in one call (``include=stats``), and a cursor per link."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.referrals.conftest import (
    MARKETER,
    PHONE_SAFARI,
    ReferralsHarness,
    build_harness,
    close_harness,
    fan,
)


@pytest.fixture
def harness(database_url: str, redis_url: str) -> Iterator[ReferralsHarness]:
    built = build_harness(database_url, redis_url)
    built.publish_pack("pack-1")
    built.publish_pack("pack-2", slug="second-pack")
    yield built
    close_harness(built)


def test_links_for_packs_embed_the_same_numbers_as_the_stats_endpoint(
    harness: ReferralsHarness,
) -> None:
    # given a fan with links on two packs, one of them clicked twice by people and once by a bot
    clicked = harness.create_link("fan-1", "pack-1")
    idle = harness.create_link("fan-1", "pack-2")
    harness.visit(clicked["code"], PHONE_SAFARI, ip="198.51.100.2")
    harness.visit(clicked["code"], PHONE_SAFARI, ip="198.51.100.3")
    harness.visit(clicked["code"], "Twitterbot/1.0")
    harness.drain()

    # when the fan asks for their links for both packs with include=stats
    response = harness.call(
        "GET", "/v1/fans/fan-1/links?pack_ids=pack-1,pack-2&include=stats", fan("fan-1")
    )

    # then each link carries the numbers /v1/stats/links gives for it
    assert response.status_code == 200, response.json
    items = {item["id"]: item for item in response.json["items"]}  # type: ignore[index]
    assert set(items) == {clicked["id"], idle["id"]}
    assert items[clicked["id"]]["stats"] == harness.stats("links", clicked["id"])
    assert items[clicked["id"]]["stats"]["human_clicks"] == 2
    assert items[clicked["id"]]["stats"]["preview_fetches"] == 1
    assert items[idle["id"]]["stats"]["human_clicks"] == 0


def test_without_include_the_links_carry_no_stats(harness: ReferralsHarness) -> None:
    # given a fan's link
    harness.create_link("fan-1", "pack-1")

    # when they list their links without asking for numbers
    response = harness.call("GET", "/v1/fans/fan-1/links?pack_ids=pack-1", fan("fan-1"))

    # then the links come without them
    assert response.status_code == 200
    (item,) = response.json["items"]  # type: ignore[index]
    assert "stats" not in item


def test_a_paged_listing_embeds_stats_and_gives_every_link_a_cursor(
    harness: ReferralsHarness,
) -> None:
    # given a fan with three links
    made = [
        harness.create_link("fan-1", pack, channel)
        for pack, channel in (
            ("pack-1", "X"),
            ("pack-1", "EMAIL"),
            ("pack-2", "X"),
        )
    ]

    # when a marketer pages through them two at a time, with stats
    first = harness.call("GET", "/v1/fans/fan-1/links?first=2&include=stats", MARKETER).json
    second_item_cursor = first["items"][0]["cursor"]  # type: ignore[index]
    after_first = harness.call(
        "GET", f"/v1/fans/fan-1/links?first=2&after={second_item_cursor}", MARKETER
    ).json

    # then every link has its numbers and a cursor that continues right after it
    assert [item["id"] for item in first["items"]] == [made[2]["id"], made[1]["id"]]  # type: ignore[index]
    assert all(item["stats"]["human_clicks"] == 0 for item in first["items"])  # type: ignore[index]
    assert first["items"][-1]["cursor"] == first["page_info"]["end_cursor"]  # type: ignore[index]
    assert [item["id"] for item in after_first["items"]] == [made[1]["id"], made[0]["id"]]  # type: ignore[index]


def test_another_fan_cannot_list_the_links_or_their_numbers(harness: ReferralsHarness) -> None:
    # given a fan's link
    harness.create_link("fan-1", "pack-1")

    # when another fan asks for them with stats
    response = harness.call("GET", "/v1/fans/fan-1/links?include=stats", fan("fan-2"))

    # then they are refused
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"  # type: ignore[index]


def test_asking_to_include_something_unknown_says_what_is_allowed(
    harness: ReferralsHarness,
) -> None:
    # when a caller asks to include something the listing does not offer
    response = harness.call("GET", "/v1/fans/fan-1/links?include=clicks", fan("fan-1"))

    # then it is a 422 that names the one thing it can include
    assert response.status_code == 422
    body = response.json["error"]  # type: ignore[index]
    assert "stats" in str(body["details"])
