"""Pack lists and batch reads: what callers receive, in full or without assets."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from marshmallow import Schema

from services.content.schemas import (
    AssetReadSchema,
    ContentPackBatchSchema,
    ContentPackPageSchema,
    ContentPackReadSchema,
)
from tests.content.conftest import FAN, MARKETER, ContentApi, jpeg_bytes


def body_of(content: ContentApi, path: str, principal: Any = FAN, **query: str) -> Any:
    response = content.call("GET", path, principal, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def assert_described_by(schema: Schema, body: Any) -> None:
    """``body`` is exactly what ``schema`` would dump: valid, no extra keys, same formats."""
    assert schema.dump(schema.load(body)) == body


def a_catalogue(content: ContentApi) -> dict[str, Any]:
    """Two published packs with a processed image, one locked above a fan's tier, and a
    draft whose image is still processing."""
    open_pack = content.published_pack(title="Open pack")
    locked = content.published_pack(title="Locked pack", min_tier="INSIDER")
    draft = content.create_pack(title="Draft pack")
    assert content.upload(draft["id"], jpeg_bytes()).status_code == 202
    return {"open": open_pack, "locked": locked, "draft": draft}


def test_every_pack_and_asset_answer_is_what_its_schema_describes(content: ContentApi) -> None:
    # given packs in every state a list shows (locked, with a processing asset, with stats)
    packs = a_catalogue(content)
    ids = ",".join(pack["id"] for pack in packs.values())

    # when a fan and a marketer list them, batch-read them and read one pack and one asset
    fan_page = body_of(content, "/v1/packs", FAN)
    staff_page = body_of(content, "/v1/packs", MARKETER)
    summary_page = body_of(content, "/v1/packs", MARKETER, omit="assets")
    batch = body_of(content, "/v1/packs", MARKETER, ids=ids)
    one_pack = body_of(content, f"/v1/packs/{packs['open']['id']}", FAN)
    asset_id = staff_page["items"][0]["assets"][0]["id"]
    one_asset = body_of(content, f"/v1/assets/{asset_id}", MARKETER)

    # then each is exactly what the schema the OpenAPI document is made from would dump
    assert_described_by(ContentPackPageSchema(), fan_page)
    assert_described_by(ContentPackPageSchema(), staff_page)
    assert_described_by(ContentPackPageSchema(), summary_page)
    assert_described_by(ContentPackBatchSchema(), batch)
    assert_described_by(ContentPackReadSchema(), one_pack)
    assert_described_by(AssetReadSchema(), one_asset)
    statuses = {asset["status"] for item in staff_page["items"] for asset in item["assets"]}
    assert statuses == {"READY", "PROCESSING"}
    assert all(item["stats"] is not None for item in staff_page["items"])


def test_omit_assets_leaves_out_only_the_assets(content: ContentApi) -> None:
    # given packs with processed images
    packs = a_catalogue(content)
    ids = ",".join(pack["id"] for pack in packs.values())

    # when the same caller lists them in full and with omit=assets, and batch-reads both ways
    for principal in (FAN, MARKETER):
        full = body_of(content, "/v1/packs", principal)
        summary = body_of(content, "/v1/packs", principal, omit="assets")
        full_batch = body_of(content, "/v1/packs", principal, ids=ids)
        summary_batch = body_of(content, "/v1/packs", principal, ids=ids, omit="assets")

        # then the summaries have no assets key, and everything else is the same
        for whole, partial in ((full, summary), (full_batch, summary_batch)):
            assert [item["id"] for item in whole["items"]] == [
                item["id"] for item in partial["items"]
            ]
            assert all("assets" not in item for item in partial["items"])
            assert all("assets" in item for item in whole["items"])
            for item, short in zip(whole["items"], partial["items"], strict=True):
                assert {key: value for key, value in item.items() if key != "assets"} == short
        assert summary["page_info"] == full["page_info"]
        assert summary["total_count"] == full["total_count"]

    # and the teaser of a published pack is still there without its assets
    open_item = next(
        item
        for item in body_of(content, "/v1/packs", FAN, omit="assets")["items"]
        if item["id"] == packs["open"]["id"]
    )
    assert open_item["teaser_url"]


def test_an_unknown_omit_value_is_a_422_naming_the_parameter(content: ContentApi) -> None:
    # when a caller asks to leave out something that cannot be left out
    response = content.call("GET", "/v1/packs", query_string={"omit": "story"})

    # then it is told which parameter is wrong
    assert response.status_code == 422
    assert response.json is not None
    assert response.json["error"]["code"] == "INVALID"
    assert "omit" in response.json["error"]["details"]["fields"]


def test_a_page_read_twice_signs_its_renditions_once(content: ContentApi) -> None:
    # given a published pack with renditions
    content.published_pack()

    # when the list is read twice within a minute
    first = body_of(content, "/v1/packs")
    second = body_of(content, "/v1/packs")

    # then the URLs are the same ones, still valid for most of their lifetime, and they work
    urls = [rendition["url"] for rendition in first["items"][0]["assets"][0]["renditions"]]
    assert urls == [rendition["url"] for rendition in second["items"][0]["assets"][0]["renditions"]]
    ttl = content.context.settings.signed_url_ttl_seconds
    for url in urls:
        parts = urlsplit(url)
        expires = int(parse_qs(parts.query)["expires"][0])
        assert expires >= int(time.time()) + ttl - 60
        with content.client.get(f"{parts.path}?{parts.query}") as media:
            assert media.status_code == 200
            assert media.data


def test_search_takes_wildcards_and_the_escape_character_literally(content: ContentApi) -> None:
    # given titles that differ where LIKE's wildcards would blur them
    literal = content.create_pack(title="Sale 50% off_now")
    content.create_pack(title="Sale 500 off now")
    slashed = content.create_pack(title="Either/or")

    def found(search: str) -> list[str]:
        page = body_of(content, "/v1/packs", MARKETER, search=search)
        assert page["total_count"] == len(page["items"])
        return [item["id"] for item in page["items"]]

    # when a marketer searches for text holding %, _ or /
    # then only the packs holding that very text are found
    assert found("50%") == [literal["id"]]
    assert found("OFF_NOW") == [literal["id"]]
    assert found("r/o") == [slashed["id"]]


def test_search_ignores_the_case_of_any_letter_the_same_on_both_databases(
    content: ContentApi,
) -> None:
    # given a pack whose title has accented capitals, and one without them
    creme = content.create_pack(title="CRÈME BRÛLÉE tour", summary="Ein Blick hinter ÖFEN.")
    content.create_pack(title="Creme brulee tour")

    def found(search: str) -> list[str]:
        page = body_of(content, "/v1/packs", MARKETER, search=search)
        return [item["id"] for item in page["items"]]

    # when a marketer searches in another case (SQLite's own lower() folds ASCII only)
    # then the pack is found, and the unaccented one is not
    assert found("crème brûlée") == [creme["id"]]
    assert found("Öfen") == [creme["id"]]


def test_a_page_past_the_last_still_counts_the_filtered_packs(content: ContentApi) -> None:
    # given three packs tagged "kiln" and one not
    for n in range(3):
        content.create_pack(title=f"Kiln {n}", tags=["kiln"])
    content.create_pack(title="Glaze", tags=["glaze"])
    whole = body_of(content, "/v1/packs", MARKETER, tag="kiln", first="3")

    # when the caller asks for the page after the last one
    past = body_of(
        content, "/v1/packs", MARKETER, tag="kiln", after=whole["page_info"]["end_cursor"]
    )

    # then it is empty, with no next page, and still counts the tagged packs
    assert whole["page_info"]["has_next_page"] is False
    assert past == {
        "items": [],
        "page_info": {"has_next_page": False, "end_cursor": None},
        "total_count": 3,
    }
