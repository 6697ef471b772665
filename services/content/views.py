"""REST views of the content service: schema in, one domain call, schema out."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from services.common.errors import InvalidInput
from services.common.internal_auth import current_principal
from services.content import assets, fans, feedback, packs
from services.content.access import Viewer
from services.content.apidoc import api_doc
from services.content.context import ContentContext
from services.content.schemas import (
    AssetReadSchema,
    AssetUploadFormSchema,
    ContentPackBatchSchema,
    ContentPackCreateSchema,
    ContentPackListQuerySchema,
    ContentPackPageSchema,
    ContentPackReadSchema,
    ContentPackUpdateSchema,
    DirectUploadCompleteSchema,
    DirectUploadCreateSchema,
    DirectUploadReadSchema,
    FanErasureSchema,
    FanExportSchema,
    FeedbackCreateSchema,
    FeedbackPageSchema,
    FeedbackReadSchema,
    PageQuerySchema,
    parse_ids,
)

api = Blueprint("content_api", __name__, url_prefix="/v1")

# Built once: the pack list is the hot path, and a schema's construction costs more than its load.
LIST_QUERY_SCHEMA = ContentPackListQuerySchema()
# Room for the multipart boundaries and the small text fields beside the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def content_context() -> ContentContext:
    context: ContentContext = current_app.extensions["content"]
    return context


def current_reader() -> Viewer:
    """The caller as pack reads take them: those read a fan's tier themselves, in their
    own transaction (one transaction per read of a page, not two)."""
    principal = current_principal()
    return Viewer(role=principal.role, user_id=principal.user_id, scopes=principal.scopes)


def current_viewer() -> Viewer:
    """The caller as the content domain sees them, with the fan's tier from fan_tiers."""
    viewer = current_reader()
    if viewer.fan_id is None:
        return viewer
    with content_context().db.reading() as session:
        return fans.with_tier(session, viewer)


def _json_body() -> Any:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            "Send a JSON object with Content-Type: application/json.", code="INVALID_JSON"
        )
    return body


def _respond(schema: Any, payload: Any, status: int = 200) -> Response:
    response = jsonify(schema.dump(payload))
    response.status_code = status
    return response


def _respond_presented(schema: Any, payload: Any, status: int = 200) -> Response:
    """Send what the presenting module built, already JSON-ready, without dumping it again.

    Packs and assets are the hot path (a page of 50 packs is 300 renditions); the
    presenter builds exactly what ``schema`` dumps, and tests/content check it
    against the schema, so the OpenAPI document still describes it.
    """
    del schema  # named for the reader and the documentation, not used at run time
    # orjson: a tenth of the standard library's time on a page of packs. Same JSON
    # value (keys in the presenter's order, as the app's provider keeps them); text
    # beyond ASCII is sent as UTF-8 rather than as \u escapes.
    return Response(orjson.dumps(payload), status=status, mimetype="application/json")


@api.get("/packs")
@api_doc(
    summary="List packs (cursor pages, filters) or batch-read them with ?ids=",
    query=ContentPackListQuerySchema,
    response=ContentPackPageSchema,
    errors=(403, 422),
)
def list_packs() -> Response:
    query = LIST_QUERY_SCHEMA.load(request.args)
    with_assets = query["omit"] != "assets"
    if query["ids"] is not None:
        items = packs.get_packs_by_ids(
            context=content_context(),
            viewer=current_reader(),
            ids=parse_ids(query["ids"]),
            with_assets=with_assets,
        )
        return _respond_presented(ContentPackBatchSchema, {"items": items})
    page = packs.list_packs(
        context=content_context(),
        viewer=current_reader(),
        pack_filter=packs.PackFilter(
            status=query["status"],
            purpose=query["purpose"],
            tag=query["tag"],
            search=query["search"],
        ),
        first=query["first"],
        after=query["after"],
        with_assets=with_assets,
    )
    return _respond_presented(ContentPackPageSchema, page)


@api.post("/packs")
@api_doc(
    summary="Create a DRAFT pack (marketers)",
    body=ContentPackCreateSchema,
    response=ContentPackReadSchema,
    status=201,
    errors=(403, 422),
)
def create_pack() -> Response:
    data = ContentPackCreateSchema().load(_json_body())
    pack = packs.create_pack(context=content_context(), viewer=current_viewer(), data=data)
    return _respond_presented(ContentPackReadSchema, pack, 201)


@api.get("/packs/<int:pack_id>")
@api_doc(summary="One pack by id", response=ContentPackReadSchema, errors=(403, 404))
def get_pack(pack_id: int) -> Response:
    pack = packs.get_pack(context=content_context(), viewer=current_reader(), pack_id=pack_id)
    return _respond_presented(ContentPackReadSchema, pack)


@api.get("/packs/by-slug/<string:slug>")
@api_doc(summary="One pack by slug", response=ContentPackReadSchema, errors=(403, 404))
def get_pack_by_slug(slug: str) -> Response:
    pack = packs.get_pack(context=content_context(), viewer=current_reader(), slug=slug)
    return _respond_presented(ContentPackReadSchema, pack)


@api.patch("/packs/<int:pack_id>")
@api_doc(
    summary="Change a pack's fields (marketers); a published pack emits content.pack_updated",
    body=ContentPackUpdateSchema,
    response=ContentPackReadSchema,
    errors=(403, 404, 409, 422),
)
def update_pack(pack_id: int) -> Response:
    data = ContentPackUpdateSchema().load(_json_body())
    pack = packs.update_pack(
        context=content_context(), viewer=current_viewer(), pack_id=pack_id, data=data
    )
    return _respond_presented(ContentPackReadSchema, pack)


