# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""uploadCodes: a marketer previews, then imports, a CSV of discount codes.

The file comes as a GraphQL multipart upload (up to the gateway's upload limit)
and is streamed to rewards; short lists may come as `csv` text instead.
"""

from __future__ import annotations

from typing import IO, Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import Upload, UserError
from gateway.rewards.mutations._common import rewards_id
from gateway.rewards.types import CodeBank, CodeUploadReport
from gateway.uploads import UploadedFile


class UploadCodesInput(graphene.InputObjectType):
    """A CSV of codes for a bank: one code per row, an optional `code` header."""

    code_bank_id = graphene.ID(required=True, description="Global id of the bank.")
    file = Upload(description="The CSV file (UTF-8), sent with the GraphQL multipart request.")
    csv = graphene.String(
        description="Or the codes as text, for short lists (the JSON body limit applies)."
    )
    dry_run = graphene.Boolean(
        description="Check every row as an import does and write nothing (a preview)."
    )


class UploadCodesPayload(graphene.ObjectType):
    """What was imported (or would be), and the bank after it."""

    report = graphene.Field(CodeUploadReport, description="Rows taken and rows left out.")
    code_bank = graphene.Field(CodeBank, description="The bank after the upload.")
    errors = graphene.List(
        graphene.NonNull(UserError), required=True, description="Expected failures."
    )


class UploadCodes(BaseMutation):
    """Import codes into a bank, or preview with `dryRun` (marketers); bad rows are reported."""

    permissions = (STAFF,)

    class Arguments:
        input = UploadCodesInput(required=True, description="The bank and the CSV.")

    Output = UploadCodesPayload

    @classmethod
    def perform(cls, context: GraphQLContext, **arguments: Any) -> UploadCodesPayload:
        data = arguments["input"]
        bank_id = rewards_id(data.code_bank_id, "CodeBank", field="codeBankId")
        body = _csv_body(data)
        if isinstance(body, UserError):
            return UploadCodesPayload(errors=[body])
        rewards = context.backend("rewards")
        report = rewards.call(
            "POST",
            f"/v1/code-banks/{bank_id}/codes",
            context.principal,
            params={"dry_run": "true" if data.dry_run else "false"},
            data=body,
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )
        bank = rewards.call("GET", f"/v1/code-banks/{bank_id}", context.principal)
        return UploadCodesPayload(report=report, code_bank=bank, errors=[])


def _csv_body(data: Any) -> bytes | IO[bytes] | UserError:
    """The CSV to send on, from the uploaded file or the text; an error if neither has codes."""
    upload = data.file
    if upload is not None and data.csv is not None:
        return UserError(
            field=["input", "file"], message="Send the file or the text, not both.", code="INVALID"
        )
    if isinstance(upload, UploadedFile):
        if upload.size == 0:
            return UserError(
                field=["input", "file"],
                message="The file is empty; put one code per row.",
                code="INVALID",
            )
        return upload.stream
    if upload is not None:
        return UserError(
            field=["input", "file"],
            message="Send the file with the GraphQL multipart request.",
            code="INVALID",
        )
    if data.csv is None or not data.csv.strip():
        return UserError(
            field=["input", "csv"],
            message="There are no codes; choose a CSV file with one code per row.",
            code="INVALID",
        )
    encoded: bytes = data.csv.encode("utf-8")
    return encoded
