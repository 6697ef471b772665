"""Assets: accept uploads after header checks, and turn them into renditions in the worker."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common.errors import Conflict, InvalidInput, NotFound, ServiceError
from services.common.sql import dialect_insert
from services.common.utc_time import utcnow
from services.content import presenting
from services.content.access import Viewer
from services.content.context import ContentContext
from services.content.imaging import CONTENT_TYPES
from services.content.interfaces import (
    DirectUploadUnsupported,
    ImageRejected,
    ObjectNotFound,
)
from services.content.models import Asset, ContentPack, Rendition

log = logging.getLogger(__name__)

# The Celery name of the processing task, as dead letters record it.
PROCESS_ASSET_TASK = "content.process_asset"

# A direct upload may be completed this long after its POST policy expired.
COMPLETE_GRACE_SECONDS = 3600


class FileTooLarge(ServiceError):
    status = 413
    code = "FILE_TOO_LARGE"


def too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(
        f"The file is larger than the {limit:,} bytes accepted; make it smaller and re-upload.",
        details={"max_bytes": limit},
    )


def _image_error(rejection: ImageRejected) -> ServiceError:
    return ServiceError(rejection.message, code=rejection.code, status=rejection.status)


def _writable_pack(session: Session, pack_id: int) -> ContentPack:
    pack = session.get(ContentPack, pack_id)
    if pack is None:
        raise NotFound(f"No content pack {pack_id}.", code="PACK_NOT_FOUND")
    if pack.status == "ARCHIVED":
        raise Conflict("An archived pack takes no new images.", code="PACK_ARCHIVED")
    return pack


def upload_asset(
    *,
    context: ContentContext,
    viewer: Viewer,
    pack_id: int,
    filename: str,
    data: bytes,
    alt_text: str | None,
) -> dict[str, Any]:
    """Check the file from its header, store it, record a PROCESSING asset, queue the work."""
    viewer.require_manager()
    limit = context.settings.max_upload_bytes
    if len(data) > limit:
        raise too_large(limit)
    if not data:
        raise InvalidInput("The file is empty.", code="EMPTY_FILE", details={"field": "file"})
    with context.db.transaction() as session:
        _writable_pack(session, pack_id)
    try:
        info = context.images.inspect(data)
    except ImageRejected as rejection:
        raise _image_error(rejection) from rejection
    upload_key = f"uploads/{hashlib.sha256(data).hexdigest()}/{uuid.uuid4().hex}"
    context.storage.put(upload_key, data, content_type=info.content_type)
    return _record_asset(
        context=context,
        viewer=viewer,
        pack_id=pack_id,
        filename=filename,
        content_type=info.content_type,
        size=len(data),
        dimensions=(info.width, info.height),
        upload_key=upload_key,
        alt_text=alt_text,
    )


def _record_asset(
    *,
    context: ContentContext,
    viewer: Viewer,
    pack_id: int,
    filename: str,
    content_type: str,
    size: int,
    dimensions: tuple[int, int],
    upload_key: str,
    alt_text: str | None,
) -> dict[str, Any]:
    """Insert the asset once per upload key (a repeated call finds the first), then queue it."""
    now = utcnow()
    with context.db.transaction() as session:
        _writable_pack(session, pack_id)
        inserted = session.execute(
            dialect_insert(session, Asset.__table__)  # type: ignore[arg-type]
            .values(
                pack_id=pack_id,
                filename=filename[:255] or "upload",
                content_type=content_type,
                status="PROCESSING",
                width=dimensions[0],
                height=dimensions[1],
                bytes=size,
                alt_text=alt_text,
                upload_key=upload_key,
                attempts=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["upload_key"])
            .returning(Asset.__table__.c.id)
        ).first()
        asset = session.scalar(select(Asset).where(Asset.upload_key == upload_key))
        assert asset is not None
        if asset.pack_id != pack_id:
            raise Conflict("This upload belongs to another pack.", code="UPLOAD_MISMATCH")
        presented = presenting.present_asset(context, asset, [])
    if inserted is not None:
        _enqueue(context, asset.id)
    return presented


def _enqueue(context: ContentContext, asset_id: int) -> None:
    try:
        context.enqueue_processing(asset_id)
    except Exception as exc:
        # The asset is saved; the periodic sweep queues it again once the broker is back.
        log.warning("could not queue asset %s for processing: %s", asset_id, exc)


def get_asset(*, context: ContentContext, viewer: Viewer, asset_id: int) -> dict[str, Any]:
    viewer.require_manager()
    with context.db.reading() as session:
        asset = session.get(Asset, asset_id)
        if asset is None:
            raise NotFound(f"No asset {asset_id}.", code="ASSET_NOT_FOUND")
        renditions = presenting.renditions_by_asset(session, [asset.id]).get(asset.id, [])
        return presenting.present_asset(context, asset, renditions)


def create_direct_upload(
    *,
    context: ContentContext,
    viewer: Viewer,
    pack_id: int,
    filename: str,
    content_type: str,
) -> dict[str, Any]:
    """A presigned POST to storage (size and type in its policy) and a token to complete it."""
    viewer.require_manager()
    if content_type not in CONTENT_TYPES.values():
        raise ServiceError(
            "Direct uploads take image/jpeg, image/png, image/webp or image/gif.",
            code="UNSUPPORTED_MEDIA_TYPE",
            status=415,
        )
    with context.db.transaction() as session:
        _writable_pack(session, pack_id)
    settings = context.settings
    key = f"uploads/direct/{uuid.uuid4().hex}"
    try:
        post = context.storage.presigned_post(
            key,
            content_type=content_type,
            max_bytes=settings.max_upload_bytes,
            expires_in=settings.direct_upload_ttl_seconds,
        )
    except DirectUploadUnsupported as exc:
        raise Conflict(str(exc), code="DIRECT_UPLOAD_UNAVAILABLE") from exc
    expires_at = int(time.time()) + settings.direct_upload_ttl_seconds
    claims = {"pack": pack_id, "key": key, "name": filename[:255], "exp": expires_at}
    return {
        "url": post.url,
        "fields": post.fields,
        "upload_token": _sign_token(context, claims),
        "max_bytes": settings.max_upload_bytes,
        "expires_at": utcnow() + timedelta(seconds=settings.direct_upload_ttl_seconds),
    }


def complete_direct_upload(
    *,
    context: ContentContext,
    viewer: Viewer,
    pack_id: int,
    upload_token: str,
    alt_text: str | None,
) -> dict[str, Any]:
    """Check the file the browser posted, as an upload would be, and start its processing."""
    viewer.require_manager()
    claims = _read_token(context, upload_token)
    if claims["pack"] != pack_id:
        raise Conflict("This upload token is for another pack.", code="UPLOAD_MISMATCH")
    key = str(claims["key"])
    limit = context.settings.max_upload_bytes
    try:
        stored = context.storage.head(key)
        if stored.size > limit:
            context.storage.delete(key)
            raise too_large(limit)
        data = context.storage.get(key)
    except ObjectNotFound as exc:
        raise Conflict(
            "Nothing was uploaded with this token yet; post the file first.",
            code="UPLOAD_MISSING",
        ) from exc
    try:
        info = context.images.inspect(data)
    except ImageRejected as rejection:
        context.storage.delete(key)
        raise _image_error(rejection) from rejection
    return _record_asset(
        context=context,
        viewer=viewer,
        pack_id=pack_id,
        filename=str(claims["name"]),
        content_type=info.content_type,
        size=len(data),
        dimensions=(info.width, info.height),
        upload_key=key,
        alt_text=alt_text,
    )


def _sign_token(context: ContentContext, claims: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True).encode()).decode()
    return f"{body}.{context.signer.sign('direct-upload:' + body, int(claims['exp']))}"


def _read_token(context: ContentContext, token: str) -> dict[str, Any]:
    invalid = InvalidInput(
        "The upload token is not valid; ask for a new direct upload.",
        code="UPLOAD_TOKEN_INVALID",
        details={"field": "upload_token"},
    )
    body, _, signature = token.partition(".")
    try:
        claims = json.loads(base64.urlsafe_b64decode(body.encode()))
        expires_at = int(claims["exp"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise invalid from exc
    if not context.signer.verify(
        "direct-upload:" + body,
        expires_at,
        signature,
        now=time.time() - COMPLETE_GRACE_SECONDS,
    ):
        raise invalid
    return dict(claims)


# -- processing, in the worker ------------------------------------------------------


def process_asset(*, context: ContentContext, asset_id: int) -> str:
    """Make every rendition of a PROCESSING asset; skip one already READY or FAILED.

    Rendition objects live under content-hashed keys and rows are inserted
    once per (asset, name), so a second run writes the same bytes to the same
    keys and changes nothing else.
    """
    now = utcnow()
    with context.db.transaction() as session:
        claimed = session.execute(
            update(Asset)
            .where(Asset.id == asset_id, Asset.status == "PROCESSING")
            .values(attempts=Asset.attempts + 1, updated_at=now)
            .returning(Asset.attempts, Asset.upload_key)
        ).first()
    if claimed is None:
        return "skipped"
    attempts, upload_key = claimed
    if attempts > context.settings.asset_task_max_attempts:
        # Every earlier delivery ended without a verdict (worker killed, hard
        # time limit, task lost): stop here rather than loop on a poisonous file.
        dead_letter_processing(
            context=context,
            asset_id=asset_id,
            error=f"delivered {attempts} times without finishing; the worker died or was killed",
            attempts=attempts - 1,
        )
        fail_asset(
            context=context,
            asset_id=asset_id,
            code="PROCESSING_ABORTED",
            message="Processing stopped after repeated failures; upload the image again.",
        )
        return "aborted"
    data = context.storage.get(upload_key)
    try:
        rendered = context.images.render(data)
    except ImageRejected as rejection:
        fail_asset(
            context=context, asset_id=asset_id, code=rejection.code, message=rejection.message
        )
        return "failed"
    rows = []
    for image in rendered:
        key = f"renditions/{hashlib.sha256(image.data).hexdigest()}.{image.extension}"
        context.storage.put(key, image.data, content_type=image.content_type)
        rows.append(
            {
                "asset_id": asset_id,
                "name": image.name,
                "width": image.width,
                "height": image.height,
                "content_type": image.content_type,
                "bytes": len(image.data),
                "storage_key": key,
            }
        )
    with context.db.transaction() as session:
        session.execute(
            dialect_insert(session, Rendition.__table__)  # type: ignore[arg-type]
            .values(rows)
            .on_conflict_do_nothing(index_elements=["asset_id", "name"])
        )
        session.execute(
            update(Asset)
            .where(Asset.id == asset_id, Asset.status == "PROCESSING")
            .values(status="READY", updated_at=utcnow())
        )
    return "ready"


def dead_letter_processing(
    *, context: ContentContext, asset_id: int, error: str, attempts: int
) -> None:
    """Park an asset's processing in ``dead_letters`` (kind ``task``), once per asset."""
    context.consumer.dead_letter(
        context.db,
        kind="task",
        name=PROCESS_ASSET_TASK,
        reference=f"asset:{asset_id}",
        payload={"asset_id": asset_id},
        error=error,
        attempts=attempts,
    )


