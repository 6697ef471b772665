# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The content fields of Query and Mutation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import graphene
from graphql import GraphQLResolveInfo

from gateway.content import dataloaders as content_loaders
from gateway.content.mutations.archive_content_pack import ArchiveContentPack
from gateway.content.mutations.complete_asset_upload import CompleteAssetUpload
from gateway.content.mutations.create_asset_upload import CreateAssetUpload
from gateway.content.mutations.create_content_pack import CreateContentPack
from gateway.content.mutations.leave_feedback import LeaveFeedback
from gateway.content.mutations.publish_content_pack import PublishContentPack
from gateway.content.mutations.update_content_pack import UpdateContentPack
from gateway.content.mutations.upload_asset import UploadAsset
from gateway.content.types import ContentPack, ContentPackConnection, ContentPackFilter
from gateway.core.context import context_of
from gateway.core.errors import BadUserInput
from gateway.core.ids import raw_id_of
from gateway.core.inputs import to_json
from gateway.core.loaders import resolved, then
from gateway.core.pagination import connection_from_page, page_window
from gateway.core.permissions import CONTENT_READ, SIGNED_IN_USER, requires
from gateway.core.selections import selects
from gateway.interfaces import BackendError

READERS = (SIGNED_IN_USER, CONTENT_READ)


class ContentQueries(graphene.ObjectType):
    content_packs = graphene.Field(
        ContentPackConnection,
        required=True,
        first=graphene.Int(description="How many packs (at most 100; 20 if omitted)."),
        after=graphene.String(description="The `endCursor` of the previous page."),
        filter=ContentPackFilter(description="Which packs to list."),
        description="Fans and partners see published packs only; marketers see all.",
    )
    content_pack = graphene.Field(
        ContentPack,
        id=graphene.ID(description="Global id of the pack."),
        slug=graphene.String(description="The pack's slug."),
        description="One pack by id or slug; null if there is none the caller may see.",
    )

    @staticmethod
    @requires(*READERS)
    def resolve_content_packs(
        _root: Any,
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
        filter: dict[str, Any] | None = None,
    ) -> Any:
        context = context_of(info)
        window = page_window(first, after, context.settings.graphql_max_page_size)
        params = {**window.params, **to_json(dict(filter or {}))}
        # A page that shows no files (the home page) lets content skip reading and
        # signing every rendition of every pack: most of that call's cost.
        with_assets = selects(info, "edges", "node", "assets")
        if not with_assets:
            params["omit"] = "assets"
        page = context.loaders.defer(
            lambda: context.backend("content").call(
                "GET", "/v1/packs", context.principal, params=params
            ),
            name="ContentPackPage",
        )

        def to_connection(body: dict[str, Any]) -> dict[str, Any]:
            if with_assets:
                # Whole packs only: a later load by id may ask for their assets.
                by_id = content_loaders.packs_by_id(context)
                for item in body.get("items", []):
                    by_id.prime(str(item["id"]), item)
            return connection_from_page(body, node_type="ContentPack", window=window)

        return then(page, to_connection)

    @staticmethod
    @requires(*READERS)
    def resolve_content_pack(
        _root: Any, info: GraphQLResolveInfo, id: str | None = None, slug: str | None = None
    ) -> Any:
        context = context_of(info)
        if (id is None) == (slug is None):
            raise BadUserInput("Give either 'id' or 'slug', not both and not neither.")
        if id is not None:
            pack_id = raw_id_of(id, "ContentPack")
            if pack_id is None:
                return resolved(None)
            return content_loaders.packs_by_id(context).load(pack_id)

        def fetch_by_slug() -> Any:
            try:
                return context.backend("content").call(
                    "GET", f"/v1/packs/by-slug/{quote(slug or '', safe='')}", context.principal
                )
            except BackendError as error:
                if error.status == 404:
                    return None
                raise

        return context.loaders.defer(fetch_by_slug, name="ContentPackBySlug")


class ContentMutations(graphene.ObjectType):
    create_content_pack = CreateContentPack.Field(
        required=True, description=CreateContentPack.__doc__
    )
    update_content_pack = UpdateContentPack.Field(
        required=True, description=UpdateContentPack.__doc__
    )
    upload_asset = UploadAsset.Field(required=True, description=UploadAsset.__doc__)
    create_asset_upload = CreateAssetUpload.Field(
        required=True, description=CreateAssetUpload.__doc__
    )
    complete_asset_upload = CompleteAssetUpload.Field(
        required=True, description=CompleteAssetUpload.__doc__
    )
    publish_content_pack = PublishContentPack.Field(
        required=True, description=PublishContentPack.__doc__
    )
    archive_content_pack = ArchiveContentPack.Field(
        required=True, description=ArchiveContentPack.__doc__
    )
    leave_feedback = LeaveFeedback.Field(required=True, description=LeaveFeedback.__doc__)
