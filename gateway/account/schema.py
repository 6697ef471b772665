# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""The account fields of Query and Mutation."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from gateway.account.mutations.delete_my_account import DeleteMyAccount
from gateway.account.mutations.export_my_data import ExportMyData
from gateway.account.mutations.log_in import LogIn
from gateway.account.mutations.log_out import LogOut
from gateway.account.mutations.sign_up import SignUp
from gateway.account.mutations.update_preferences import UpdatePreferences
from gateway.account.types import Viewer
from gateway.core.context import context_of
from gateway.core.permissions import SIGNED_IN_USER, requires
from gateway.models import User


class AccountQueries(graphene.ObjectType):
    viewer = graphene.Field(
        Viewer,
        description="The signed-in user; null when the caller is anonymous or a partner key.",
    )

    @staticmethod
    @requires(SIGNED_IN_USER, otherwise_null=True)
    def resolve_viewer(_root: Any, info: GraphQLResolveInfo) -> User | None:
        context = context_of(info)
        if isinstance(context.caller.user, User):
            # Read a moment ago, while authenticating this request.
            return context.caller.user
        with context.reading() as session:
            return session.get(User, context.caller.user_id)


class AccountMutations(graphene.ObjectType):
    sign_up = SignUp.Field(required=True, description=SignUp.__doc__)
    log_in = LogIn.Field(required=True, description=LogIn.__doc__)
    log_out = LogOut.Field(required=True, description=LogOut.__doc__)
    update_preferences = UpdatePreferences.Field(
        required=True, description=UpdatePreferences.__doc__
    )
    delete_my_account = DeleteMyAccount.Field(required=True, description=DeleteMyAccount.__doc__)
    export_my_data = ExportMyData.Field(required=True, description=ExportMyData.__doc__)
