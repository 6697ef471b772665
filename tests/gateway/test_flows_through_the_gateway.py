"""What fans, marketers and partners see through the gateway, over the real services."""

from __future__ import annotations

from typing import Any

import requests

from gateway.core.ids import global_id
from services.common.internal_auth import Principal, issue_internal_token
from tests.gateway.conftest import SECRET, bearer, post_graphql, sign_up
from tests.gateway.platform import CREATE_LINK, Platform

STAFF_PRINCIPAL = Principal(role="marketer", user_id="test-setup")


def rewards_as_staff(platform: Platform, method: str, path: str, body: Any) -> Any:
    """Set up rewards (rules, catalog) as a marketer would in the console."""
    token = issue_internal_token(STAFF_PRINCIPAL, audience="rewards", secret=SECRET)
    response = requests.request(
        method,
        f"{platform.services.urls['rewards']}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code in (200, 201), response.text
    return response.json()


def graphql(platform: Platform, query: str, token: str | None, **variables: Any) -> Any:
    headers = bearer(token) if token else {}
    return post_graphql(platform.client, query, variables, headers=headers).json


def error_codes(body: Any) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def new_partner_key(platform: Platform, *scopes: str) -> str:
    created = graphql(
        platform,
        "mutation ($scopes: [ApiScope!]!) "
        '{ createApiKey(input: {name: "Shop", scopes: $scopes}) { secret } }',
        platform.marketer,
        scopes=list(scopes),
    )
    secret: str = created["data"]["createApiKey"]["secret"]
    return secret


PACK_STATS = """
query ($id: ID!) {
  node(id: $id) { ... on ContentPack { stats { shares feedback { positive negative ideas } } } }
}
"""


def test_a_fans_feedback_is_counted_for_marketers_and_only_fans_may_leave_it(
    platform: Platform,
) -> None:
    leave = """
    mutation ($input: LeaveFeedbackInput!) { leaveFeedback(input: $input) { ok errors { code } } }
    """
    feedback = {"packId": platform.pack_ids[0], "sentiment": "IDEA", "text": "Show the kitchen"}

    # when the fan leaves an idea, and a marketer tries to leave one too
    as_fan = graphql(platform, leave, platform.fan, input=feedback)
    as_marketer = graphql(platform, leave, platform.marketer, input=feedback)

    # then the fan's is taken, the marketer's refused, and marketers see it counted
    assert as_fan["data"]["leaveFeedback"] == {"ok": True, "errors": []}
    assert error_codes(as_marketer) == ["FORBIDDEN"]
    stats = graphql(platform, PACK_STATS, platform.marketer, id=platform.pack_ids[0])
    assert stats["data"]["node"]["stats"]["feedback"] == {"positive": 0, "negative": 0, "ideas": 1}


def test_a_recorded_share_is_counted_and_needs_a_signed_in_fan(platform: Platform) -> None:
    share = """
    mutation ($packId: ID!) {
      recordShare(input: {packId: $packId, channel: X}) { ok errors { code message } }
    }
    """

    # when the fan records a share, and an anonymous caller tries
    shared = graphql(platform, share, platform.fan, packId=platform.pack_ids[1])
    anonymous = graphql(platform, share, None, packId=platform.pack_ids[1])

    # then the share counts on the pack, and the anonymous one is refused
    assert shared["data"]["recordShare"] == {"ok": True, "errors": []}
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]
    stats = graphql(platform, PACK_STATS, platform.marketer, id=platform.pack_ids[1])
    assert stats["data"]["node"]["stats"]["shares"] == 1


