"""A page of packs asks referrals for the viewer's links as soon as it arrives: one call,
the same answers, and only when the query's ``viewerLink`` fields would have asked."""

from __future__ import annotations

import time
from typing import Any

from tests.gateway.conftest import bearer, build_gateway, gateway_settings, post_graphql
from tests.gateway.platform import CREATE_LINK, Platform
from tests.gateway.test_resilience import tcp_server

HOME = """
query Home($n: Int!, $noLinks: Boolean! = false) {
  viewer { user { displayName pointsBalance } }
  contentPacks(first: $n) {
    edges { node { title viewerLink @skip(if: $noLinks) { code stats { humanClicks } } } }
  }
}
"""
TWO_PAGES = """
query ($after: String!) {
  first: contentPacks(first: 1) { pageInfo { endCursor } edges { node { ...Card } } }
  rest: contentPacks(first: 5, after: $after) { edges { node { ...Card } } }
}
fragment Card on ContentPack { title viewerLink { code } }
"""
PAGE_AND_ONE_PACK = """
query ($id: ID!) {
  contentPacks(first: 5) { edges { node { title viewerLink { code } } } }
  contentPack(id: $id) { title viewerLink { code stats { humanClicks } } }
}
"""


def make_link(platform: Platform, pack_index: int) -> str:
    made = post_graphql(
        platform.client,
        CREATE_LINK,
        {"packId": platform.pack_ids[pack_index]},
        headers=bearer(platform.fan),
    ).json["data"]["createReferralLink"]
    assert made["errors"] == []
    return str(made["referralLink"]["code"])


def ask(
    platform: Platform, query: str, variables: dict[str, Any], token: str
) -> tuple[Any, dict[str, int]]:
    platform.services.reset_counts()
    response = post_graphql(platform.client, query, variables, headers=bearer(token))
    return response.json, platform.services.counts()


def codes_by_title(page: dict[str, Any]) -> dict[str, Any]:
    return {
        edge["node"]["title"]: (edge["node"]["viewerLink"] or {}).get("code")
        for edge in page["edges"]
    }


def test_a_fan_gets_their_links_with_stats_in_one_referrals_call(platform: Platform) -> None:
    # given a fan with a link on the second of three packs
    code = make_link(platform, 1)

    # when the fan opens the home page
    body, calls = ask(platform, HOME, {"n": 3}, platform.fan)

    # then each pack shows the fan's own link (or none), with its stats, from one call each
    assert "errors" not in body
    links = {
        edge["node"]["title"]: edge["node"]["viewerLink"]
        for edge in body["data"]["contentPacks"]["edges"]
    }
    assert links == {
        "Behind the scenes #0": None,
        "Behind the scenes #1": {"code": code, "stats": {"humanClicks": 0}},
        "Behind the scenes #2": None,
    }
    assert calls == {"content": 1, "referrals": 1, "rewards": 1}


def test_referrals_is_not_asked_when_no_link_would_be_shown(platform: Platform) -> None:
    # given a fan with a link
    make_link(platform, 0)

    # when the fan's query skips viewerLink, and when a marketer asks for it
    skipped, skipped_calls = ask(platform, HOME, {"n": 3, "noLinks": True}, platform.fan)
    staff, staff_calls = ask(platform, HOME, {"n": 3}, platform.marketer)
    unselected, unselected_calls = ask(
        platform, "{ contentPacks(first: 3) { edges { node { title } } } }", {}, platform.fan
    )

    # then nobody's answer needed referrals, and none was made
    assert [e["node"] for e in skipped["data"]["contentPacks"]["edges"]] == [
        {"title": f"Behind the scenes #{n}"} for n in (2, 1, 0)
    ]
    assert [e["node"]["viewerLink"] for e in staff["data"]["contentPacks"]["edges"]] == [None] * 3
    assert len(unselected["data"]["contentPacks"]["edges"]) == 3
    assert skipped_calls.get("referrals", 0) == 0
    assert staff_calls.get("referrals", 0) == 0
    assert unselected_calls.get("referrals", 0) == 0


def test_two_pages_and_a_single_pack_still_cost_one_referrals_call(platform: Platform) -> None:
    # given a fan with links on the first and the last pack
    first_code, last_code = make_link(platform, 0), make_link(platform, 2)
    after = ask(
        platform, "{ contentPacks(first: 1) { pageInfo { endCursor } } }", {}, platform.fan
    )[0]["data"]["contentPacks"]["pageInfo"]["endCursor"]

    # when the fan asks for two pages at once, and for a page beside one pack
    pages, pages_calls = ask(platform, TWO_PAGES, {"after": after}, platform.fan)
    mixed, mixed_calls = ask(
        platform, PAGE_AND_ONE_PACK, {"id": platform.pack_ids[2]}, platform.fan
    )

    # then every link is right, and each query asked referrals once
    # (newest first)
    assert codes_by_title(pages["data"]["first"]) == {"Behind the scenes #2": last_code}
    assert codes_by_title(pages["data"]["rest"]) == {
        "Behind the scenes #1": None,
        "Behind the scenes #0": first_code,
    }
    assert codes_by_title(mixed["data"]["contentPacks"]) == {
        "Behind the scenes #0": first_code,
        "Behind the scenes #1": None,
        "Behind the scenes #2": last_code,
    }
    assert mixed["data"]["contentPack"]["viewerLink"] == {
        "code": last_code,
        "stats": {"humanClicks": 0},
    }
    assert pages_calls["referrals"] == 1
    assert mixed_calls["referrals"] == 1


def test_a_hanging_referrals_service_costs_only_the_links_within_two_seconds(
    platform: Platform, database_url: str, redis_url: str
) -> None:
    with tcp_server(answer=False) as (hanging_url, _):
        # given the same gateway, but with a referrals service that never answers
        gateway = build_gateway(
            gateway_settings(
                database_url,
                redis_url,
                content_url=platform.services.urls["content"],
                referrals_url=hanging_url,
                rewards_url=platform.services.urls["rewards"],
                backend_timeout_seconds=1.0,
            )
        )

        # when the fan opens the home page
        started = time.monotonic()
        response = post_graphql(gateway.test_client(), HOME, {"n": 3}, headers=bearer(platform.fan))
        took = time.monotonic() - started
        gateway.extensions["fanfare"].db.dispose()

    # then the packs and the balance are there, each link is null with its own error, in time
    assert took < 2
    assert response.status_code == 200
    body = response.json
    assert body["data"]["viewer"]["user"] == {"displayName": "Ann", "pointsBalance": 0}
    assert [e["node"] for e in body["data"]["contentPacks"]["edges"]] == [
        {"title": f"Behind the scenes #{n}", "viewerLink": None} for n in (2, 1, 0)
    ]
    assert sorted(tuple(error["path"]) for error in body["errors"]) == [
        ("contentPacks", "edges", n, "node", "viewerLink") for n in range(3)
    ]
    assert {error["extensions"]["code"] for error in body["errors"]} == {"SERVICE_UNAVAILABLE"}
