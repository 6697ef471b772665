"""REST for the gateway, under /v1/ (every call carries the internal token).

Each view parses with a schema, calls one service function, dumps with a schema.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from services.common.internal_auth import current_principal
from services.common.runtime import get_runtime
from services.common.storable_input import is_record_id, record_ids
from services.referrals import conversions as conversion_service
from services.referrals import fans as fan_service
from services.referrals import links as link_service
from services.referrals import shares as share_service
from services.referrals import stats as stats_service
from services.referrals.apidoc import Operation, documented
from services.referrals.components import ReferralsComponents, get_components
from services.referrals.directory import LinkTarget
from services.referrals.errors import InvalidReference, NotAllowed
from services.referrals.permissions import (
    is_staff,
    is_stats_reader,
    require_fan,
    require_partner,
    require_self_or_staff,
    require_signed_in,
    require_staff,
)
from services.referrals.schemas import (
    ConversionCreateSchema,
    ConversionListSchema,
    ConversionReverseSchema,
    ConversionReviewSchema,
    ConversionSchema,
    DailyQuerySchema,
    DailySeriesSchema,
    FanErasureSchema,
    FanExportSchema,
    FanLinkPageSchema,
    FanLinksQuerySchema,
    IdsQuerySchema,
    LinkBatchQuerySchema,
    ReferralLinkCreateSchema,
    ReferralLinkListSchema,
    ReferralLinkSchema,
    ShareCreateSchema,
    ShareSchema,
    StatsQuerySchema,
    TallyListSchema,
    TopFansQuerySchema,
)

api = Blueprint("referrals_api", __name__, url_prefix="/v1")


def _now() -> datetime:
    return datetime.now(UTC)


def _body(schema: type[Any]) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise InvalidReference("Send a JSON object as the request body.", code="INVALID_JSON")
    loaded: dict[str, Any] = schema().load(payload)
    return loaded


def _query(schema: type[Any]) -> dict[str, Any]:
    loaded: dict[str, Any] = schema().load(request.args.to_dict())
    return loaded


def _link_out(
    components: ReferralsComponents, record: link_service.ReferralLinkRecord
) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "code": record.code,
        "short_url": components.short_url(record.code),
        "destination_url": record.destination_url,
        "channel": record.channel,
        "pack_id": record.pack_id,
        "fan_id": record.fan_id,
        "qr_code_url": components.qr_url(record.code),
        "created_at": record.created_at,
    }


def _conversion_out(record: conversion_service.ConversionRecord) -> dict[str, Any]:
    out = dict(record.__dict__)
    out["id"] = str(record.id)
    out["status"] = record.status.value
    out["link_id"] = str(record.link_id) if record.link_id is not None else None
    return out


def _json(schema: type[Any], data: Any, status: int = 200) -> tuple[Response, int]:
    return jsonify(schema().dump(data)), status


# -- links -----------------------------------------------------------------------------


@api.post("/links")
@documented(
    Operation(
        summary="The calling fan's link for (pack, channel): made once, returned ever after.",
        body=ReferralLinkCreateSchema,
        responses={201: ReferralLinkSchema, 200: ReferralLinkSchema},
        errors=(403, 404, 409, 422),
        tags=("links",),
    )
)
def create_link() -> tuple[Response, int]:
    fan_id = require_fan()
    data = _body(ReferralLinkCreateSchema)
    components = get_components()
    with get_runtime().db.transaction() as session:
        record, created = link_service.create_link(session, fan_id=fan_id, now=_now(), **data)
    components.directory.remember_link(
        LinkTarget(
            link_id=record.id, code=record.code, pack_id=record.pack_id, channel=record.channel
        )
    )
    return _json(ReferralLinkSchema, _link_out(components, record), 201 if created else 200)


@api.get("/links")
@documented(
    Operation(
        summary="Links by id or by code, in batch (a fan sees only their own).",
        query=LinkBatchQuerySchema,
        responses={200: ReferralLinkListSchema},
        errors=(403, 422),
        tags=("links",),
    )
)
def get_links() -> tuple[Response, int]:
    principal = require_signed_in()
    query = _query(LinkBatchQuerySchema)
    with get_runtime().db.reading() as session:
        if query.get("ids"):
            ids = record_ids(query["ids"])
            records = link_service.links_by_ids(session, ids) if ids else []
        else:
            records = link_service.links_by_codes(session, query["codes"])
    if not is_staff(principal):
        records = _visible_links(principal, records, by_code=bool(query.get("codes")))
    components = get_components()
    return _json(ReferralLinkListSchema, {"items": [_link_out(components, r) for r in records]})


@api.get("/fans/<fan_id>/links")
@documented(
    Operation(
        summary=(
            "A fan's links, newest first, paged; or their links for some packs; "
            "with include=stats, each link's numbers too."
        ),
        query=FanLinksQuerySchema,
        responses={200: FanLinkPageSchema},
        errors=(403, 422),
        tags=("links",),
    )
)
def fan_links(fan_id: str) -> tuple[Response, int]:
    require_self_or_staff(fan_id)
    query = _query(FanLinksQuerySchema)
    components = get_components()
    with get_runtime().db.reading() as session:
        if query.get("pack_ids"):
            records = link_service.fan_links_for_packs(
                session, fan_id=fan_id, pack_ids=query["pack_ids"]
            )
            page = link_service.LinkPage(records, False, None, len(records))
        else:
            page = link_service.fan_links_page(
                session, fan_id=fan_id, first=query["first"], after=query["after"]
            )
        # The gateway's page of packs wants the viewer's links and their numbers in
        # one call; the fan (or staff) may see the numbers of the fan's own links.
        tallies = _tallies_by_link(session, page.items) if query["include"] == "stats" else None
    items = []
    for record in page.items:
        item = {**_link_out(components, record), "cursor": link_service.encode_cursor(record.id)}
        if tallies is not None:
            item["stats"] = tallies[str(record.id)]
        items.append(item)
    return _json(
        FanLinkPageSchema,
        {
            "items": items,
            "page_info": {"has_next_page": page.has_next_page, "end_cursor": page.end_cursor},
            "total_count": page.total_count,
        },
    )


def _tallies_by_link(
    session: Any, records: list[link_service.ReferralLinkRecord]
) -> dict[str, stats_service.Tally]:
    keys = [str(record.id) for record in records]
    found = stats_service.tallies(session, stats_service.Scope.LINK, keys) if keys else []
    return {tally.key: tally for tally in found}


def _visible_links(
    principal: Any, records: list[link_service.ReferralLinkRecord], *, by_code: bool
) -> list[link_service.ReferralLinkRecord]:
    """By id, a fan sees only their own links. A code is public (it is in the short URL), so
    anyone may resolve one, but only its owner learns who owns it."""
    mine = [record for record in records if record.fan_id == principal.user_id]
    if not by_code:
        return mine
    return [record if record in mine else replace(record, fan_id=None) for record in records]


# -- shares ----------------------------------------------------------------------------


@api.post("/shares")
@documented(
    Operation(
        summary="Record that the calling fan shared a pack (sends referrals.share_recorded).",
        body=ShareCreateSchema,
        responses={201: ShareSchema},
        errors=(403, 404, 409, 422),
        tags=("shares",),
    )
)
def create_share() -> tuple[Response, int]:
    fan_id = require_fan()
    data = _body(ShareCreateSchema)
    runtime = get_runtime()
    with runtime.db.transaction() as session:
        share = share_service.record_share(
            session, runtime.outbox, fan_id=fan_id, now=_now(), **data
        )
    return _json(ShareSchema, {**share.__dict__, "id": str(share.id)}, 201)


# -- conversions -----------------------------------------------------------------------


@api.post("/conversions")
@documented(
    Operation(
        summary="A partner reports a conversion; a repeat external id returns the same one.",
        body=ConversionCreateSchema,
        responses={201: ConversionSchema, 200: ConversionSchema},
        errors=(403, 422),
        tags=("conversions",),
    )
)
def create_conversion() -> tuple[Response, int]:
    partner_id = require_partner()
    data = _body(ConversionCreateSchema)
    now = _now()
    occurred_at = data.pop("occurred_at") or now
    if occurred_at > now + conversion_service.CLOCK_SKEW:
        raise InvalidReference(
            "occurred_at is in the future; send the time the conversion happened.",
            details={"fields": {"occurred_at": ["In the future."]}},
        )
    runtime = get_runtime()
    with runtime.db.transaction() as session:
        record, created = conversion_service.record_conversion(
            session,
            runtime.outbox,
            get_components().policy,
            partner_id=partner_id,
            occurred_at=occurred_at,
            now=now,
            **data,
        )
    return _json(ConversionSchema, _conversion_out(record), 201 if created else 200)


@api.post("/conversions/reverse")
@documented(
    Operation(
        summary="A partner reverses (refunds) a conversion it reported; repeats change nothing.",
        body=ConversionReverseSchema,
        responses={200: ConversionSchema},
        errors=(403, 404, 422),
        tags=("conversions",),
    )
)
def reverse_conversion() -> tuple[Response, int]:
    partner_id = require_partner()
    data = _body(ConversionReverseSchema)
    runtime = get_runtime()
    with runtime.db.transaction() as session:
        record = conversion_service.reverse_conversion(
            session, runtime.outbox, partner_id=partner_id, now=_now(), **data
        )
    return _json(ConversionSchema, _conversion_out(record))


@api.post("/conversions/<int:conversion_id>/review")
@documented(
    Operation(
        summary="A marketer approves or rejects a conversion held PENDING for review.",
        body=ConversionReviewSchema,
        responses={200: ConversionSchema},
        errors=(403, 404, 409, 422),
        tags=("conversions",),
    )
)
def review_conversion(conversion_id: int) -> tuple[Response, int]:
    require_staff()
    data = _body(ConversionReviewSchema)
    runtime = get_runtime()
    with runtime.db.transaction() as session:
        record = conversion_service.review_conversion(
            session,
            runtime.outbox,
            conversion_id=conversion_id,
            approve=data["decision"] == "APPROVE",
            note=data["note"],
            now=_now(),
        )
    return _json(ConversionSchema, _conversion_out(record))


@api.get("/conversions")
@documented(
    Operation(
        summary="Conversions by id, in batch (staff see all, a partner its own).",
        query=IdsQuerySchema,
        responses={200: ConversionListSchema},
        errors=(403, 422),
        tags=("conversions",),
    )
)
def get_conversions() -> tuple[Response, int]:
    principal = current_principal()
    if not is_staff(principal) and principal.role != "partner":
        require_staff()
    query = _query(IdsQuerySchema)
    ids = record_ids(query["ids"])
    with get_runtime().db.reading() as session:
        records = conversion_service.conversions_by_ids(session, ids) if ids else []
    if principal.role == "partner":
        records = [record for record in records if record.partner_id == principal.api_key_id]
    return _json(ConversionListSchema, {"items": [_conversion_out(r) for r in records]})


# -- stats -----------------------------------------------------------------------------


def _stats(scope: stats_service.Scope) -> tuple[Response, int]:
    principal = require_signed_in()
    query = _query(StatsQuerySchema)
    keys: list[str] = query["ids"]
    with get_runtime().db.reading() as session:
        if not is_staff(principal):
            keys = _keys_visible_to(session, principal, scope, keys)
        if scope is stats_service.Scope.LINK:
            keys = [key for key in keys if is_record_id(key)]
        items = stats_service.tallies(session, scope, keys, since=query["since"]) if keys else []
    return _json(TallyListSchema, {"items": items})


def _keys_visible_to(
    session: Any, principal: Any, scope: stats_service.Scope, keys: list[str]
) -> list[str]:
    """A fan sees the numbers of their own links and their own fan id, nothing else.

    A partner key with STATS_READ sees any link's or pack's aggregates: counts keyed by
    link or pack id, nothing that names a fan.
    """
    if is_stats_reader(principal):
        if scope is stats_service.Scope.FAN:
            raise NotAllowed(
                "A partner key with STATS_READ reads link and pack statistics, not a fan's."
            )
        return keys
    if principal.role != "fan":
        require_staff()
    if scope is stats_service.Scope.FAN:
        return [key for key in keys if key == principal.user_id]
    if scope is stats_service.Scope.LINK:
        ids = record_ids(keys)
        owned = link_service.links_by_ids(session, ids) if ids else []
        return [str(link.id) for link in owned if link.fan_id == principal.user_id]
    require_staff()
    return keys


@api.get("/stats/links")
@documented(
    Operation(
        summary="Per link: human clicks, unique visitors, previews, bots, conversions, revenue.",
        query=StatsQuerySchema,
        responses={200: TallyListSchema},
        errors=(403, 422),
        tags=("stats",),
    )
)
def link_stats() -> tuple[Response, int]:
    return _stats(stats_service.Scope.LINK)


@api.get("/stats/fans")
@documented(
    Operation(
        summary="Per fan: shares, clicks, conversions and revenue (the leaderboard's numbers).",
        query=StatsQuerySchema,
        responses={200: TallyListSchema},
        errors=(403, 422),
        tags=("stats",),
    )
)
def fan_stats() -> tuple[Response, int]:
    return _stats(stats_service.Scope.FAN)


@api.get("/stats/packs")
@documented(
    Operation(
        summary="Per pack (staff, STATS_READ keys): shares, clicks, previews, bots, "
        "conversions, revenue.",
        query=StatsQuerySchema,
        responses={200: TallyListSchema},
        errors=(403, 422),
        tags=("stats",),
    )
)
def pack_stats() -> tuple[Response, int]:
    return _stats(stats_service.Scope.PACK)


@api.get("/stats/daily")
@documented(
    Operation(
        summary="A daily time series for one link, fan or pack (UTC days, zeros included).",
        query=DailyQuerySchema,
        responses={200: DailySeriesSchema},
        errors=(403, 422),
        tags=("stats",),
    )
)
def daily_stats() -> tuple[Response, int]:
    principal = require_signed_in()
    query = _query(DailyQuerySchema)
    scope = stats_service.Scope(query["scope"])
    with get_runtime().db.reading() as session:
        visible = (
            [query["id"]]
            if is_staff(principal)
            else _keys_visible_to(session, principal, scope, [query["id"]])
        )
        if not visible or (scope is stats_service.Scope.LINK and not is_record_id(visible[0])):
            items: list[stats_service.DayTally] = []
        else:
            items = stats_service.daily_series(
                session, scope, visible[0], start=query["start"], end=query["end"]
            )
    return _json(DailySeriesSchema, {"items": items})


@api.get("/stats/top-fans")
@documented(
    Operation(
        summary="Fans with the most approved conversions, then human clicks.",
        query=TopFansQuerySchema,
        responses={200: TallyListSchema},
        errors=(403, 422),
        tags=("stats",),
    )
)
def top_fans() -> tuple[Response, int]:
    principal = require_signed_in()
    if principal.role == "partner":
        raise NotAllowed("The leaderboard names fans: partner keys cannot read it.")
    query = _query(TopFansQuerySchema)
    with get_runtime().db.reading() as session:
        items = stats_service.top_fans(session, since=query["since"], first=query["first"])
    return _json(TallyListSchema, {"items": items})


# -- a fan's data ----------------------------------------------------------------------


@api.get("/fans/<fan_id>/export")
@documented(
    Operation(
        summary="Everything this service holds about the fan.",
        responses={200: FanExportSchema},
        errors=(403,),
        tags=("fans",),
    )
)
def export_fan(fan_id: str) -> tuple[Response, int]:
    require_self_or_staff(fan_id)
    with get_runtime().db.reading() as session:
        data = fan_service.export_fan(session, fan_id)
    return _json(FanExportSchema, data)


@api.delete("/fans/<fan_id>")
@documented(
    Operation(
        summary="Erase the fan's personal ties; anonymous counts are kept.",
        responses={200: FanErasureSchema},
        errors=(403,),
        tags=("fans",),
    )
)
def erase_fan(fan_id: str) -> tuple[Response, int]:
    require_self_or_staff(fan_id)
    with get_runtime().db.transaction() as session:
        untied = fan_service.erase_fan(session, fan_id, now=_now())
    return _json(FanErasureSchema, {"fan_id": fan_id, "untied": untied})
