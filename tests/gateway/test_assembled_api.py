"""The assembled API over the real content, referrals and rewards services."""

from __future__ import annotations

import json
from typing import Any

from tests.gateway.conftest import PASSWORD, bearer, log_in, post_graphql
from tests.gateway.platform import (
    CREATE_LINK,
    CREATE_PACK,
    Platform,
    jpeg_bytes,
    publish_packs,
    upload_image,
)

# publish_packs lives in platform.py; older tests import it from here.
__all__ = ["publish_packs"]

HOME = """
query Home($n: Int!) {
  viewer { user { displayName pointsBalance tier } }
  contentPacks(first: $n) {
    totalCount
    edges { node { id title purpose locked viewerLink { code shortUrl stats { humanClicks } } } }
  }
}
"""


def test_an_image_is_streamed_to_content_and_becomes_ready(platform: Platform) -> None:
    # given a draft pack
    created = post_graphql(
        platform.client,
        CREATE_PACK,
        {
            "input": {
                "title": "Draft",
                "summary": "s",
                "story": "s",
                "purpose": "LOVE",
                "destinationUrl": "https://shop.example/x",
            }
        },
        headers=bearer(platform.marketer),
    ).json["data"]["createContentPack"]["contentPack"]
    image = jpeg_bytes((800, 600))

    # when a marketer uploads an image with the multipart request spec
    uploaded = upload_image(platform.client, platform.marketer, created["id"], image)

    # then content has the whole file, and processes it
    assert uploaded["errors"] == []
    assert uploaded["asset"]["bytes"] == len(image)
    assert uploaded["asset"]["contentType"] == "image/jpeg"
    assert uploaded["asset"]["status"] == "PROCESSING"
    platform.services.process_uploads()
    query = "query ($id: ID!) { node(id: $id) { ... on ContentPack { assets { status width } } } }"
    pack = post_graphql(
        platform.client, query, {"id": created["id"]}, headers=bearer(platform.marketer)
    )
    assert pack.json["data"]["node"]["assets"] == [{"status": "READY", "width": 800}]


def test_a_fan_makes_a_link_and_sees_it_on_the_pack(platform: Platform) -> None:
    client, fan = platform.client, platform.fan

    # when the fan makes a link for a pack, twice
    first = post_graphql(client, CREATE_LINK, {"packId": platform.pack_ids[0]}, headers=bearer(fan))
    again = post_graphql(client, CREATE_LINK, {"packId": platform.pack_ids[0]}, headers=bearer(fan))

    # then it is the same link, with its pack and (zero) stats
    link = first.json["data"]["createReferralLink"]["referralLink"]
    assert first.json["data"]["createReferralLink"]["errors"] == []
    assert again.json["data"]["createReferralLink"]["referralLink"]["id"] == link["id"]
    assert link["shortUrl"].startswith("https://fan.example/r/")
    assert link["pack"] == {"title": "Behind the scenes #0"}
    assert link["stats"] == {"humanClicks": 0}


def home_calls(platform: Platform, n: int) -> tuple[dict[str, int], Any]:
    platform.services.reset_counts()
    response = post_graphql(platform.client, HOME, {"n": n}, headers=bearer(platform.fan))
    return platform.services.counts(), response.json


def test_a_page_of_packs_costs_the_same_backend_calls_for_1_and_50_packs(
    platform: Platform,
) -> None:
    # given 50 published packs, with links on two of them
    platform.pack_ids += publish_packs(platform.services, platform.client, platform.marketer, 47)
    platform.services.deliver_events()
    for pack_id in platform.pack_ids[-2:]:
        post_graphql(
            platform.client, CREATE_LINK, {"packId": pack_id}, headers=bearer(platform.fan)
        )

    # when the fan opens the home page with 1 pack, then with 50
    one_calls, one = home_calls(platform, 1)
    fifty_calls, fifty = home_calls(platform, 50)

    # then both answers are complete
    assert "errors" not in one
    assert "errors" not in fifty
    assert len(fifty["data"]["contentPacks"]["edges"]) == 50
    assert fifty["data"]["viewer"]["user"] == {
        "displayName": "Ann",
        "pointsBalance": 0,
        "tier": "FAN",
    }
    links = [e["node"]["viewerLink"] for e in fifty["data"]["contentPacks"]["edges"]]
    assert sum(link is not None for link in links) == 2

    # and cost the same backend calls, one per service: the links come with their stats
    assert fifty_calls == one_calls
    assert fifty_calls == {"content": 1, "referrals": 1, "rewards": 1}
    linked = [link for link in links if link is not None]
    assert [link["stats"] for link in linked] == [{"humanClicks": 0}] * 2