def fail_asset(*, context: ContentContext, asset_id: int, code: str, message: str) -> None:
    """PROCESSING -> FAILED with a stable code the marketer can act on."""
    with context.db.transaction() as session:
        session.execute(
            update(Asset)
            .where(Asset.id == asset_id, Asset.status == "PROCESSING")
            .values(
                status="FAILED",
                failure_code=code[:50],
                failure_message=message[:500],
                updated_at=utcnow(),
            )
        )


def claim_stuck_assets(*, context: ContentContext, limit: int = 500) -> list[int]:
    """Assets left PROCESSING past the stuck threshold (lost task, broker outage), claimed.

    The claim moves their ``updated_at`` to now in the same statement, so each
    stuck asset is queued again once per threshold, not on every sweep, and
    two sweeps never both take it.
    """
    now = utcnow()
    threshold = now - timedelta(seconds=context.settings.asset_stuck_after_seconds)
    stuck = (
        select(Asset.id)
        .where(Asset.status == "PROCESSING", Asset.updated_at < threshold)
        .order_by(Asset.id)
        .limit(limit)
        .scalar_subquery()
    )
    with context.db.transaction() as session:
        claimed = session.scalars(
            update(Asset)
            .where(Asset.id.in_(stuck), Asset.status == "PROCESSING", Asset.updated_at < threshold)
            .values(updated_at=now)
            .returning(Asset.id)
        )
        return sorted(claimed)
