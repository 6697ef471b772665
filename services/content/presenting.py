"""Packs and assets as the REST API shows them, loaded in a constant number of queries."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.content import rules
from services.content.access import Viewer
from services.content.context import ContentContext
from services.content.models import Asset, Feedback, PackTag, Rendition
from services.content.pack_rows import PackRow
from services.content.rendering import render_story
from services.content.sql import id_in

SENTIMENT_KEYS = {"POSITIVE": "positive", "NEGATIVE": "negative", "IDEA": "ideas"}


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def tags_by_pack(session: Session, pack_ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(PackTag.pack_id, PackTag.tag)
        .where(id_in(session, PackTag.pack_id, pack_ids))
        .order_by(PackTag.pack_id, PackTag.tag)
    )
    for pack_id, tag in rows:
        found[pack_id].append(tag)
    return found


def cover_assets(session: Session, pack_ids: Sequence[int]) -> dict[int, int]:
    """Each pack's cover: its oldest READY asset."""
    rows = session.execute(
        select(Asset.pack_id, func.min(Asset.id))
        .where(id_in(session, Asset.pack_id, pack_ids), Asset.status == "READY")
        .group_by(Asset.pack_id)
    )
    return {int(pack_id): int(asset_id) for pack_id, asset_id in rows}


def feedback_tallies(session: Session, pack_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    tallies: dict[int, dict[str, int]] = {
        pack_id: dict.fromkeys(SENTIMENT_KEYS.values(), 0) for pack_id in pack_ids
    }
    rows = session.execute(
        select(Feedback.pack_id, Feedback.sentiment, func.count())
        .where(id_in(session, Feedback.pack_id, pack_ids))
        .group_by(Feedback.pack_id, Feedback.sentiment)
    )
    for pack_id, sentiment, count in rows:
        tallies[pack_id][SENTIMENT_KEYS[sentiment]] = int(count)
    return tallies


class RenditionRow(NamedTuple):
    """The columns of a rendition a page shows (rows, not ORM objects: a page holds hundreds)."""

    asset_id: int
    name: str
    width: int
    height: int
    content_type: str
    bytes: int
    storage_key: str


def renditions_by_asset(
    session: Session, asset_ids: Iterable[int], *, name: str | None = None
) -> dict[int, list[RenditionRow]]:
    """The renditions of ``asset_ids`` (only those called ``name`` if given), oldest first."""
    found: dict[int, list[RenditionRow]] = defaultdict(list)
    ids = list(asset_ids)
    if ids:
        query = (
            select(
                Rendition.asset_id,
                Rendition.name,
                Rendition.width,
                Rendition.height,
                Rendition.content_type,
                Rendition.bytes,
                Rendition.storage_key,
            )
            .where(id_in(session, Rendition.asset_id, ids))
            .order_by(Rendition.id)
        )
        if name is not None:
            query = query.where(Rendition.name == name)
        rows = session.execute(query)
        for row in rows:
            found[row[0]].append(RenditionRow(*row))
    return found


def _iso(moment: datetime | None) -> str | None:
    """Datetimes as the read schemas dump them (ISO 8601, UTC)."""
    return moment.isoformat() if moment is not None else None


def present_asset(
    context: ContentContext, asset: Asset, renditions: Sequence[RenditionRow]
) -> dict[str, Any]:
    """An asset as ``AssetReadSchema`` describes it, JSON-ready (the views send it as is)."""
    url_of = context.signed_urls.url
    return {
        "id": str(asset.id),
        "pack_id": str(asset.pack_id),
        "filename": asset.filename,
        "content_type": asset.content_type,
        "status": asset.status,
        "failure_code": asset.failure_code,
        "failure_message": asset.failure_message,
        "width": asset.width,
        "height": asset.height,
        "bytes": asset.bytes,
        "alt_text": asset.alt_text,
        "created_at": _iso(asset.created_at),
        "renditions": [
            {
                "name": rendition.name,
                "width": rendition.width,
                "height": rendition.height,
                "content_type": rendition.content_type,
                "bytes": rendition.bytes,
                "url": url_of(rendition.storage_key),
            }
            for rendition in renditions
        ]
        if asset.status == "READY"
        else [],
    }


def share_kit(pack: PackRow) -> dict[str, Any]:
    """Captions ready to share: hashtags added, and the disclosure when sharing is rewarded."""
    disclosure = pack.disclosure if pack.sharing_rewarded else None
    return {
        "captions": [
            {
                "channel": caption["channel"],
                "text": rules.compose_caption(caption["text"], pack.hashtags, disclosure),
            }
            for caption in pack.captions
        ],
        "hashtags": list(pack.hashtags),
        "disclosure": disclosure,
    }


def present_packs(
    session: Session,
    context: ContentContext,
    viewer: Viewer,
    packs: Sequence[PackRow],
    *,
    with_assets: bool = True,
) -> list[dict[str, Any]]:
    """Packs as ``viewer`` may see them, as ``ContentPackReadSchema`` describes them and
    JSON-ready: locked ones show title, summary and a teaser only.

    ``with_assets=False`` leaves the ``assets`` key out (``omit=assets``): no asset or
    rendition is read or signed beyond each cover's thumbnail for the teaser (which
    the pack's row already names).
    """
    if not packs:
        return []
    pack_ids = [pack.id for pack in packs]
    assets_by_pack: dict[int, list[Asset]] = defaultdict(list)
    renditions: dict[int, list[RenditionRow]] = {}
    if with_assets:
        asset_query = (
            select(Asset).where(id_in(session, Asset.pack_id, pack_ids)).order_by(Asset.id)
        )
        if not viewer.manages_content:
            asset_query = asset_query.where(Asset.status == "READY")
        for asset in session.scalars(asset_query):
            assets_by_pack[asset.pack_id].append(asset)
        renditions = renditions_by_asset(
            session, (asset.id for assets in assets_by_pack.values() for asset in assets)
        )
    tallies = feedback_tallies(session, pack_ids) if viewer.manages_content else {}
    url_of = context.signed_urls.url
    cover_url = context.cover_url

    presented = []
    for pack in packs:
        locked = not viewer.tier_reaches(pack.min_tier)
        teaser_key = pack.teaser_storage_key
        item: dict[str, Any] = {
            "id": str(pack.id),
            "slug": pack.slug,
            "title": pack.title,
            "summary": pack.summary,
            "story": pack.story,
            "story_html": render_story(pack.story),
            "purpose": pack.purpose,
            "status": pack.status,
            "min_tier": pack.min_tier,
            "locked": locked,
            "tags": pack.tags,
            "destination_url": pack.destination_url,
            "captions": pack.captions,
            "hashtags": pack.hashtags,
            "sharing_rewarded": pack.sharing_rewarded,
            "disclosure": pack.disclosure,
            "share_kit": share_kit(pack),
            "cover_url": cover_url(pack.id) if pack.cover_asset_id is not None else None,
            "teaser_url": url_of(teaser_key) if teaser_key is not None else None,
            "published_at": _iso(pack.published_at),
            "expires_at": _iso(pack.expires_at),
            "created_at": _iso(pack.created_at),
            "updated_at": _iso(pack.updated_at),
            "stats": {"feedback": tallies[pack.id]} if viewer.manages_content else None,
        }
        if with_assets:
            item["assets"] = [
                present_asset(context, asset, renditions.get(asset.id, []))
                for asset in assets_by_pack.get(pack.id, [])
            ]
        if locked:
            # Social currency: the fan sees that it exists, not what it holds.
            item.update(
                story="",
                story_html="",
                destination_url="",
                captions=[],
                hashtags=[],
                share_kit={"captions": [], "hashtags": [], "disclosure": None},
            )
            if with_assets:
                item["assets"] = []
        presented.append(item)
    return presented
