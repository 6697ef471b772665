"""Packs over REST: create, update, list, read, publish, archive, and who sees what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from services.common.events import Event
from services.content.fans import apply_tier_changed
from services.content.models import ContentPack
from tests.content.conftest import (
    ADMIN,
    ANONYMOUS,
    FAN,
    PARTNER,
    PARTNER_WITHOUT_SCOPE,
    ContentApi,
    jpeg_bytes,
)


def set_tier(content: ContentApi, fan_id: str, tier: str) -> None:
    event = Event.new(
        type="rewards.tier_changed",
        producer="rewards",
        payload={"fan_id": fan_id, "old_tier": "FAN", "new_tier": tier, "lifetime_points": 900},
    )
    with content.runtime.db.transaction() as session:
        apply_tier_changed(session, event)


def test_a_marketer_creates_a_draft_pack_with_normalised_fields(content: ContentApi) -> None:
    # when a marketer creates a pack
    pack = content.create_pack(
        tags=["Behind The Scenes", "kiln", "kiln"],
        hashtags=["MugLife", "#handmade", "##mugLIFE"],
        captions=[{"channel": "X", "text": "Fired twice!"}],
        min_tier="INSIDER",
    )

    # then it is a draft with a slug, normalised tags and hashtags, and rendered story
    assert pack["status"] == "DRAFT"
    assert pack["slug"] == "why-our-mugs-never-chip"
    assert pack["tags"] == ["behind-the-scenes", "kiln"]
    assert pack["hashtags"] == ["#MugLife", "#handmade"]
    assert pack["story_html"] == "<p>We fire them <strong>twice</strong>.</p>\n"
    assert pack["min_tier"] == "INSIDER"
    assert pack["sharing_rewarded"] is True
    assert pack["stats"] == {"feedback": {"positive": 0, "negative": 0, "ideas": 0}}


def test_the_share_kit_adds_hashtags_and_the_disclosure_to_every_caption(
    content: ContentApi,
) -> None:
    # given a rewarded pack and an unrewarded one, each with captions
    captions = [
        {"channel": "X", "text": "Fired twice!"},
        {"channel": "LINKEDIN", "text": "How we test mugs."},
    ]
    rewarded = content.create_pack(captions=captions, hashtags=["mugs"])
    own_disclosure = content.create_pack(
        title="Second", captions=captions, hashtags=["mugs"], disclosure="#sponsored"
    )
    unrewarded = content.create_pack(
        title="Third", captions=captions, hashtags=["mugs"], sharing_rewarded=False
    )

    # then the rewarded kits end every caption with the disclosure, the other with none
    assert rewarded["share_kit"] == {
        "captions": [
            {"channel": "X", "text": "Fired twice! #mugs #ad"},
            {"channel": "LINKEDIN", "text": "How we test mugs. #mugs #ad"},
        ],
        "hashtags": ["#mugs"],
        "disclosure": "#ad",
    }
    assert all(c["text"].endswith("#sponsored") for c in own_disclosure["share_kit"]["captions"])
    assert unrewarded["share_kit"]["disclosure"] is None
    assert unrewarded["share_kit"]["captions"][0]["text"] == "Fired twice! #mugs"


def test_the_story_is_rendered_to_sanitised_html(content: ContentApi) -> None:
    # when a story holds raw HTML and a javascript: link
    pack = content.create_pack(
        story='<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror="x">'
    )

    # then the HTML shows the markup as text and drops the javascript: link
    html = pack["story_html"]
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert "href" not in html


def test_fans_and_partners_cannot_create_packs(content: ContentApi) -> None:
    for principal in (FAN, PARTNER, ANONYMOUS):
        response = content.call(
            "POST",
            "/v1/packs",
            principal,
            json={
                "title": "x",
                "summary": "y",
                "story": "z",
                "purpose": "LOVE",
                "destination_url": "https://shop.example.com/",
            },
        )
        assert response.status_code == 403
        assert response.json is not None
        assert response.json["error"]["code"] == "FORBIDDEN"


def test_missing_and_unknown_fields_get_422_with_field_messages(content: ContentApi) -> None:
    response = content.call("POST", "/v1/packs", json={"title": "", "colour": "red"})

    assert response.status_code == 422
    assert response.json is not None
    fields = response.json["error"]["details"]["fields"]
    assert response.json["error"]["code"] == "INVALID"
    assert {"title", "summary", "story", "purpose", "destination_url", "colour"} <= set(fields)


def test_publishing_needs_a_ready_asset(content: ContentApi) -> None:
    # given a draft with no image
    pack = content.create_pack()

    # when the marketer publishes it
    response = content.call("POST", f"/v1/packs/{pack['id']}/publish")

    # then it is refused, and no event leaves
    assert response.status_code == 409
    assert response.json is not None
    assert response.json["error"]["code"] == "NO_READY_ASSET"
    assert content.outbox_events("content.pack_published") == []


def test_publishing_emits_the_event_the_catalogue_describes(content: ContentApi) -> None:
    # given a draft with a processed image
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    pack = content.create_pack(tags=["kiln"], expires_at=expires.isoformat())
    assert content.upload(pack["id"], jpeg_bytes()).status_code == 202
    content.process_queued()

    # when the marketer publishes it
    response = content.call("POST", f"/v1/packs/{pack['id']}/publish")

    # then it is published and content.pack_published carries the documented payload
    assert response.status_code == 200
    assert response.json is not None
    assert response.json["status"] == "PUBLISHED"
    assert response.json["published_at"] is not None
    [payload] = content.outbox_events("content.pack_published")
    assert payload == {
        "pack_id": pack["id"],
        "slug": pack["slug"],
        "title": pack["title"],
        "summary": pack["summary"],
        "purpose": "LEARN",
        "destination_url": "https://shop.example.com/mugs",
        "min_tier": "FAN",
        "tags": ["kiln"],
        "expires_at": expires.isoformat(),
        "cover_url": f"http://content.test/media/packs/{pack['id']}/social-card",
        "rewarded": True,
    }


def test_status_only_moves_forward(content: ContentApi) -> None:
    # given a published pack
    pack = content.published_pack()

    # when it is published again, archived, then archived or published again
    again = content.call("POST", f"/v1/packs/{pack['id']}/publish")
    archived = content.call("POST", f"/v1/packs/{pack['id']}/archive")
    archived_again = content.call("POST", f"/v1/packs/{pack['id']}/archive")
    republished = content.call("POST", f"/v1/packs/{pack['id']}/publish")
    edited = content.call("PATCH", f"/v1/packs/{pack['id']}", json={"title": "New"})

    # then only DRAFT -> PUBLISHED -> ARCHIVED happened, each once
    assert again.status_code == 409
    assert archived.status_code == 200
    assert archived.json is not None
    assert archived.json["status"] == "ARCHIVED"
    for refused in (archived_again, republished):
        assert refused.status_code == 409
        assert refused.json is not None
        assert refused.json["error"]["code"] == "INVALID_STATUS_TRANSITION"
    assert edited.status_code == 409
    assert content.outbox_events("content.pack_archived") == [
        {"pack_id": pack["id"], "slug": pack["slug"]}
    ]
    assert len(content.outbox_events("content.pack_published")) == 1


def test_a_draft_cannot_be_archived(content: ContentApi) -> None:
    pack = content.create_pack()

    response = content.call("POST", f"/v1/packs/{pack['id']}/archive")

    assert response.status_code == 409
    assert response.json is not None
    assert response.json["error"]["code"] == "INVALID_STATUS_TRANSITION"


def test_updating_a_published_pack_emits_pack_updated(content: ContentApi) -> None:
    # given a published pack and a draft
    published = content.published_pack()
    draft = content.create_pack(title="Draft")

    # when both are edited
    first = content.call("PATCH", f"/v1/packs/{published['id']}", json={"title": "Kiln secrets"})
    second = content.call("PATCH", f"/v1/packs/{draft['id']}", json={"summary": "Later"})

    # then both change, but only the published one announces it
    assert first.status_code == 200
    assert first.json is not None
    assert first.json["title"] == "Kiln secrets"
    assert first.json["slug"] == published["slug"]
    assert second.status_code == 200
    [payload] = content.outbox_events("content.pack_updated")
    assert payload["title"] == "Kiln secrets"
    assert payload["pack_id"] == published["id"]


def test_fans_see_only_published_unexpired_packs(content: ContentApi) -> None:
    # given a draft, a published pack and a published pack that has expired
    draft = content.create_pack(title="Draft")
    live = content.published_pack(title="Live")
    expired = content.published_pack(title="Expired")
    with content.runtime.db.transaction() as session:
        session.execute(
            update(ContentPack)
            .where(ContentPack.id == int(expired["id"]))
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )

    # when a fan, an anonymous visitor and a partner list packs, and ask for each
    for principal in (FAN, ANONYMOUS, PARTNER):
        listing = content.call("GET", "/v1/packs", principal)
        assert listing.json is not None
        assert [item["id"] for item in listing.json["items"]] == [live["id"]]
        assert listing.json["total_count"] == 1
        for hidden in (draft, expired):
            response = content.call("GET", f"/v1/packs/{hidden['id']}", principal)
            assert response.status_code == 404

    # then the marketer still sees all three
    listing = content.call("GET", "/v1/packs")
    assert listing.json is not None
    assert listing.json["total_count"] == 3


def test_a_partner_without_content_read_is_refused(content: ContentApi) -> None:
    response = content.call("GET", "/v1/packs", PARTNER_WITHOUT_SCOPE)

    assert response.status_code == 403
    assert response.json is not None
    assert response.json["error"]["code"] == "MISSING_SCOPE"


def test_a_pack_above_the_fans_tier_is_locked_until_the_tier_is_reached(
    content: ContentApi,
) -> None:
    # given an insiders' pack
    pack = content.published_pack(min_tier="INSIDER", captions=[{"channel": "X", "text": "Secret"}])

    # when a FAN looks at it
    locked = content.call("GET", f"/v1/packs/{pack['id']}", FAN).json

    # then they see title, summary and a teaser only
    assert locked is not None
    assert locked["locked"] is True
    assert locked["title"] == pack["title"]
    assert locked["summary"] == pack["summary"]
    assert locked["teaser_url"]
    assert locked["story"] == ""
    assert locked["story_html"] == ""
    assert locked["assets"] == []
    assert locked["share_kit"]["captions"] == []
    assert locked["stats"] is None

    # when rewards says the fan became an INSIDER
    set_tier(content, FAN.user_id or "", "INSIDER")
    unlocked = content.call("GET", f"/v1/packs/{pack['id']}", FAN).json

    # then the whole pack opens up
    assert unlocked is not None
    assert unlocked["locked"] is False
    assert unlocked["story"] == pack["story"]
    assert len(unlocked["assets"]) == 1
    assert {r["name"] for r in unlocked["assets"][0]["renditions"]} == {
        "original",
        "story",
        "square",
        "social_card",
        "thumbnail",
    }


def test_an_older_tier_event_arriving_late_changes_nothing(content: ContentApi) -> None:
    # given a fan promoted to AMBASSADOR
    newer = Event(
        id="e2",
        type="rewards.tier_changed",
        producer="rewards",
        occurred_at="2026-11-22T12:00:00+00:00",
        payload={"fan_id": "fan-9", "old_tier": "INSIDER", "new_tier": "AMBASSADOR"},
    )
    older = Event(
        id="e1",
        type="rewards.tier_changed",
        producer="rewards",
        occurred_at="2026-11-22T11:00:00+00:00",
        payload={"fan_id": "fan-9", "old_tier": "FAN", "new_tier": "INSIDER"},
    )
    with content.runtime.db.transaction() as session:
        apply_tier_changed(session, newer)
    # when the earlier promotion arrives afterwards
    with content.runtime.db.transaction() as session:
        apply_tier_changed(session, older)

    # then the fan keeps the newer tier
    export = content.call("GET", "/v1/fans/fan-9/export", ADMIN).json
    assert export is not None
    assert export["tier"] == "AMBASSADOR"


def test_list_filters_search_and_cursor_pages(content: ContentApi) -> None:
    # given five packs with different purposes and tags
    made = [
        content.create_pack(
            title=f"Pack {n} {'kiln' if n % 2 else 'glaze'} story",
            purpose="LAUGH" if n < 2 else "LOVE",
            tags=["odd"] if n % 2 else ["even"],
        )
        for n in range(5)
    ]

    # when the marketer pages through two at a time
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        query = {"first": "2", **({"after": after} if after else {})}
        page = content.call("GET", "/v1/packs", query_string=query).json
        assert page is not None
        assert page["total_count"] == 5
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if not page["page_info"]["has_next_page"]:
            break
        after = page["page_info"]["end_cursor"]

    # then every pack came once, newest first, in three pages
    assert seen == [pack["id"] for pack in reversed(made)]
    assert pages == 3

    def ids(**query: str) -> list[str]:
        page = content.call("GET", "/v1/packs", query_string=query).json
        assert page is not None
        return sorted(item["id"] for item in page["items"])

    assert ids(purpose="laugh") == sorted(p["id"] for p in made[:2])
    assert ids(tag="odd") == sorted(p["id"] for p in made if "kiln" in p["title"])
    assert ids(search="GLAZE") == sorted(p["id"] for p in made if "glaze" in p["title"])
    assert ids(search="100%") == []
    assert ids(status="PUBLISHED") == []


def test_a_bad_cursor_or_page_size_is_a_422(content: ContentApi) -> None:
    bad_cursor = content.call("GET", "/v1/packs", query_string={"after": "!!nope"})
    too_many = content.call("GET", "/v1/packs", query_string={"first": "500"})

    assert bad_cursor.status_code == 422
    assert bad_cursor.json is not None
    assert bad_cursor.json["error"]["code"] == "BAD_CURSOR"
    assert too_many.status_code == 422


def test_batch_read_returns_the_visible_packs_among_the_ids(content: ContentApi) -> None:
    # given a published pack and a draft
    live = content.published_pack()
    draft = content.create_pack(title="Draft")

    # when the gateway batch-reads both, a missing id and garbage, as a fan
    response = content.call(
        "GET", "/v1/packs", FAN, query_string={"ids": f"{live['id']},{draft['id']},999,abc"}
    )

    # then only the visible pack comes back
    assert response.status_code == 200
    assert response.json is not None
    assert [item["id"] for item in response.json["items"]] == [live["id"]]


def test_batch_read_refuses_more_than_200_ids(content: ContentApi) -> None:
    ids = ",".join(str(n) for n in range(1, 202))

    response = content.call("GET", "/v1/packs", query_string={"ids": ids})

    assert response.status_code == 422


def test_get_by_slug(content: ContentApi) -> None:
    pack = content.published_pack(title="Kiln Tour!")

    response = content.call("GET", "/v1/packs/by-slug/kiln-tour", ANONYMOUS)
    missing = content.call("GET", "/v1/packs/by-slug/nope", ANONYMOUS)

    assert response.status_code == 200
    assert response.json is not None
    assert response.json["id"] == pack["id"]
    assert missing.status_code == 404


def test_two_packs_with_one_title_get_distinct_slugs(content: ContentApi) -> None:
    first = content.create_pack(title="Same")
    second = content.create_pack(title="Same")

    assert first["slug"] == "same"
    assert second["slug"].startswith("same-")


@pytest.mark.parametrize(
    "expires_at", [(datetime.now(UTC) - timedelta(hours=1)).isoformat(), "2026-01-01T00:00:00"]
)
def test_an_expiry_in_the_past_or_without_offset_is_refused(
    content: ContentApi, expires_at: str
) -> None:
    response = content.call(
        "POST",
        "/v1/packs",
        json={
            "title": "x",
            "summary": "y",
            "story": "z",
            "purpose": "LOVE",
            "destination_url": "https://shop.example.com/",
            "expires_at": expires_at,
        },
    )

    assert response.status_code == 422
