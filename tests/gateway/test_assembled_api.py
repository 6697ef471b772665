"""The assembled API over the real content, referrals and rewards services."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from gateway.identity.users import create_user
from tests.gateway.conftest import (
    PASSWORD,
    SECRET,
    bearer,
    build_gateway,
    gateway_settings,
    log_in,
    post_graphql,
    sign_up,
)
from tests.gateway.platform import Services, running_services

CREATE_PACK = """
mutation ($input: CreateContentPackInput!) {
  createContentPack(input: $input) { contentPack { id title status } errors { field code message } }
}
"""
PUBLISH_PACK = """
mutation ($id: ID!) { publishContentPack(id: $id) { contentPack { id status } errors { code } } }
"""
CREATE_LINK = """
mutation ($packId: ID!) {
  createReferralLink(input: {packId: $packId, channel: WHATSAPP}) {
    referralLink { id code shortUrl channel pack { title } stats { humanClicks } }
    errors { field code message }
  }
}
"""
HOME = """
query Home($n: Int!) {
  viewer { user { displayName pointsBalance tier } }
  contentPacks(first: $n) {
    totalCount
    edges { node { id title purpose locked viewerLink { code shortUrl stats { humanClicks } } } }
  }
}
"""


@dataclass
class Platform:
    services: Services
    gateway: Flask
    client: FlaskClient
    marketer: str
    fan: str
    pack_ids: list[str]


UPLOAD = """
mutation ($input: UploadAssetInput!) {
  uploadAsset(input: $input) {
    asset { id filename contentType status bytes }
    errors { code message }
  }
}
"""


def jpeg_bytes(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, "JPEG")
    return out.getvalue()


def upload_image(client: FlaskClient, marketer: str, pack_id: str, image: bytes) -> Any:
    operations = {"query": UPLOAD, "variables": {"input": {"packId": pack_id, "file": None}}}
    return client.post(
        "/graphql",
        data={
            "operations": json.dumps(operations),
            "map": json.dumps({"0": ["variables.input.file"]}),
            "0": (io.BytesIO(image), "photo.jpg", "image/jpeg"),
        },
        content_type="multipart/form-data",
        headers=bearer(marketer),
    ).get_json()["data"]["uploadAsset"]


def publish_packs(services: Services, client: FlaskClient, marketer: str, count: int) -> list[str]:
    ids = []
    image = jpeg_bytes((320, 240))
    for n in range(count):
        created = post_graphql(
            client,
            CREATE_PACK,
            {
                "input": {
                    "title": f"Behind the scenes #{n}",
                    "summary": "How the new shop was built.",
                    "story": "It started with a *sketch*.",
                    "purpose": "LEARN",
                    "destinationUrl": "https://shop.example/new",
                    "tags": ["shop"],
                    "captions": [{"channel": "X", "text": "Look at this"}],
                }
            },
            headers=bearer(marketer),
        ).json["data"]["createContentPack"]
        assert created["errors"] == [], created
        pack_id = created["contentPack"]["id"]
        uploaded = upload_image(client, marketer, pack_id, image)
        assert uploaded["errors"] == [], uploaded
        services.process_uploads()
        published = post_graphql(client, PUBLISH_PACK, {"id": pack_id}, headers=bearer(marketer))
        assert published.json["data"]["publishContentPack"]["contentPack"]["status"] == "PUBLISHED"
        ids.append(pack_id)
    return ids


@pytest.fixture
def platform(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Platform]:
    with running_services(tmp_path / "services", redis_url, SECRET) as services:
        gateway = build_gateway(
            gateway_settings(
                database_url,
                redis_url,
                content_url=services.urls["content"],
                referrals_url=services.urls["referrals"],
                rewards_url=services.urls["rewards"],
            )
        )
        client = gateway.test_client()
        with gateway.extensions["fanfare"].db.transaction() as session:
            create_user(
                session,
                email="mia@brand.example",
                password=PASSWORD,
                display_name="Mia",
                role="marketer",
            )
        marketer = log_in(client, "mia@brand.example", PASSWORD).json["data"]["logIn"]["token"]
        fan = sign_up(client).json["data"]["signUp"]["token"]
        pack_ids = publish_packs(services, client, marketer, 3)
        services.deliver_events()
        yield Platform(services, gateway, client, marketer, fan, pack_ids)
        gateway.extensions["fanfare"].db.dispose()


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
