"""REST endpoints for the gateway: parse with a schema, call one function, dump with a schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

from flask import Response, jsonify, request
from marshmallow import Schema
from sqlalchemy.orm import Session

from services.common.internal_auth import current_principal
from services.common.runtime import get_runtime
from services.common.storable_input import is_record_id
from services.common.utc_time import utcnow
from services.rewards import (
    catalog,
    code_banks,
    fans,
    gift_cards,
    handwritten,
    issuance,
    pack_stats,
    reconcile,
    rules,
    wall,
)
from services.rewards import schemas as s
from services.rewards.api import (
    decode_cursor,
    encode_cursor,
    endpoint,
    is_owner,
    parse_ids,
    require_self_or_staff,
    require_self_or_system,
    require_staff,
)
from services.rewards.errors import InvalidInput
from services.rewards.extension import rewards_extension
from services.rewards.leaderboard import leaderboard
from services.rewards.settings import TIER_ORDER

FAN = "/fans/<fan_id>"


@contextmanager
def transaction() -> Iterator[Session]:
    with get_runtime().db.transaction() as session:
        yield session


@contextmanager
def reading() -> Iterator[Session]:
    """For views that only read: on SQLite it takes no write lock, so a GET neither waits
    behind a writer (an event consumer, a redemption) nor holds one up."""
    with get_runtime().db.reading() as session:
        yield session


def json_body(schema: type[Schema]) -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidInput("Send a JSON object with Content-Type: application/json.")
    loaded: dict[str, Any] = schema().load(data)
    return loaded


def query_args(schema: type[Schema]) -> dict[str, Any]:
    loaded: dict[str, Any] = schema().load(request.args.to_dict())
    return loaded


def parse_reward_ids(text: str) -> list[int]:
    ids = parse_ids(text, limit=s.MAX_PAGE)
    # ASCII digits only: "²" passes isdigit() but not int().
    if not all(part.isascii() and part.isdigit() for part in ids):
        raise InvalidInput(
            "Reward ids are whole numbers, as the rewards API hands them out.",
            details={"fields": {"ids": ["Whole numbers, comma-separated."]}},
        )
    # A number past BIGINT names no reward (and SQLite refuses to bind it): not found.
    return [int(part) for part in ids if is_record_id(part)]


def reply(schema: type[Schema], data: Any, status: int = 200) -> Response:
    response = jsonify(schema().dump(data))
    response.status_code = status
    return response


# Fans


@endpoint(
    FAN,
    "PUT",
    summary="Create or replace a fan's profile",
    tag="fans",
    access="fan (self), staff",
    body=s.FanProfilePutSchema,
    response=s.FanProfileSchema,
)
def put_fan_profile(fan_id: str) -> Response:
    require_self_or_staff(fan_id)
    data = json_body(s.FanProfilePutSchema)
    with transaction() as session:
        return reply(s.FanProfileSchema, fans.put_profile(session, fan_id=fan_id, data=data))


@endpoint(
    FAN,
    "PATCH",
    summary="Change some profile fields (e.g. the thank-you channel)",
    tag="fans",
    access="fan (self), staff",
    body=s.FanProfilePatchSchema,
    response=s.FanProfileSchema,
)
def patch_fan_profile(fan_id: str) -> Response:
    require_self_or_staff(fan_id)
    changes = json_body(s.FanProfilePatchSchema)
    with transaction() as session:
        return reply(
            s.FanProfileSchema, fans.patch_profile(session, fan_id=fan_id, changes=changes)
        )


@endpoint(
    FAN,
    "GET",
    summary="A fan's profile",
    tag="fans",
    access="fan (self), staff",
    response=s.FanProfileSchema,
)
def get_fan_profile(fan_id: str) -> Response:
    require_self_or_staff(fan_id)
    with reading() as session:
        return reply(s.FanProfileSchema, fans.get_profile(session, fan_id=fan_id))


@endpoint(
    "/fans",
    "GET",
    summary="Balance, lifetime points, tier and badges of many fans",
    tag="fans",
    access="staff; a fan for their own id",
    query=s.IdsQuerySchema,
    response=s.FanSummaryListSchema,
)
def get_fan_summaries() -> Response:
    ids = parse_ids(query_args(s.IdsQuerySchema)["ids"])
    for fan_id in ids:
        require_self_or_staff(fan_id)
    with reading() as session:
        return reply(s.FanSummaryListSchema, {"items": fans.fan_summaries(session, fan_ids=ids)})


@endpoint(
    FAN + "/rewards",
    "GET",
    summary="A fan's rewards, newest first (codes for the owner only)",
    tag="fans",
    access="fan (self), staff",
    query=s.FanRewardsQuerySchema,
    response=s.RewardPageSchema,
)
def get_fan_rewards(fan_id: str) -> Response:
    principal = require_self_or_staff(fan_id)
    page = query_args(s.FanRewardsQuerySchema)
    with reading() as session:
        if page["ids"] is not None:
            reward_ids = parse_reward_ids(page["ids"])
            items = fans.fan_rewards_by_ids(session, fan_id=fan_id, reward_ids=reward_ids)
            more = False
        else:
            items, more = fans.fan_rewards_page(
                session, fan_id=fan_id, first=page["first"], after=decode_cursor(page["after"])
            )
        total = fans.count_fan_rewards(session, fan_id=fan_id)
    if not is_owner(principal, fan_id):
        items = [{**item, "code": None, "gift_card_code": None} for item in items]
    return reply(
        s.RewardPageSchema,
        {
            "items": items,
            "page_info": {
                "has_next_page": more,
                "end_cursor": encode_cursor(items[-1]["id"]) if items else None,
            },
            "total_count": total,
        },
    )


@endpoint(
    FAN + "/redemptions",
    "POST",
    summary="Spend points on a catalog item",
    tag="catalog",
    access="fan (self), system",
    body=s.RedeemSchema,
    response=s.RedemptionSchema,
    status=201,
)
def redeem(fan_id: str) -> Response:
    require_self_or_system(fan_id)
    data = json_body(s.RedeemSchema)
    with transaction() as session:
        redemption = catalog.redeem_item(
            session,
            fan_id=fan_id,
            item_id=data["item_id"],
            idempotency_key=data["idempotency_key"],
            context=rewards_extension().redemption,
        )
    return reply(s.RedemptionSchema, redemption, status=201)


@endpoint(
    FAN + "/redemptions",
    "GET",
    summary="A fan's redemptions",
    tag="catalog",
    access="fan (self), staff",
    response=s.RedemptionListSchema,
)
def list_redemptions(fan_id: str) -> Response:
    principal = require_self_or_staff(fan_id)
    with reading() as session:
        items = fans.fan_redemptions(session, fan_id=fan_id)
    if not is_owner(principal, fan_id):
        items = [{**item, "code": None, "gift_card_code": None} for item in items]
    return reply(s.RedemptionListSchema, {"items": items})


@endpoint(
    FAN + "/export",
    "GET",
    summary="Everything rewards holds about a fan",
    tag="fans",
    access="fan (self), staff",
    response=s.FanExportSchema,
)
def export_fan(fan_id: str) -> Response:
    require_self_or_staff(fan_id)
    with reading() as session:
        data = fans.export_fan(session, fan_id=fan_id)
    return reply(s.FanExportSchema, _jsonable(data))


@endpoint(
    FAN,
    "DELETE",
    summary="Erase a fan's personal data (ledger totals stay, anonymous)",
    tag="fans",
    access="fan (self), admin, system",
    status=204,
)
def erase_fan(fan_id: str) -> Response:
    principal = require_self_or_staff(fan_id)
    if principal.role == "marketer":
        require_self_or_system(fan_id)
    with transaction() as session:
        fans.erase_fan(session, fan_id=fan_id)
    return Response(status=204)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


# Rules


@endpoint(
    "/rules", "GET", summary="All rules", tag="rules", access="staff", response=s.RuleListSchema
)
def list_rules() -> Response:
    require_staff()
    with reading() as session:
        return reply(s.RuleListSchema, {"items": rules.list_rules(session)})


@endpoint(
    "/rules",
    "POST",
    summary="Add a rule",
    tag="rules",
    access="staff",
    body=s.RuleCreateSchema,
    response=s.RuleSchema,
    status=201,
)
def create_rule() -> Response:
    require_staff()
    data = json_body(s.RuleCreateSchema)
    with transaction() as session:
        return reply(s.RuleSchema, rules.create_rule(session, data=data), status=201)


@endpoint(
    "/rules/<int:rule_id>",
    "GET",
    summary="One rule",
    tag="rules",
    access="staff",
    response=s.RuleSchema,
)
def get_rule(rule_id: int) -> Response:
    require_staff()
    with reading() as session:
        return reply(s.RuleSchema, rules.get_rule(session, rule_id=rule_id))


@endpoint(
    "/rules/<int:rule_id>",
    "PATCH",
    summary="Change or pause a rule",
    tag="rules",
    access="staff",
    body=s.RuleUpdateSchema,
    response=s.RuleSchema,
)
def update_rule(rule_id: int) -> Response:
    require_staff()
    changes = json_body(s.RuleUpdateSchema)
    with transaction() as session:
        return reply(s.RuleSchema, rules.update_rule(session, rule_id=rule_id, changes=changes))


# Code banks


@endpoint(
    "/code-banks",
    "GET",
    summary="All code banks with stock counts",
    tag="code banks",
    access="staff",
    response=s.CodeBankListSchema,
)
def list_code_banks() -> Response:
    require_staff()
    with reading() as session:
        return reply(s.CodeBankListSchema, {"items": code_banks.list_code_banks(session)})


@endpoint(
    "/code-banks",
    "POST",
    summary="Open a code bank",
    tag="code banks",
    access="staff",
    body=s.CodeBankCreateSchema,
    response=s.CodeBankSchema,
    status=201,
)
def create_code_bank() -> Response:
    require_staff()
    data = json_body(s.CodeBankCreateSchema)
    with transaction() as session:
        return reply(s.CodeBankSchema, code_banks.create_code_bank(session, **data), status=201)


@endpoint(
    "/code-banks/<int:bank_id>",
    "GET",
    summary="One code bank",
    tag="code banks",
    access="staff",
    response=s.CodeBankSchema,
)
def get_code_bank(bank_id: int) -> Response:
    require_staff()
    with reading() as session:
        return reply(s.CodeBankSchema, code_banks.get_code_bank(session, bank_id=bank_id))


@endpoint(
    "/code-banks/<int:bank_id>/codes",
    "POST",
    summary="Upload codes as CSV (text/csv body or multipart 'file'); bad rows are reported",
    tag="code banks",
    access="staff",
    query=s.CodeUploadQuerySchema,
    response=s.CodeUploadReportSchema,
)
def upload_codes(bank_id: int) -> Response:
    require_staff()
    dry_run = query_args(s.CodeUploadQuerySchema)["dry_run"]
    csv_text = _csv_from_request()
    context = rewards_extension().issuance
    if dry_run:
        with transaction() as session:
            preview = code_banks.preview_codes(session, bank_id=bank_id, csv_text=csv_text)
        return reply(
            s.CodeUploadReportSchema,
            {
                "accepted": preview.accepted,
                "rejected": preview.rejected,
                "waiting_rewards_served": 0,
                "dry_run": True,
            },
        )
    with transaction() as session:
        report = code_banks.upload_codes(session, bank_id=bank_id, csv_text=csv_text)
        served = issuance.hand_out_waiting_codes(session, bank_id=bank_id, context=context)
    return reply(
        s.CodeUploadReportSchema,
        {
            "accepted": report.accepted,
            "rejected": report.rejected,
            "waiting_rewards_served": served,
            "dry_run": False,
        },
    )


def _csv_from_request() -> str:
    upload = request.files.get("file")
    raw = upload.read() if upload is not None else request.get_data()
    if not raw:
        raise InvalidInput(
            "Send the codes as a CSV body (Content-Type: text/csv) or a multipart field 'file'."
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("The CSV must be UTF-8 text.") from exc


# Catalog


@endpoint(
    "/catalog",
    "GET",
    summary="Catalog items (active ones unless staff asks for all)",
    tag="catalog",
    access="anyone with a token",
    query=s.CatalogQuerySchema,
    response=s.CatalogItemListSchema,
)
def list_catalog() -> Response:
    include_inactive = query_args(s.CatalogQuerySchema)["include_inactive"]
    if include_inactive:
        require_staff()
    with reading() as session:
        items = catalog.list_items(session, include_inactive=include_inactive)
    return reply(s.CatalogItemListSchema, {"items": items})


@endpoint(
    "/catalog",
    "POST",
    summary="Add a catalog item",
    tag="catalog",
    access="staff",
    body=s.CatalogItemCreateSchema,
    response=s.CatalogItemSchema,
    status=201,
)
def create_catalog_item() -> Response:
    require_staff()
    data = json_body(s.CatalogItemCreateSchema)
    data.setdefault("description", "")
    data.setdefault("active", True)
    with transaction() as session:
        return reply(s.CatalogItemSchema, catalog.create_item(session, data=data), status=201)


@endpoint(
    "/catalog/<int:item_id>",
    "PATCH",
    summary="Change a catalog item (stock, cost...)",
    tag="catalog",
    access="staff",
    body=s.CatalogItemUpdateSchema,
    response=s.CatalogItemSchema,
)
def update_catalog_item(item_id: int) -> Response:
    require_staff()
    changes = json_body(s.CatalogItemUpdateSchema)
    with transaction() as session:
        item = catalog.update_item(session, item_id=item_id, changes=changes)
    return reply(s.CatalogItemSchema, item)


# Marketer queues


@endpoint(
    "/gift-card-orders",
    "GET",
    summary="Gift-card orders (the manual queue)",
    tag="queues",
    access="staff",
    query=s.StatusQuerySchema,
    response=s.GiftCardOrderListSchema,
)
def list_gift_card_orders() -> Response:
    require_staff()
    status = query_args(s.StatusQuerySchema)["status"]
    with reading() as session:
        items = gift_cards.list_gift_card_orders(session, status=status)
    return reply(s.GiftCardOrderListSchema, {"items": items})


@endpoint(
    "/gift-card-orders/<int:order_id>/fulfil",
    "POST",
    summary="Mark a gift-card order fulfilled with the card's code",
    tag="queues",
    access="staff",
    body=s.GiftCardFulfilSchema,
    response=s.GiftCardOrderSchema,
)
def fulfil_gift_card_order(order_id: int) -> Response:
    principal = require_staff()
    data = json_body(s.GiftCardFulfilSchema)
    with transaction() as session:
        order = gift_cards.fulfil_gift_card_order(
            session, order_id=order_id, card_code=data["card_code"], fulfilled_by=principal.user_id
        )
    return reply(s.GiftCardOrderSchema, order)


@endpoint(
    "/handwritten-notes",
    "GET",
    summary="Thank-you notes to write by hand",
    tag="queues",
    access="staff",
    query=s.StatusQuerySchema,
    response=s.HandwrittenNoteListSchema,
)
def list_handwritten_notes() -> Response:
    require_staff()
    status = query_args(s.StatusQuerySchema)["status"]
    with reading() as session:
        items = handwritten.list_handwritten_notes(session, status=status)
    return reply(s.HandwrittenNoteListSchema, {"items": items})


@endpoint(
    "/handwritten-notes/<int:note_id>/written",
    "POST",
    summary="Mark a note written",
    tag="queues",
    access="staff",
    response=s.HandwrittenNoteSchema,
)
def mark_note_written(note_id: int) -> Response:
    principal = require_staff()
    with transaction() as session:
        note = handwritten.mark_note_written(session, note_id=note_id, written_by=principal.user_id)
    return reply(s.HandwrittenNoteSchema, note)


# Everyone


@endpoint(
    "/tiers",
    "GET",
    summary="The tiers and the lifetime points each needs (TIER_THRESHOLDS), lowest first",
    tag="public",
    access="anyone with a token",
    response=s.TierThresholdListSchema,
)
def list_tier_thresholds() -> Response:
    thresholds = rewards_extension().issuance.thresholds
    items = [{"tier": tier, "lifetime_points": thresholds[tier]} for tier in TIER_ORDER]
    return reply(s.TierThresholdListSchema, {"items": items})


@endpoint(
    "/leaderboard",
    "GET",
    summary="Top fans by points for a week, a month or all time",
    tag="public",
    access="anyone with a token (anonymous too)",
    query=s.LeaderboardQuerySchema,
    response=s.LeaderboardSchema,
)
def get_leaderboard() -> Response:
    current_principal()
    args = query_args(s.LeaderboardQuerySchema)
    with reading() as session:
        items = leaderboard(session, period=args["period"], now=utcnow(), first=args["first"])
    return reply(s.LeaderboardSchema, {"period": args["period"], "items": items})


@endpoint(
    "/thank-you-wall",
    "GET",
    summary="The public thank-you wall, newest first",
    tag="public",
    access="anyone with a token (anonymous too)",
    query=s.PageQuerySchema,
    response=s.WallPageSchema,
)
def get_thank_you_wall() -> Response:
    page = query_args(s.PageQuerySchema)
    with reading() as session:
        items, more = wall.wall_page(
            session, first=page["first"], after=decode_cursor(page["after"])
        )
    return reply(
        s.WallPageSchema,
        {
            "items": items,
            "page_info": {
                "has_next_page": more,
                "end_cursor": encode_cursor(items[-1]["id"]) if items else None,
            },
        },
    )


# Packs


@endpoint(
    "/pack-stats",
    "GET",
    summary="Rewards and points issued for deeds on each pack (the funnel's last step)",
    tag="packs",
    access="staff",
    query=s.IdsQuerySchema,
    response=s.PackRewardStatsListSchema,
)
def get_pack_stats() -> Response:
    require_staff()
    pack_ids = parse_ids(query_args(s.IdsQuerySchema)["ids"])
    with reading() as session:
        items = pack_stats.pack_reward_stats(session, pack_ids=pack_ids)
    return reply(s.PackRewardStatsListSchema, {"items": items})


# Ledger


@endpoint(
    "/ledger/reconciliation",
    "GET",
    summary="Check that the ledger balances",
    tag="ledger",
    access="staff",
    response=s.ReconciliationSchema,
)
def get_reconciliation() -> Response:
    require_staff()
    with reading() as session:
        report = reconcile.reconcile_ledger(session)
    return reply(
        s.ReconciliationSchema,
        {
            "ok": report.ok,
            "entries": report.entries,
            "total": report.total,
            "unbalanced_journals": report.unbalanced_journals,
            "mismatched_accounts": report.mismatched_accounts,
        },
    )