def test_a_marketer_updates_then_archives_a_pack_and_fans_may_do_neither(
    platform: Platform,
) -> None:
    update = """
    mutation ($input: UpdateContentPackInput!) {
      updateContentPack(input: $input) { contentPack { title summary } errors { field code } }
    }
    """
    archive = """
    mutation ($id: ID!) {
      archiveContentPack(id: $id) { contentPack { status } errors { code } }
    }
    """
    pack_id = platform.pack_ids[0]
    listing = "{ contentPacks(first: 10) { totalCount edges { node { id title } } } }"

    # when a fan tries to change and archive the pack
    fan_update = graphql(platform, update, platform.fan, input={"id": pack_id, "title": "Mine"})
    fan_archive = graphql(platform, archive, platform.fan, id=pack_id)

    # then both are refused and nothing changed
    assert error_codes(fan_update) == ["FORBIDDEN"]
    assert error_codes(fan_archive) == ["FORBIDDEN"]
    titles = {
        e["node"]["id"]: e["node"]["title"]
        for e in graphql(platform, listing, platform.fan)["data"]["contentPacks"]["edges"]
    }
    assert titles[pack_id] == "Behind the scenes #0"

    # when the marketer renames it, with a title too long on the way
    too_long = graphql(
        platform, update, platform.marketer, input={"id": pack_id, "title": "x" * 500}
    )
    renamed = graphql(
        platform, update, platform.marketer, input={"id": pack_id, "title": "The new shop"}
    )

    # then the bad title is an expected error on its field, the good one is kept
    assert too_long["data"]["updateContentPack"]["contentPack"] is None
    assert too_long["data"]["updateContentPack"]["errors"][0]["field"][-1] == "title"
    assert renamed["data"]["updateContentPack"] == {
        "contentPack": {"title": "The new shop", "summary": "How the new shop was built."},
        "errors": [],
    }

    # when the marketer archives it
    archived = graphql(platform, archive, platform.marketer, id=pack_id)

    # then fans see it no more
    assert archived["data"]["archiveContentPack"] == {
        "contentPack": {"status": "ARCHIVED"},
        "errors": [],
    }
    after = graphql(platform, listing, platform.fan)["data"]["contentPacks"]
    assert after["totalCount"] == 2
    assert pack_id not in {edge["node"]["id"] for edge in after["edges"]}


RECORD = """
mutation ($input: RecordConversionInput!) {
  recordConversion(input: $input) { conversion { id status } errors { code message } }
}
"""
REVERSE = """
mutation ($input: ReverseConversionInput!) {
  reverseConversion(input: $input) { conversion { id externalId status } errors { code message } }
}
"""


def test_a_partner_reverses_a_conversion_and_a_key_without_the_scope_cannot(
    platform: Platform,
) -> None:
    # given a conversion a partner recorded on the fan's link
    writer = new_partner_key(platform, "CONVERSIONS_WRITE")
    reader = new_partner_key(platform, "CONTENT_READ")
    link = graphql(platform, CREATE_LINK, platform.fan, packId=platform.pack_ids[0])
    code = link["data"]["createReferralLink"]["referralLink"]["code"]
    order = {"externalId": "order-9", "referralCode": code, "amountCents": 1500, "currency": "EUR"}
    recorded = post_graphql(
        platform.client, RECORD, {"input": order}, headers={"X-API-Key": writer}
    ).json["data"]["recordConversion"]["conversion"]

    # when a key without CONVERSIONS_WRITE tries to reverse it, then the partner does
    refused = post_graphql(
        platform.client,
        REVERSE,
        {"input": {"externalId": "order-9", "reason": "refund"}},
        headers={"X-API-Key": reader},
    ).json
    reversed_ = post_graphql(
        platform.client,
        REVERSE,
        {"input": {"externalId": "order-9", "reason": "refund"}},
        headers={"X-API-Key": writer},
    ).json

    # then the first is refused, and the conversion is reversed
    assert error_codes(refused) == ["FORBIDDEN"]
    assert reversed_["data"]["reverseConversion"] == {
        "conversion": {"id": recorded["id"], "externalId": "order-9", "status": "REVERSED"},
        "errors": [],
    }

    # and reversing one that was never recorded is an expected error
    unknown = post_graphql(
        platform.client,
        REVERSE,
        {"input": {"externalId": "never-sent"}},
        headers={"X-API-Key": writer},
    ).json["data"]["reverseConversion"]
    assert unknown["conversion"] is None
    assert unknown["errors"][0]["code"] == "CONVERSION_NOT_FOUND"


VIEWER_REWARDS = """
query ($after: String) {
  viewer {
    user { pointsBalance }
    stats { shares pointsEarned }
    rewards(first: 1, after: $after) {
      totalCount
      edges { cursor node { id kind title points } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""


def earn_points_by_sharing(platform: Platform, shares: int) -> None:
    """A rule giving 40 points a share, and the fan's shares, delivered as events."""
    rewards_as_staff(
        platform,
        "POST",
        "/v1/rules",
        {
            "name": "Thanks for sharing",
            "trigger": "SHARE_RECORDED",
            "reward_kind": "POINTS",
            "points": 40,
        },
    )
    share = "mutation ($p: ID!) { recordShare(input: {packId: $p, channel: X}) { ok } }"
    for index in range(shares):
        graphql(platform, share, platform.fan, p=platform.pack_ids[index % 3])
    platform.services.deliver_events()


