# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""markNoteWritten: a marketer has written a fan's thank-you note by hand."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.rewards.mutations._common import rewards_id
from gateway.rewards.types import HandwrittenNote


class MarkNoteWrittenInput(graphene.InputObjectType):
    """The note written."""

    id = graphene.ID(required=True, description="Global id of the note.")


class MarkNoteWrittenPayload(graphene.ObjectType):
    """The note, written."""

    note = graphene.Field(HandwrittenNote, description="The note after the change.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class MarkNoteWritten(BaseMutation):
    """Mark a handwritten note written (marketers); ALREADY_DONE the second time."""

    permissions = (STAFF,)

    class Arguments:
        input = MarkNoteWrittenInput(required=True, description="The note.")

    Output = MarkNoteWrittenPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> MarkNoteWrittenPayload:
        note_id = rewards_id(arguments["input"].id, "HandwrittenNote", field="id")
        note = context.backend("rewards").call(
            "POST", f"/v1/handwritten-notes/{note_id}/written", context.principal
        )
        return MarkNoteWrittenPayload(note=note, errors=[])
