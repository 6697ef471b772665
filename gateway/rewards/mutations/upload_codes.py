# mypy: disallow-subclassing-any=False
# (graphene ships no type information, so its base classes are Any to mypy.)
"""uploadCodes: a marketer previews, then imports, a CSV of discount codes."""

from __future__ import annotations

from typing import Any

import graphene

from gateway.core.context import GraphQLContext
from gateway.core.mutations import BaseMutation
from gateway.core.permissions import STAFF
from gateway.core.types import UserError
from gateway.rewards.mutations._common import rewards_id
from gateway.rewards.types import CodeBank, CodeUploadReport


class UploadCodesInput(graphene.InputObjectType):
    """A CSV of codes for a bank: one code per row, an optional `code` header."""

    code_bank_id = graphene.ID(required=True, description="Global id of the bank.")
    csv = graphene.String(required=True, description="The file's text (UTF-8).")
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
        if not data.csv.strip():
            return UploadCodesPayload(
                errors=[
                    UserError(
                        field=["input", "csv"],
                        message="The file is empty; put one code per row.",
                        code="INVALID",
                    )
                ]
            )
        rewards = context.backend("rewards")
        report = rewards.call(
            "POST",
            f"/v1/code-banks/{bank_id}/codes",
            context.principal,
            params={"dry_run": "true" if data.dry_run else "false"},
            data=data.csv.encode("utf-8"),
            headers={"Content-Type": "text/csv; charset=utf-8"},
        )
        bank = rewards.call("GET", f"/v1/code-banks/{bank_id}", context.principal)
        return UploadCodesPayload(report=report, code_bank=bank, errors=[])