def test_the_viewer_sees_their_rewards_page_by_page_with_a_cursor_on_each(
    platform: Platform,
) -> None:
    # given two shares rewarded with 40 points each
    earn_points_by_sharing(platform, 2)

    # when the fan reads their rewards one at a time
    first = graphql(platform, VIEWER_REWARDS, platform.fan)["data"]["viewer"]
    second = graphql(
        platform, VIEWER_REWARDS, platform.fan, after=first["rewards"]["edges"][0]["cursor"]
    )["data"]["viewer"]

    # then they see their balance, their sharing, and each reward once
    assert first["user"] == {"pointsBalance": 80}
    assert first["stats"] == {"shares": 2, "pointsEarned": 80}
    assert first["rewards"]["totalCount"] == 2
    (edge,) = first["rewards"]["edges"]
    assert edge["node"]["kind"] == "POINTS"
    assert edge["node"]["points"] == 40
    assert first["rewards"]["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "startCursor": edge["cursor"],
        "endCursor": edge["cursor"],
    }
    (next_edge,) = second["rewards"]["edges"]
    assert next_edge["node"]["id"] != edge["node"]["id"]
    assert second["rewards"]["pageInfo"]["hasNextPage"] is False


def test_leaderboard_and_catalog_for_signed_in_users_and_a_redemption_spends_points(
    platform: Platform,
) -> None:
    # given a fan with 80 points and a catalog item of 50 points, one in stock
    earn_points_by_sharing(platform, 2)
    item = rewards_as_staff(
        platform,
        "POST",
        "/v1/catalog",
        {"name": "Backstage mug", "kind": "MERCH", "cost_points": 50, "stock": 1},
    )
    board = "{ leaderboard(first: 5) { rank displayName points tier } }"
    catalog = "{ rewardCatalog { id title kind costPoints remaining } }"

    # when the fan reads the leaderboard and the catalog, and someone signed out tries
    ranked = graphql(platform, board, platform.fan)
    listed = graphql(platform, catalog, platform.fan)
    anonymous = graphql(platform, board, None)

    # then the fan leads, the mug is offered, and the anonymous caller is refused
    assert ranked["data"]["leaderboard"] == [
        {"rank": 1, "displayName": "Ann", "points": 80, "tier": "FAN"}
    ]
    mug_id = global_id("CatalogItem", str(item["id"]))
    assert listed["data"]["rewardCatalog"] == [
        {
            "id": mug_id,
            "title": "Backstage mug",
            "kind": "THANK_YOU_NOTE",
            "costPoints": 50,
            "remaining": 1,
        }
    ]
    assert error_codes(anonymous) == ["UNAUTHENTICATED"]

    # when the fan redeems the mug, then tries again (out of stock), and a marketer tries
    redeem = """
    mutation ($input: RedeemRewardInput!) {
      redeemReward(input: $input) { reward { title points } pointsBalance errors { code } }
    }
    """
    redeemed = graphql(platform, redeem, platform.fan, input={"catalogItemId": mug_id})
    again = graphql(platform, redeem, platform.fan, input={"catalogItemId": mug_id})
    by_marketer = graphql(platform, redeem, platform.marketer, input={"catalogItemId": mug_id})

    # then the fan pays 50 points once, the second is an expected failure, the marketer refused
    assert redeemed["data"]["redeemReward"]["errors"] == []
    assert redeemed["data"]["redeemReward"]["pointsBalance"] == 30
    assert redeemed["data"]["redeemReward"]["reward"]["points"] == -50
    assert again["data"]["redeemReward"]["reward"] is None
    assert again["data"]["redeemReward"]["errors"][0]["code"] in {
        "OUT_OF_STOCK",
        "INSUFFICIENT_POINTS",
    }
    assert error_codes(by_marketer) == ["FORBIDDEN"]


VIEWER_LINKS = """
query ($after: String) {
  viewer {
    referralLinks(first: 2, after: $after) {
      totalCount
      edges { cursor node { id channel stats { humanClicks } } }
      pageInfo { hasNextPage startCursor endCursor }
    }
  }
}
"""


