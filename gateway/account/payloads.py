# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""Inputs and payloads of the account mutations."""

from __future__ import annotations

import graphene

from gateway.account.types import ThankYouChannel, User
from gateway.core.types import UserError


class SignUpInput(graphene.InputObjectType):
    """A fan's new account."""

    email = graphene.String(required=True, description="The fan's email; one account each.")
    password = graphene.String(required=True, description="At least 8 characters.")
    display_name = graphene.String(required=True, description="The name shown to others.")


class LogInInput(graphene.InputObjectType):
    """Credentials of an existing account."""

    email = graphene.String(required=True, description="The account's email.")
    password = graphene.String(required=True, description="The account's password.")


class AuthPayload(graphene.ObjectType):
    """The outcome of signing up or logging in."""

    token = graphene.String(
        description=(
            "Bearer token for the Authorization header; null when the portal asked for a "
            "cookie session (header X-Fanfare-Session: cookie) or on failure."
        )
    )
    user = graphene.Field(User, description="The signed-in user.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class LogOutPayload(graphene.ObjectType):
    """The outcome of logging out."""

    ok = graphene.Boolean(required=True, description="The token or session no longer works.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class UpdatePreferencesInput(graphene.InputObjectType):
    """What the user wants to change; omitted fields stay as they are."""

    thank_you_channel = graphene.Field(ThankYouChannel, description="How to be thanked.")
    display_name = graphene.String(description="The name shown to others.")


class UpdatePreferencesPayload(graphene.ObjectType):
    """The user after the change."""

    user = graphene.Field(User, description="The updated user.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class DeleteAccountPayload(graphene.ObjectType):
    """The outcome of erasing an account."""

    ok = graphene.Boolean(required=True, description="Personal data is erased everywhere.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class ExportMyDataPayload(graphene.ObjectType):
    """Everything Fanfare holds about the signed-in user."""

    data = graphene.JSONString(
        description="One object per part of Fanfare: gateway, content, referrals, rewards."
    )
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )
