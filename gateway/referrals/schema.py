# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The referrals fields of Query and Mutation."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.core.context import context_of
from gateway.core.loaders import then
from gateway.core.permissions import CONVERSIONS_WRITE, SIGNED_IN_USER, STATS_READ, requires
from gateway.referrals.mutations.create_referral_link import CreateReferralLink
from gateway.referrals.mutations.record_conversion import RecordConversion
from gateway.referrals.mutations.record_share import RecordShare
from gateway.referrals.mutations.reverse_conversion import ReverseConversion
from gateway.referrals.types import ReferralLink


class ReferralQueries(graphene.ObjectType):
    referral_link = graphene.Field(
        ReferralLink,
        code=graphene.String(required=True, description="The short code."),
        description="A link by its short code; null if there is none.",
    )

    @staticmethod
    @requires(SIGNED_IN_USER, CONVERSIONS_WRITE, STATS_READ)
    def resolve_referral_link(_root: Any, info: GraphQLResolveInfo, code: str) -> Any:
        context = context_of(info)
        page = context.loaders.defer(
            lambda: context.backend("referrals").call(
                "GET", "/v1/links", context.principal, params={"codes": code}
            ),
            name="ReferralLinkByCode",
        )
        return then(page, lambda body: next(iter(body.get("items") or []), None))


class ReferralMutations(graphene.ObjectType):
    create_referral_link = CreateReferralLink.Field(
        required=True, description=CreateReferralLink.__doc__
    )
    record_share = RecordShare.Field(required=True, description=RecordShare.__doc__)
    record_conversion = RecordConversion.Field(required=True, description=RecordConversion.__doc__)
    reverse_conversion = ReverseConversion.Field(
        required=True, description=ReverseConversion.__doc__
    )