def test_the_viewer_pages_through_their_links_with_stats_in_one_call(
    platform: Platform,
) -> None:
    # given the fan's links on three packs
    made = [
        graphql(platform, CREATE_LINK, platform.fan, packId=pack_id)["data"]["createReferralLink"][
            "referralLink"
        ]["id"]
        for pack_id in platform.pack_ids
    ]

    # when the fan reads a page of two, with each link's stats
    platform.services.reset_counts()
    page = graphql(platform, VIEWER_LINKS, platform.fan)["data"]["viewer"]["referralLinks"]
    calls = platform.services.counts()

    # then the newest two come, each with its stats and its own cursor, in one referrals call
    assert calls == {"content": 0, "referrals": 1, "rewards": 0}
    assert page["totalCount"] == 3
    assert [edge["node"]["id"] for edge in page["edges"]] == [made[2], made[1]]
    assert all(edge["node"]["stats"] == {"humanClicks": 0} for edge in page["edges"])
    cursors = [edge["cursor"] for edge in page["edges"]]
    assert len(set(cursors)) == 2
    assert all(cursors)
    assert page["pageInfo"] == {
        "hasNextPage": True,
        "startCursor": cursors[0],
        "endCursor": cursors[1],
    }

    # when they continue after the first edge's cursor, and after the page's end
    after_first = graphql(platform, VIEWER_LINKS, platform.fan, after=cursors[0])
    after_end = graphql(platform, VIEWER_LINKS, platform.fan, after=cursors[1])

    # then each continues right after that link
    first_ids = [e["node"]["id"] for e in after_first["data"]["viewer"]["referralLinks"]["edges"]]
    end_page = after_end["data"]["viewer"]["referralLinks"]
    assert first_ids == [made[1], made[0]]
    assert [e["node"]["id"] for e in end_page["edges"]] == [made[0]]
    assert end_page["pageInfo"]["hasNextPage"] is False

    # and a cursor that is not one of ours is refused with a clear message
    bad = graphql(platform, VIEWER_LINKS, platform.fan, after="not-a-cursor")
    assert error_codes(bad) == ["BAD_USER_INPUT"]


NODE = "query ($id: ID!) { node(id: $id) { __typename id } }"


def node_of(platform: Platform, node_id: str, token: str | None, **headers: str) -> Any:
    all_headers = {**(bearer(token) if token else {}), **headers}
    body = post_graphql(platform.client, NODE, {"id": node_id}, headers=all_headers).json
    assert "errors" not in body, body
    return body["data"]["node"]


def test_node_fetches_every_kind_of_object_for_those_who_may_see_it(platform: Platform) -> None:
    # given a link, a conversion, a reward, a catalog item and an asset
    other_fan = sign_up(platform.client, "bob@example.com", display_name="Bob").json["data"][
        "signUp"
    ]["token"]
    earn_points_by_sharing(platform, 1)
    reward_id = graphql(platform, VIEWER_REWARDS, platform.fan)["data"]["viewer"]["rewards"][
        "edges"
    ][0]["node"]["id"]
    item = rewards_as_staff(
        platform, "POST", "/v1/catalog", {"name": "Sticker", "kind": "MERCH", "cost_points": 5}
    )
    item_id = global_id("CatalogItem", str(item["id"]))
    link = graphql(platform, CREATE_LINK, platform.fan, packId=platform.pack_ids[0])
    link_node = link["data"]["createReferralLink"]["referralLink"]
    writer = new_partner_key(platform, "CONVERSIONS_WRITE")
    conversion_id = post_graphql(
        platform.client,
        RECORD,
        {"input": {"externalId": "order-1", "referralCode": link_node["code"]}},
        headers={"X-API-Key": writer},
    ).json["data"]["recordConversion"]["conversion"]["id"]
    asset_id = graphql(
        platform,
        "query ($id: ID!) { node(id: $id) { ... on ContentPack { assets { id } } } }",
        platform.marketer,
        id=platform.pack_ids[0],
    )["data"]["node"]["assets"][0]["id"]

    # then each is found by those who may see it
    assert node_of(platform, reward_id, platform.fan) == {"__typename": "Reward", "id": reward_id}
    assert node_of(platform, item_id, platform.fan) == {"__typename": "CatalogItem", "id": item_id}
    assert node_of(platform, link_node["id"], platform.fan)["__typename"] == "ReferralLink"
    assert node_of(platform, conversion_id, platform.marketer)["__typename"] == "Conversion"
    assert node_of(platform, conversion_id, None, **{"X-API-Key": writer})["id"] == conversion_id
    assert node_of(platform, asset_id, platform.marketer) == {"__typename": "Asset", "id": asset_id}

    # and is null for those who may not: another fan, a fan for staff-only objects
    assert node_of(platform, reward_id, other_fan) is None
    assert node_of(platform, link_node["id"], other_fan) is None
    assert node_of(platform, conversion_id, platform.fan) is None
    assert node_of(platform, asset_id, platform.fan) is None
    assert node_of(platform, global_id("Reward", "999999"), platform.fan) is None
    assert node_of(platform, global_id("Reward", "not-a-number"), platform.fan) is None


