# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Content packs, their assets and share kits, as GraphQL shows them."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.account.types import FanTier
from gateway.content import dataloaders as content_loaders
from gateway.core.context import context_of
from gateway.core.inputs import upper
from gateway.core.loaders import then
from gateway.core.pagination import connection_from_page, page_window
from gateway.core.permissions import FAN, STAFF, requires
from gateway.core.selections import selects
from gateway.core.types import DateTime, Node, PageInfo, node_id_resolver
from gateway.referrals import dataloaders as referrals_loaders
from gateway.rewards import dataloaders as rewards_loaders


class PackStatus(graphene.Enum):
    """Where a pack is in its life."""

    DRAFT = "DRAFT"
    PUBLISHED = "PUBLISHED"
    ARCHIVED = "ARCHIVED"


class PackPurpose(graphene.Enum):
    """Why the content is worth sharing: it makes people laugh, learn or love."""

    LAUGH = "LAUGH"
    LEARN = "LEARN"
    LOVE = "LOVE"


class ShareChannel(graphene.Enum):
    """Where a fan shares a link."""

    X = "X"
    FACEBOOK = "FACEBOOK"
    LINKEDIN = "LINKEDIN"
    INSTAGRAM = "INSTAGRAM"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    SMS = "SMS"
    QR = "QR"
    COPY = "COPY"
    OTHER = "OTHER"


class AssetStatus(graphene.Enum):
    """Whether an asset's renditions are ready."""

    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class FeedbackSentiment(graphene.Enum):
    """What a fan thinks of a pack."""

    POSITIVE = "POSITIVE"
    NEGATIVE = "NEGATIVE"
    IDEA = "IDEA"


class Caption(graphene.ObjectType):
    """Ready-made text for one channel."""

    channel = graphene.Field(ShareChannel, required=True, description="The channel it suits.")
    text = graphene.String(required=True, description="The caption.")

    @staticmethod
    def resolve_channel(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("channel"))


class ShareKit(graphene.ObjectType):
    """What a fan needs to share a pack well."""

    captions = graphene.List(
        graphene.NonNull(Caption), required=True, description="A caption per channel."
    )
    hashtags = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Hashtags to add."
    )
    disclosure = graphene.String(
        description=(
            "Incentive disclosure appended to shared text when sharing is rewarded, e.g. #ad."
        )
    )

    @staticmethod
    def resolve_captions(root: dict[str, Any], _info: GraphQLResolveInfo) -> list[Any]:
        return list(root.get("captions") or [])

    @staticmethod
    def resolve_hashtags(root: dict[str, Any], _info: GraphQLResolveInfo) -> list[str]:
        return list(root.get("hashtags") or [])


class Rendition(graphene.ObjectType):
    """One size of an image, made from the original."""

    name = graphene.String(
        required=True,
        description=(
            "thumbnail, social_card (1200x630), square (1080x1080), story (1080x1920) or original."
        ),
    )
    width = graphene.Int(required=True, description="Width in pixels.")
    height = graphene.Int(required=True, description="Height in pixels.")
    url = graphene.String(required=True, description="Where to fetch it (may expire).")


