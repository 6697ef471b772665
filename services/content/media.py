"""Public media endpoints: signed local files, and the stable social-card URL of a pack."""

from __future__ import annotations

import time

from flask import Blueprint, redirect, request, send_file
from sqlalchemy import or_, select
from werkzeug.wrappers import Response

from services.common.errors import Forbidden, NotFound
from services.common.internal_auth import public
from services.common.utc_time import utcnow
from services.content.apidoc import api_doc
from services.content.interfaces import ObjectNotFound
from services.content.models import Asset, ContentPack, Rendition
from services.content.schemas import SignedMediaQuerySchema
from services.content.storage import LOCAL_MEDIA_PATH, LocalStorage
from services.content.views import content_context

media = Blueprint("content_media", __name__, url_prefix="/media")

SOCIAL_CARD_REDIRECT_MAX_AGE = 300


def _hardened(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    # An image opened directly must never run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@media.get("/files/<path:key>")
@public
@api_doc(
    summary="A stored rendition, by a signed, expiring URL (local storage only)",
    query=SignedMediaQuerySchema,
    errors=(403, 404, 422),
    public=True,
    raw_response={"content": {"image/jpeg": {}, "image/png": {}}},
)
def signed_file(key: str) -> Response:
    query = SignedMediaQuerySchema().load(request.args)
    context = content_context()
    storage = context.storage
    if not isinstance(storage, LocalStorage):
        raise NotFound("Files are served by the object store.", code="NOT_FOUND")
    if not context.signer.verify(LOCAL_MEDIA_PATH + key, query["expires"], query["sig"]):
        raise Forbidden(
            "This media link is invalid or has expired; reload the page for a new one.",
            code="MEDIA_LINK_INVALID",
        )
    try:
        stored = storage.head(key)
        path = storage.path_of(key)
    except ObjectNotFound as exc:
        raise NotFound("No such file.", code="NOT_FOUND") from exc
    remaining = max(0, query["expires"] - int(time.time()))
    response = send_file(path, mimetype=stored.content_type, max_age=remaining, conditional=True)
    response.cache_control.private = True
    return _hardened(response)


@media.get("/packs/<int:pack_id>/social-card")
@public
@api_doc(
    summary="302 to a freshly signed URL of a published pack's social card (cover_url)",
    errors=(404,),
    public=True,
    raw_response={"status": 302},
)
def social_card(pack_id: int) -> Response:
    context = content_context()
    with context.db.reading() as session:
        key = session.scalar(
            select(Rendition.storage_key)
            .join(Asset, Asset.id == Rendition.asset_id)
            .join(ContentPack, ContentPack.id == Asset.pack_id)
            .where(
                ContentPack.id == pack_id,
                ContentPack.status == "PUBLISHED",
                or_(ContentPack.expires_at.is_(None), ContentPack.expires_at > utcnow()),
                Asset.status == "READY",
                Rendition.name == "social_card",
            )
            .order_by(Asset.id)
            .limit(1)
        )
    if key is None:
        raise NotFound("This pack has no published social card.", code="NOT_FOUND")
    ttl = context.settings.signed_url_ttl_seconds
    response = redirect(context.storage.signed_url(key, expires_in=ttl), code=302)
    # Shorter than the signed URL's life, so a cached redirect never points at an expired one.
    response.cache_control.public = True
    response.cache_control.max_age = min(SOCIAL_CARD_REDIRECT_MAX_AGE, ttl // 2)
    return _hardened(response)