PACKS_PAGE = """
query ($first: Int!, $after: String) {
  contentPacks(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title } }
  }
}
"""


def test_a_fan_pages_through_content_packs_by_each_edges_cursor(platform: Platform) -> None:
    # given three published packs, listed newest first
    whole = graphql(platform, PACKS_PAGE, platform.fan, first=3)["data"]["contentPacks"]
    newest_first = [edge["node"]["id"] for edge in whole["edges"]]
    assert sorted(newest_first) == sorted(platform.pack_ids)

    # when the fan continues after each edge of that page in turn
    after_each = [
        graphql(platform, PACKS_PAGE, platform.fan, first=3, after=edge["cursor"])["data"][
            "contentPacks"
        ]
        for edge in whole["edges"]
    ]

    # then each continues right after its edge, and every edge has a cursor of its own
    assert [[edge["node"]["id"] for edge in page["edges"]] for page in after_each] == [
        newest_first[1:],
        newest_first[2:],
        [],
    ]
    assert [page["pageInfo"]["hasNextPage"] for page in after_each] == [False, False, False]
    assert len({edge["cursor"] for edge in whole["edges"]}) == 3
    assert whole["pageInfo"]["endCursor"] == whole["edges"][-1]["cursor"]
    assert all(page["totalCount"] == 3 for page in after_each)


def test_a_fan_walks_the_packs_one_at_a_time_by_cursor(platform: Platform) -> None:
    # when the fan reads one pack at a time, each time after the last edge's cursor
    seen: list[str] = []
    after: str | None = None
    while True:
        page = graphql(platform, PACKS_PAGE, platform.fan, first=1, after=after)["data"][
            "contentPacks"
        ]
        seen.extend(edge["node"]["id"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["edges"][-1]["cursor"]
        assert len(seen) <= 3, "the walk does not end"

    # then every pack is seen once
    assert sorted(seen) == sorted(platform.pack_ids)


def test_a_cursor_the_gateway_did_not_give_out_is_refused(platform: Platform) -> None:
    # when a client sends a content service cursor (or anything else) as 'after'
    body = graphql(platform, PACKS_PAGE, platform.fan, first=1, after="MTIz")

    # then it is told to pass back a cursor this list gave out
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "cursor" in body["errors"][0]["message"]


PACKS_WITH_FILES = """
query {
  contentPacks(first: 3) { edges { node { id ...Files } } }
}
fragment Files on ContentPack { assets { status renditions { name url } } }
"""
PACKS_WITHOUT_FILES = "{ contentPacks(first: 3) { edges { node { id title locked } } } }"


def test_packs_carry_their_files_only_when_asked_and_in_one_content_call(
    platform: Platform,
) -> None:
    # given three published packs with an image each
    platform.services.reset_counts()

    # when a page asks for the files through a fragment, and another does not ask for them
    with_files = graphql(platform, PACKS_WITH_FILES, platform.fan)
    calls_with_files = platform.services.counts()["content"]
    platform.services.reset_counts()
    without_files = graphql(platform, PACKS_WITHOUT_FILES, platform.fan)
    calls_without_files = platform.services.counts()["content"]

    # then the first has every rendition with a URL, and each page costs one content call
    assert "errors" not in with_files
    assert "errors" not in without_files
    for edge in with_files["data"]["contentPacks"]["edges"]:
        (asset,) = edge["node"]["assets"]
        assert asset["status"] == "READY"
        assert asset["renditions"]
        assert all(r["url"] for r in asset["renditions"])
    assert [edge["node"]["id"] for edge in without_files["data"]["contentPacks"]["edges"]] == [
        edge["node"]["id"] for edge in with_files["data"]["contentPacks"]["edges"]
    ]
    assert calls_with_files == 1
    assert calls_without_files == 1