class Asset(graphene.ObjectType):
    """A file attached to a pack: an image and its renditions."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the asset.")
    filename = graphene.String(required=True, description="The name it was uploaded with.")
    content_type = graphene.String(required=True, description="Its type, sniffed from its bytes.")
    status = graphene.Field(AssetStatus, required=True, description="Whether renditions are ready.")
    width = graphene.Int(description="Width of the original in pixels, once known.")
    height = graphene.Int(description="Height of the original in pixels, once known.")
    bytes = graphene.Int(required=True, description="Size of the original in bytes.")
    alt_text = graphene.String(description="Text for people who cannot see the image.")
    renditions = graphene.List(
        graphene.NonNull(Rendition), required=True, description="Sizes ready to use."
    )

    resolve_id = staticmethod(node_id_resolver("Asset"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("status"))

    @staticmethod
    def resolve_bytes(root: dict[str, Any], _info: GraphQLResolveInfo) -> int:
        return int(root.get("bytes") or root.get("size_bytes") or 0)

    @staticmethod
    def resolve_renditions(root: dict[str, Any], _info: GraphQLResolveInfo) -> list[Any]:
        return list(root.get("renditions") or [])


class FeedbackTally(graphene.ObjectType):
    """Counts of fan feedback on a pack."""

    positive = graphene.Int(required=True, description="Fans who liked it.")
    negative = graphene.Int(required=True, description="Fans who did not.")
    ideas = graphene.Int(required=True, description="Ideas fans left.")


class PackStats(graphene.ObjectType):
    """How a pack is doing."""

    shares = graphene.Int(required=True, description="Shares recorded.")
    human_clicks = graphene.Int(required=True, description="Clicks by people on its links.")
    preview_fetches = graphene.Int(
        required=True, description="Link-preview crawlers and other bots; never rewarded."
    )
    conversions = graphene.Int(required=True, description="Approved conversions.")
    rewards = graphene.Int(
        description=(
            "Rewards fans kept for deeds on the pack (reversed ones left out); "
            "null while rewards is unavailable."
        )
    )
    points_issued = graphene.Int(
        description="Points those rewards gave; null while rewards is unavailable."
    )
    feedback = graphene.Field(FeedbackTally, required=True, description="Fan feedback.")

    @staticmethod
    def resolve_rewards(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return then(root["reward_stats"], lambda stats: _count(stats, "rewards_issued"))

    @staticmethod
    def resolve_points_issued(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return then(root["reward_stats"], lambda stats: _count(stats, "points_issued"))


class Feedback(graphene.ObjectType):
    """What one fan said about a pack (who said it is not shown)."""

    id = graphene.ID(required=True, description="Opaque global id of the feedback.")
    sentiment = graphene.Field(FeedbackSentiment, required=True, description="What they think.")
    text = graphene.String(description="Their words, if any.")
    created_at = DateTime(required=True, description="When it was left.")

    resolve_id = staticmethod(node_id_resolver("Feedback"))

    @staticmethod
    def resolve_sentiment(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("sentiment"))


class FeedbackEdge(graphene.ObjectType):
    """A feedback in a page of feedback."""

    node = graphene.Field(Feedback, required=True, description="The feedback.")
    cursor = graphene.String(required=True, description="Where it sits in the list.")


class FeedbackConnection(graphene.ObjectType):
    """A page of a pack's feedback, newest first."""

    edges = graphene.List(
        graphene.NonNull(FeedbackEdge), required=True, description="The feedback of this page."
    )
    page_info = graphene.Field(PageInfo, required=True, description="Where the page sits.")
    total_count = graphene.Int(required=True, description="Feedback over all pages.")


def _count(record: dict[str, Any] | None, *names: str) -> int:
    record = record or {}
    for name in names:
        if record.get(name) is not None:
            return int(record[name])
    return 0


