# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Users as GraphQL sees them, and the viewer's own corner of the API."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.core.context import context_of
from gateway.core.loaders import then
from gateway.core.pagination import connection_from_page, page_window
from gateway.core.permissions import FAN, STAFF, owner, requires
from gateway.core.selections import selects
from gateway.core.types import DateTime, Node, node_id_resolver
from gateway.models import User as UserRow
from gateway.referrals import dataloaders as referrals_loaders
from gateway.rewards import dataloaders as rewards_loaders
from gateway.rewards.records import reward_record


class Role(graphene.Enum):
    """What a user is to Fanfare."""

    FAN = "FAN"
    MARKETER = "MARKETER"
    ADMIN = "ADMIN"

    @property
    def description(self) -> str:
        return {
            "FAN": "Shares packs and is thanked with rewards.",
            "MARKETER": "Publishes packs, sees stats, manages partner keys.",
            "ADMIN": "A marketer who also runs the platform.",
        }[self.name]


class FanTier(graphene.Enum):
    """A fan's standing, earned with lifetime points; higher tiers unlock insider packs."""

    FAN = "FAN"
    ADVOCATE = "ADVOCATE"
    INSIDER = "INSIDER"
    AMBASSADOR = "AMBASSADOR"

    @property
    def description(self) -> str:
        return {
            "FAN": "Everyone starts here.",
            "ADVOCATE": "Has shared and brought visitors.",
            "INSIDER": "Sees insider packs early.",
            "AMBASSADOR": "The most active advocates.",
        }[self.name]


class ThankYouChannel(graphene.Enum):
    """How a fan likes to be thanked."""

    PRIVATE_EMAIL = "PRIVATE_EMAIL"
    PUBLIC_SHOUTOUT = "PUBLIC_SHOUTOUT"
    HANDWRITTEN_NOTE = "HANDWRITTEN_NOTE"
    NONE = "NONE"

    @property
    def description(self) -> str:
        return {
            "PRIVATE_EMAIL": "A personal email.",
            "PUBLIC_SHOUTOUT": "A public mention.",
            "HANDWRITTEN_NOTE": "A note by post.",
            "NONE": "No thank-you messages.",
        }[self.name]


class Badge(graphene.ObjectType):
    """A badge a fan earned."""

    slug = graphene.String(required=True, description="Stable name of the badge.")
    title = graphene.String(required=True, description="The badge as fans see it.")
    awarded_at = DateTime(required=True, description="When the fan earned it.")


def _profile(info: GraphQLResolveInfo, user: UserRow) -> Any:
    """The user's rewards profile (tier, balance, badges), batched across users."""
    return rewards_loaders.fan_profiles(context_of(info)).load(user.id)


def _badge(badge: dict[str, Any]) -> dict[str, Any]:
    """Rewards names a badge by its code; its title is the code, made readable."""
    code = str(badge.get("code") or badge.get("slug") or "")
    return {
        "slug": code,
        "title": badge.get("title") or code.replace("_", " ").replace("-", " ").capitalize(),
        "awarded_at": badge.get("awarded_at"),
    }


def _user_id(user: Any) -> str | None:
    return user.id if isinstance(user, UserRow) else None


class User(graphene.ObjectType):
    """A fan, marketer or admin."""

    class Meta:
        interfaces = (Node,)

    id = graphene.ID(required=True, description="Opaque global id of the user.")
    display_name = graphene.String(required=True, description="The name shown to others.")
    email = graphene.String(description="Visible to the user themself and to marketers only.")
    role = graphene.Field(Role, required=True, description="What the user is to Fanfare.")
    tier = graphene.Field(FanTier, required=True, description="The fan's tier (FAN for staff).")
    points_balance = graphene.Int(required=True, description="Points the user can spend now.")
    badges = graphene.List(
        graphene.NonNull(Badge), required=True, description="Badges earned, oldest first."
    )
    thank_you_channel = graphene.Field(
        ThankYouChannel, required=True, description="How the user likes to be thanked."
    )

    resolve_id = staticmethod(node_id_resolver("User"))

    @staticmethod
    @requires(owner(_user_id), STAFF, otherwise_null=True)
    def resolve_email(root: UserRow, _info: GraphQLResolveInfo) -> str | None:
        return root.email

    @staticmethod
    def resolve_role(root: UserRow, _info: GraphQLResolveInfo) -> str:
        return root.role.upper()

    @staticmethod
    def resolve_tier(root: UserRow, info: GraphQLResolveInfo) -> Any:
        if root.role != "fan":
            return "FAN"
        return then(_profile(info, root), lambda p: str((p or {}).get("tier") or "FAN").upper())

    @staticmethod
    def resolve_points_balance(root: UserRow, info: GraphQLResolveInfo) -> Any:
        if root.role != "fan":
            return 0
        return then(_profile(info, root), lambda p: int((p or {}).get("balance") or 0))

    @staticmethod
    def resolve_badges(root: UserRow, info: GraphQLResolveInfo) -> Any:
        if root.role != "fan":
            return []
        return then(
            _profile(info, root), lambda p: [_badge(b) for b in (p or {}).get("badges") or []]
        )

    @staticmethod
    def resolve_thank_you_channel(root: UserRow, _info: GraphQLResolveInfo) -> str:
        return root.thank_you_channel