@api.post("/packs/<int:pack_id>/publish")
@api_doc(
    summary="DRAFT -> PUBLISHED (needs a READY asset); emits content.pack_published",
    response=ContentPackReadSchema,
    errors=(403, 404, 409),
)
def publish_pack(pack_id: int) -> Response:
    pack = packs.publish_pack(context=content_context(), viewer=current_viewer(), pack_id=pack_id)
    return _respond_presented(ContentPackReadSchema, pack)


@api.post("/packs/<int:pack_id>/archive")
@api_doc(
    summary="PUBLISHED -> ARCHIVED; emits content.pack_archived",
    response=ContentPackReadSchema,
    errors=(403, 404, 409),
)
def archive_pack(pack_id: int) -> Response:
    pack = packs.archive_pack(context=content_context(), viewer=current_viewer(), pack_id=pack_id)
    return _respond_presented(ContentPackReadSchema, pack)


@api.post("/packs/<int:pack_id>/assets")
@api_doc(
    summary="Upload an image (multipart part 'file'); processed in the worker",
    multipart=AssetUploadFormSchema,
    response=AssetReadSchema,
    status=202,
    errors=(403, 404, 409, 413, 415, 422),
)
def upload_asset(pack_id: int) -> Response:
    context = content_context()
    viewer = current_viewer()
    viewer.require_manager()  # before the body is read, not after
    limit = context.settings.max_upload_bytes
    # Werkzeug refuses a larger Content-Length before reading, and stops a
    # chunked body as soon as it passes the limit.
    request.max_content_length = limit + MULTIPART_OVERHEAD_BYTES
    try:
        upload = request.files.get("file")
        form = AssetUploadFormSchema().load(request.form.to_dict())
    except RequestEntityTooLarge as exc:
        raise assets.too_large(limit) from exc
    if upload is None:
        raise InvalidInput(
            "Send the image as the multipart part named 'file'.",
            code="FILE_MISSING",
            details={"field": "file"},
        )
    data = upload.stream.read(limit + 1)
    asset = assets.upload_asset(
        context=context,
        viewer=viewer,
        pack_id=pack_id,
        filename=upload.filename or "upload",
        data=data,
        alt_text=form["alt_text"],
    )
    return _respond_presented(AssetReadSchema, asset, 202)


@api.post("/packs/<int:pack_id>/direct-uploads")
@api_doc(
    summary="A presigned POST straight to S3 (size and type in its policy, 15 minutes)",
    body=DirectUploadCreateSchema,
    response=DirectUploadReadSchema,
    status=201,
    errors=(403, 404, 409, 415, 422),
)
def create_direct_upload(pack_id: int) -> Response:
    data = DirectUploadCreateSchema().load(_json_body())
    upload = assets.create_direct_upload(
        context=content_context(), viewer=current_viewer(), pack_id=pack_id, **data
    )
    return _respond(DirectUploadReadSchema(), upload, 201)


@api.post("/packs/<int:pack_id>/direct-uploads/complete")
@api_doc(
    summary="Check a directly uploaded file and start its processing (idempotent)",
    body=DirectUploadCompleteSchema,
    response=AssetReadSchema,
    status=202,
    errors=(403, 404, 409, 413, 415, 422),
)
def complete_direct_upload(pack_id: int) -> Response:
    data = DirectUploadCompleteSchema().load(_json_body())
    asset = assets.complete_direct_upload(
        context=content_context(), viewer=current_viewer(), pack_id=pack_id, **data
    )
    return _respond_presented(AssetReadSchema, asset, 202)


@api.get("/assets/<int:asset_id>")
@api_doc(summary="One asset with its renditions (marketers)", response=AssetReadSchema)
def get_asset(asset_id: int) -> Response:
    asset = assets.get_asset(context=content_context(), viewer=current_viewer(), asset_id=asset_id)
    return _respond_presented(AssetReadSchema, asset)


@api.put("/packs/<int:pack_id>/feedback")
@api_doc(
    summary="A fan's feedback; replaces their earlier one of the same sentiment",
    body=FeedbackCreateSchema,
    response=FeedbackReadSchema,
    errors=(403, 404, 422),
)
def leave_feedback(pack_id: int) -> Response:
    data = FeedbackCreateSchema().load(_json_body())
    row = feedback.leave_feedback(
        context=content_context(), viewer=current_viewer(), pack_id=pack_id, **data
    )
    return _respond(FeedbackReadSchema(), row)


@api.get("/packs/<int:pack_id>/feedback")
@api_doc(
    summary="A pack's feedback, newest first, with the tally (marketers)",
    query=PageQuerySchema,
    response=FeedbackPageSchema,
    errors=(403, 404, 422),
)
def list_feedback(pack_id: int) -> Response:
    query = PageQuerySchema().load(request.args)
    page = feedback.list_feedback(
        context=content_context(), viewer=current_viewer(), pack_id=pack_id, **query
    )
    return _respond(FeedbackPageSchema(), page)


@api.get("/fans/<string:fan_id>/export")
@api_doc(summary="Everything content holds about a fan", response=FanExportSchema)
def export_fan(fan_id: str) -> Response:
    data = fans.export_fan(context=content_context(), viewer=current_viewer(), fan_id=fan_id)
    return _respond(FanExportSchema(), data)


@api.delete("/fans/<string:fan_id>")
@api_doc(summary="Erase a fan: feedback kept anonymously", response=FanErasureSchema)
def erase_fan(fan_id: str) -> Response:
    data = fans.erase_fan(context=content_context(), viewer=current_viewer(), fan_id=fan_id)
    return _respond(FanErasureSchema(), data)
