# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""createCodeBank: a marketer opens an empty bank of discount codes."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.inputs import to_json
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.interfaces import BackendError
from gateway.rewards.types import CodeBank


class CreateCodeBankInput(graphene.InputObjectType):
    """A new, empty code bank."""

    name = graphene.String(required=True, description="What the codes are for; unique.")
    low_stock_threshold = graphene.Int(
        description="Warn when fewer codes than this are left (10 if omitted)."
    )


class CreateCodeBankPayload(graphene.ObjectType):
    """The new bank."""

    code_bank = graphene.Field(CodeBank, description="The bank, empty.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class CreateCodeBank(BaseMutation):
    """Open a code bank (marketers); NAME_TAKEN on `name` when one has that name."""

    permissions = (STAFF,)

    class Arguments:
        input = CreateCodeBankInput(required=True, description="The new bank.")

    Output = CreateCodeBankPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> CreateCodeBankPayload:
        request = to_json(dict(arguments["input"]))
        try:
            bank = context.backend("rewards").call(
                "POST", "/v1/code-banks", context.principal, json=request
            )
        except BackendError as error:
            if error.code == "NAME_TAKEN":
                taken = UserError(field=["input", "name"], message=error.message, code=error.code)
                return CreateCodeBankPayload(errors=[taken])
            raise
        return CreateCodeBankPayload(code_bank=bank, errors=[])