def test_marketers_see_pack_stats_and_fans_do_not(platform: Platform) -> None:
    query = "{ contentPacks(first: 3) { edges { node { stats { shares feedback { ideas } } } } } }"
    as_marketer = post_graphql(platform.client, query, headers=bearer(platform.marketer)).json
    as_fan = post_graphql(platform.client, query, headers=bearer(platform.fan)).json
    assert [e["node"]["stats"] for e in as_marketer["data"]["contentPacks"]["edges"]] == [
        {"shares": 0, "feedback": {"ideas": 0}}
    ] * 3
    assert [e["node"]["stats"] for e in as_fan["data"]["contentPacks"]["edges"]] == [None] * 3


def test_a_pack_is_found_again_by_its_global_id_and_by_slug(platform: Platform) -> None:
    pack_id = platform.pack_ids[0]
    query = """query ($id: ID!) { node(id: $id) { id ... on ContentPack { slug title } } }"""
    by_node = post_graphql(platform.client, query, {"id": pack_id}, headers=bearer(platform.fan))
    node = by_node.json["data"]["node"]
    assert node["id"] == pack_id
    by_slug = post_graphql(
        platform.client,
        "query ($s: String!) { contentPack(slug: $s) { id } "
        'missing: contentPack(slug: "nope") { id } }',
        {"s": node["slug"]},
        headers=bearer(platform.fan),
    )
    assert by_slug.json["data"] == {"contentPack": {"id": pack_id}, "missing": None}


def test_a_fan_exports_and_erases_their_data_in_every_service(platform: Platform) -> None:
    client, fan = platform.client, platform.fan
    post_graphql(client, CREATE_LINK, {"packId": platform.pack_ids[0]}, headers=bearer(fan))

    exported = post_graphql(
        client, "mutation { exportMyData { data errors { code } } }", headers=bearer(fan)
    )
    payload = exported.json["data"]["exportMyData"]
    assert payload["errors"] == []
    everything = json.loads(payload["data"])
    assert set(everything) == {"gateway", "content", "referrals", "rewards"}
    assert everything["gateway"]["email"] == "ann@example.com"
    assert len(everything["referrals"]["links"]) == 1

    erased = post_graphql(
        client, "mutation { deleteMyAccount { ok errors { code } } }", headers=bearer(fan)
    )
    assert erased.json["data"]["deleteMyAccount"] == {"ok": True, "errors": []}
    assert (
        post_graphql(client, "{ viewer { user { id } } }", headers=bearer(fan)).status_code == 401
    )
    assert log_in(client, "ann@example.com", PASSWORD).json["data"]["logIn"]["token"] is None


RECORD = """
mutation ($input: RecordConversionInput!) {
  recordConversion(input: $input) {
    conversion { id externalId status amountCents }
    errors { code message }
  }
}
"""


def test_a_partner_records_a_conversion_once_whatever_the_repeats(platform: Platform) -> None:
    # given a partner key with CONVERSIONS_WRITE and a fan's link
    key = post_graphql(
        platform.client,
        'mutation { createApiKey(input: {name: "Shop", scopes: [CONVERSIONS_WRITE]}) { secret } }',
        headers=bearer(platform.marketer),
    ).json["data"]["createApiKey"]["secret"]
    link = post_graphql(
        platform.client, CREATE_LINK, {"packId": platform.pack_ids[0]}, headers=bearer(platform.fan)
    ).json["data"]["createReferralLink"]["referralLink"]
    order = {
        "externalId": "order-77",
        "referralCode": link["code"],
        "amountCents": 4200,
        "currency": "EUR",
        "customerRef": "someone.else@example.com",
    }

    # when the partner reports the same order twice
    first = post_graphql(platform.client, RECORD, {"input": order}, headers={"X-API-Key": key})
    again = post_graphql(platform.client, RECORD, {"input": order}, headers={"X-API-Key": key})

    # then it is one conversion
    recorded = first.json["data"]["recordConversion"]
    assert recorded["errors"] == []
    assert recorded["conversion"]["externalId"] == "order-77"
    assert recorded["conversion"]["amountCents"] == 4200
    assert (
        again.json["data"]["recordConversion"]["conversion"]["id"] == recorded["conversion"]["id"]
    )
