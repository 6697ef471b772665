"""Pack answers against a plain reference: every list, batch and single read sends exactly
what the ORM objects dumped with the read schema would give, for a catalogue that holds
every kind of field (the fast read path must never change what callers receive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from services.common.internal_auth import Principal
from services.content.models import Asset, ContentPack, Feedback, PackTag, Rendition
from services.content.rendering import render_story
from services.content.rules import compose_caption
from services.content.schemas import ContentPackReadSchema
from tests.content.conftest import FAN, MARKETER, ContentApi, jpeg_bytes, png_bytes

FAN_TIERS_REACHED = {"FAN"}


def reference_pack(
    content: ContentApi, pack_id: str, principal: Principal, *, with_assets: bool
) -> dict[str, Any]:
    """The pack as the read schema dumps it from ORM objects, loaded one by one."""
    manager = principal.role in {"marketer", "admin"}
    with content.runtime.db.transaction() as session:
        pack = session.get(ContentPack, int(pack_id))
        assert pack is not None
        tags = sorted(session.scalars(select(PackTag.tag).where(PackTag.pack_id == pack.id)))
        assets = list(
            session.scalars(select(Asset).where(Asset.pack_id == pack.id).order_by(Asset.id))
        )
        renditions = {
            asset.id: list(
                session.scalars(
                    select(Rendition).where(Rendition.asset_id == asset.id).order_by(Rendition.id)
                )
            )
            for asset in assets
        }
        sentiments = list(
            session.scalars(select(Feedback.sentiment).where(Feedback.pack_id == pack.id))
        )
        tally = {
            "positive": sentiments.count("POSITIVE"),
            "negative": sentiments.count("NEGATIVE"),
            "ideas": sentiments.count("IDEA"),
        }
    url = content.context.signed_urls.url
    ready = [asset for asset in assets if asset.status == "READY"]
    cover = ready[0] if ready else None
    teaser = (
        next(
            (url(r.storage_key) for r in renditions.get(cover.id, []) if r.name == "thumbnail"),
            None,
        )
        if cover
        else None
    )
    locked = not manager and pack.min_tier not in FAN_TIERS_REACHED
    disclosure = pack.disclosure if pack.sharing_rewarded else None
    shown_assets = assets if manager else ready
    fields: dict[str, Any] = {
        "id": str(pack.id),
        "slug": pack.slug,
        "title": pack.title,
        "summary": pack.summary,
        "story": "" if locked else pack.story,
        "story_html": "" if locked else render_story(pack.story),
        "purpose": pack.purpose,
        "status": pack.status,
        "min_tier": pack.min_tier,
        "locked": locked,
        "tags": tags,
        "destination_url": "" if locked else pack.destination_url,
        "captions": [] if locked else pack.captions,
        "hashtags": [] if locked else pack.hashtags,
        "sharing_rewarded": pack.sharing_rewarded,
        "disclosure": pack.disclosure,
        "share_kit": {"captions": [], "hashtags": [], "disclosure": None}
        if locked
        else {
            "captions": [
                {
                    "channel": c["channel"],
                    "text": compose_caption(c["text"], pack.hashtags, disclosure),
                }
                for c in pack.captions
            ],
            "hashtags": pack.hashtags,
            "disclosure": disclosure,
        },
        "cover_url": content.context.cover_url(pack.id) if cover else None,
        "teaser_url": teaser,
        "published_at": pack.published_at,
        "expires_at": pack.expires_at,
        "created_at": pack.created_at,
        "updated_at": pack.updated_at,
        "stats": {"feedback": tally} if manager else None,
    }
    for name in ("published_at", "expires_at", "created_at", "updated_at"):
        moment = fields[name]
        if moment is not None and moment.tzinfo is None:
            fields[name] = moment.replace(tzinfo=UTC)
    if with_assets:
        fields["assets"] = (
            []
            if locked
            else [
                {
                    **{
                        key: getattr(asset, key)
                        for key in (
                            "filename",
                            "content_type",
                            "status",
                            "failure_code",
                            "failure_message",
                            "width",
                            "height",
                            "bytes",
                            "alt_text",
                        )
                    },
                    "id": str(asset.id),
                    "pack_id": str(asset.pack_id),
                    "created_at": asset.created_at
                    if asset.created_at.tzinfo
                    else asset.created_at.replace(tzinfo=UTC),
                    "renditions": [
                        {
                            "name": r.name,
                            "width": r.width,
                            "height": r.height,
                            "content_type": r.content_type,
                            "bytes": r.bytes,
                            "url": url(r.storage_key),
                        }
                        for r in renditions[asset.id]
                    ]
                    if asset.status == "READY"
                    else [],
                }
                for asset in shown_assets
            ]
        )
    return dict(ContentPackReadSchema().dump(fields))


def a_rich_catalogue(content: ContentApi) -> list[str]:
    """Packs holding every kind of field: non-ASCII text, several tags, captions and
    assets (a PNG, a JPEG, one still processing), feedback, an expiry, a locked pack,
    an unrewarded draft without assets. Newest first, as lists show them."""
    rich = content.create_pack(
        title="Café crème — 日本の窯 ☕",
        summary='Quotes " and \\ backslashes, <tags> & emoji 🎉',
        story="# Kiln\n\nWe fire them **twice**; see [the shop](https://shop.example.com).",
        tags=["kiln", "behind-the-scenes", "mugs_2026"],
        hashtags=["MugLife", "#Café"],
        captions=[
            {"channel": "X", "text": "Fired twice! ☕"},
            {"channel": "LINKEDIN", "text": "How we test mugs — 日本"},
        ],
        disclosure="#werbung",
        expires_at=(datetime.now(UTC) + timedelta(days=30)).isoformat(),
    )
    assert content.upload(rich["id"], png_bytes((80, 60)), "a.png").status_code == 202
    assert content.upload(rich["id"], jpeg_bytes((90, 70)), alt_text="Ofen").status_code == 202
    content.process_queued()
    assert content.call("POST", f"/v1/packs/{rich['id']}/publish").status_code == 200
    feedback = {"sentiment": "IDEA", "text": "Mehr Glasur"}
    assert (
        content.call("PUT", f"/v1/packs/{rich['id']}/feedback", FAN, json=feedback).status_code
        == 200
    )
    locked = content.published_pack(title="For insiders", min_tier="INSIDER", tags=["vip"])
    # Still processing: managers see it without renditions, fans do not see it.
    assert content.upload(rich["id"], jpeg_bytes((60, 40))).status_code == 202
    draft = content.create_pack(title="Draft, unrewarded", sharing_rewarded=False)
    return [draft["id"], locked["id"], rich["id"]]


def test_every_read_sends_what_the_schema_dumps_from_the_stored_pack(content: ContentApi) -> None:
    # given a catalogue with every kind of field
    ids = a_rich_catalogue(content)

    for principal in (FAN, MARKETER):
        visible = ids if principal is MARKETER else ids[1:]
        for omit in ({}, {"omit": "assets"}):
            expected = [
                reference_pack(content, pack_id, principal, with_assets=not omit)
                for pack_id in visible
            ]
            # when the caller lists and batch-reads the packs
            response = content.call("GET", "/v1/packs", principal, query_string=omit)
            listed = response.get_json()
            batch = content.call(
                "GET", "/v1/packs", principal, query_string={"ids": ",".join(ids), **omit}
            ).get_json()

            # then each answer is the reference, field for field
            assert response.status_code == 200
            assert response.mimetype == "application/json"
            assert listed["items"] == expected
            assert listed["total_count"] == len(visible)
            by_id = {item["id"]: item for item in batch["items"]}
            assert [by_id[item["id"]] for item in expected] == expected
            assert len(by_id) == len(expected)
        # and each pack read alone, by id and by slug, is its reference with assets
        for pack_id in visible:
            reference = reference_pack(content, pack_id, principal, with_assets=True)
            one = content.call("GET", f"/v1/packs/{pack_id}", principal)
            by_slug = content.call("GET", f"/v1/packs/by-slug/{reference['slug']}", principal)
            assert one.get_json() == reference
            assert by_slug.get_json() == reference