class ContentPack(graphene.ObjectType):
    """Behind-the-scenes content that marketers publish and fans share."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the pack.")
    slug = graphene.String(required=True, description="Readable unique name, used in URLs.")
    title = graphene.String(required=True, description="The pack's title.")
    summary = graphene.String(required=True, description="One or two sentences about it.")
    story = graphene.String(required=True, description="The behind-the-scenes story, in Markdown.")
    purpose = graphene.Field(PackPurpose, required=True, description="Laugh, learn or love.")
    status = graphene.Field(PackStatus, required=True, description="Draft, published or archived.")
    min_tier = graphene.Field(
        FanTier,
        required=True,
        description="Fans below this tier see the pack as locked (social currency for insiders).",
    )
    locked = graphene.Boolean(
        required=True, description="True when the viewer's tier is below `minTier`."
    )
    tags = graphene.List(graphene.NonNull(graphene.String), required=True, description="Tags.")
    destination_url = graphene.String(
        required=True, description="Where a referral link for this pack leads."
    )
    published_at = DateTime(description="When it was published.")
    expires_at = DateTime(description="When it stops being shown, if ever.")
    assets = graphene.List(graphene.NonNull(Asset), required=True, description="Its files.")
    share_kit = graphene.Field(
        ShareKit, required=True, description="Captions, hashtags, disclosure."
    )
    viewer_link = graphene.Field(
        "gateway.referrals.types.ReferralLink",
        description="The viewer's own referral link for this pack, if they have made one.",
    )
    stats = graphene.Field(
        PackStats,
        description="Marketers only; null for fans and partners.",
    )
    feedback = graphene.Field(
        FeedbackConnection,
        first=graphene.Int(description="How many (at most 100; 20 if omitted)."),
        after=graphene.String(description="The `endCursor` of the previous page."),
        description=(
            "Marketers only; null for others. What fans said, newest first "
            "(one content call per pack: meant for one pack's page)."
        ),
    )

    resolve_id = staticmethod(node_id_resolver("ContentPack"))

    @staticmethod
    def resolve_purpose(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("purpose"))

    @staticmethod
    def resolve_status(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("status"))

    @staticmethod
    def resolve_min_tier(root: dict[str, Any], _info: GraphQLResolveInfo) -> Any:
        return upper(root.get("min_tier") or "FAN")

    @staticmethod
    def resolve_locked(root: dict[str, Any], _info: GraphQLResolveInfo) -> bool:
        return bool(root.get("locked"))

    @staticmethod
    def resolve_tags(root: dict[str, Any], _info: GraphQLResolveInfo) -> list[str]:
        return list(root.get("tags") or [])

    @staticmethod
    def resolve_story(root: dict[str, Any], _info: GraphQLResolveInfo) -> str:
        # A locked pack's story is withheld by the content service.
        return str(root.get("story") or "")

    @staticmethod
    def resolve_assets(root: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        if "assets" in root:
            return list(root.get("assets") or [])
        # Listed without its assets (omit=assets) though a fragment asks for them after
        # all: the whole pack, by id, in one batch with any others.
        whole = content_loaders.packs_by_id(context_of(info)).load(str(root["id"]))
        return then(whole, lambda pack: list((pack or {}).get("assets") or []))

    @staticmethod
    def resolve_share_kit(root: dict[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any]:
        kit = root.get("share_kit")
        if isinstance(kit, dict):
            return kit
        return {
            "captions": root.get("captions") or [],
            "hashtags": root.get("hashtags") or [],
            "disclosure": root.get("disclosure"),
        }

    @staticmethod
    @requires(FAN, otherwise_null=True)
    def resolve_viewer_link(root: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        loader = referrals_loaders.viewer_links_by_pack(
            context_of(info), with_stats=selects(info, "stats")
        )
        return loader.load(str(root["id"]))

    @staticmethod
    @requires(STAFF, otherwise_null=True)
    def resolve_stats(root: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        feedback = (root.get("stats") or {}).get("feedback") or {}
        context = context_of(info)
        # Asked in the same wave as referrals, and only when selected; its own
        # future, so a rewards outage nulls these two fields, not the funnel.
        reward_stats = (
            rewards_loaders.pack_reward_stats(context).load(str(root["id"]))
            if selects(info, "rewards") or selects(info, "pointsIssued")
            else None
        )
        return then(
            referrals_loaders.pack_stats(context).load(str(root["id"])),
            lambda sharing: {
                "reward_stats": reward_stats,
                "shares": _count(sharing, "shares"),
                "human_clicks": _count(sharing, "human_clicks"),
                "preview_fetches": _count(sharing, "preview_fetches"),
                "conversions": _count(sharing, "conversions"),
                "feedback": {
                    "positive": _count(feedback, "positive"),
                    "negative": _count(feedback, "negative"),
                    "ideas": _count(feedback, "ideas"),
                },
            },
        )

    @staticmethod
    @requires(STAFF, otherwise_null=True)
    def resolve_feedback(
        root: dict[str, Any],
        info: GraphQLResolveInfo,
        first: int | None = None,
        after: str | None = None,
    ) -> Any:
        context = context_of(info)
        window = page_window(first, after, context.settings.graphql_max_page_size)
        pack_id = str(root["id"])
        page = context.loaders.defer(
            lambda: context.backend("content").call(
                "GET", f"/v1/packs/{pack_id}/feedback", context.principal, params=window.params
            ),
            name="PackFeedback",
        )
        return then(
            page, lambda body: connection_from_page(body, node_type="Feedback", window=window)
        )


class ContentPackEdge(graphene.ObjectType):
    """A pack in a page of packs."""

    node = graphene.Field(ContentPack, required=True, description="The pack.")
    cursor = graphene.String(required=True, description="Where this pack sits in the list.")


class ContentPackConnection(graphene.ObjectType):
    """A page of packs."""

    edges = graphene.List(
        graphene.NonNull(ContentPackEdge), required=True, description="The packs of this page."
    )
    page_info = graphene.Field(PageInfo, required=True, description="Where the page sits.")
    total_count = graphene.Int(required=True, description="Packs matching, over all pages.")


class ContentPackFilter(graphene.InputObjectType):
    """Which packs to list."""

    status = graphene.Field(PackStatus, description="Only packs in this status (marketers).")
    purpose = graphene.Field(PackPurpose, description="Only packs with this purpose.")
    tag = graphene.String(description="Only packs with this tag.")
    search = graphene.String(description="Words to find in title, summary or story.")