class FanStats(graphene.ObjectType):
    """What a fan's sharing has achieved so far."""

    shares = graphene.Int(required=True, description="Shares the fan recorded.")
    human_clicks = graphene.Int(required=True, description="Clicks by people on their links.")
    conversions = graphene.Int(required=True, description="Approved conversions they brought.")
    points_earned = graphene.Int(required=True, description="Lifetime points earned.")


class Viewer(graphene.ObjectType):
    """The signed-in user and what belongs to them."""

    user = graphene.Field(User, required=True, description="The signed-in user.")
    referral_links = graphene.Field(
        "gateway.referrals.types.ReferralLinkConnection",
        required=True,
        first=graphene.Int(description="How many links (at most 100; 20 if omitted)."),
        after=graphene.String(description="The `endCursor` of the previous page."),
        description="The viewer's referral links, newest first.",
    )
    rewards = graphene.Field(
        "gateway.rewards.types.RewardConnection",
        required=True,
        first=graphene.Int(description="How many rewards (at most 100; 20 if omitted)."),
        after=graphene.String(description="The `endCursor` of the previous page."),
        description="The viewer's rewards, newest first.",
    )
    stats = graphene.Field(FanStats, required=True, description="The viewer's sharing so far.")
    redemptions = graphene.List(
        graphene.NonNull("gateway.rewards.types.Redemption"),
        description=(
            "Fans only (null for others). The viewer's redemptions, newest first, codes included."
        ),
    )

    @staticmethod
    def resolve_user(root: UserRow, _info: GraphQLResolveInfo) -> UserRow:
        return root

    @staticmethod
    def resolve_referral_links(
        root: UserRow, info: GraphQLResolveInfo, first: int | None = None, after: str | None = None
    ) -> Any:
        context = context_of(info)
        window = page_window(first, after, context.settings.graphql_max_page_size)
        params = window.params
        if selects(info, "edges", "node", "stats"):
            # The links' numbers come in the same call.
            params["include"] = "stats"
        page = context.loaders.defer(
            lambda: context.backend("referrals").call(
                "GET", f"/v1/fans/{root.id}/links", context.principal, params=params
            ),
            name="ViewerReferralLinks",
        )
        return then(
            page,
            lambda body: connection_from_page(body, node_type="ReferralLink", window=window),
        )

    @staticmethod
    def resolve_rewards(
        root: UserRow, info: GraphQLResolveInfo, first: int | None = None, after: str | None = None
    ) -> Any:
        context = context_of(info)
        window = page_window(first, after, context.settings.graphql_max_page_size)
        page = context.loaders.defer(
            lambda: context.backend("rewards").call(
                "GET", f"/v1/fans/{root.id}/rewards", context.principal, params=window.params
            ),
            name="ViewerRewards",
        )

        def to_connection(body: dict[str, Any]) -> dict[str, Any]:
            # The rewards listed are the viewer's own: say so, for Reward.code.
            items = [reward_record(item, fan_id=root.id) for item in body.get("items") or []]
            return connection_from_page({**body, "items": items}, node_type="Reward", window=window)

        return then(page, to_connection)

    @staticmethod
    @requires(FAN, otherwise_null=True)
    def resolve_redemptions(root: UserRow, info: GraphQLResolveInfo) -> Any:
        return rewards_loaders.viewer_redemptions(context_of(info), fan_id=str(root.id))

    @staticmethod
    def resolve_stats(root: UserRow, info: GraphQLResolveInfo) -> Any:
        context = context_of(info)
        sharing = referrals_loaders.fan_stats(context).load(root.id)
        profile = rewards_loaders.fan_profiles(context).load(root.id)

        def combine(stats: Any) -> Any:
            return then(
                profile,
                lambda p: {
                    "shares": int((stats or {}).get("shares") or 0),
                    "human_clicks": int((stats or {}).get("human_clicks") or 0),
                    "conversions": int((stats or {}).get("conversions") or 0),
                    "points_earned": int((p or {}).get("lifetime_points") or 0),
                },
            )

        return then(sharing, combine)
