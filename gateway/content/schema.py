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
from gateway.core.permissions import CONTENT_READ, SIGNED_IN_USER, may_resolve, requires
from gateway.core.selections import node_selects, occurrences, selects
from gateway.interfaces import BackendError
from gateway.referrals import dataloaders as referrals_loaders

READERS = (SIGNED_IN_USER, CONTENT_READ)
# Where a page of packs asks for the viewer's own link of each pack (the home page).
VIEWER_LINK_ON_A_PAGE = ("contentPacks", "edges", "node", "viewerLink")


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
        links_with_stats = _viewer_links_ahead(info)
        on_arrival = None
        if links_with_stats is not None:

            def on_arrival(body: dict[str, Any]) -> None:
                shown = window.shown(body.get("items") or [])
                pack_ids = [str(item["id"]) for item in shown]
                referrals_loaders.ask_viewer_links(context, pack_ids, with_stats=links_with_stats)

        page = context.loaders.defer(
            lambda: context.backend("content").call(
                "GET", "/v1/packs", context.principal, params=params
            ),
            name="ContentPackPage",
            on_arrival=on_arrival,
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


def _viewer_links_ahead(info: GraphQLResolveInfo) -> bool | None:
    """Whether this page's ``viewerLink`` fields will ask referrals for the viewer's
    links (and then whether with their stats), so that the page can ask as soon as
    it arrives instead of after all its packs are filled in; None when they will not.

    Exactly when the fields would ask: the caller passes the field's own permission,
    and the operation reaches ``viewerLink`` beneath this very field (``@skip`` and
    ``@include`` honoured). Only when every ``viewerLink`` of the operation is on a
    page of packs, so that a link asked from elsewhere (a single pack) never needs a
    call of its own after the head start went out.
    """
    if not may_resolve(context_of(info), ContentPack.resolve_viewer_link):
        return None
    found = occurrences(info, "viewerLink")
    if not found or any(place.names != VIEWER_LINK_ON_A_PAGE for place in found):
        return None
    here = [
        place
        for place in found
        if any(place.chain[0] is node for node in info.field_nodes)
        and place.included(info.variable_values)
    ]
    if not here:
        return None
    return any(node_selects(info, place.chain[-1], "stats") for place in here)  # type: ignore[arg-type]


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
