"""Packs as reads select them: one SELECT gives each pack's columns, tags, cover and teaser.

A page of packs used to cost a statement per part (the packs, their tags, their
covers, the covers' thumbnails, the total), an ORM object per pack, and the
building of those statements anew on every request. Here:

- the parts are correlated subqueries of one statement (each an index lookup per
  pack on both databases) and the total an uncorrelated one (computed once);
- statements are built once per shape (dialect, who reads, by what, which
  filters) with bind parameters and kept: building a statement of this size
  cost more CPU than running it;
- rows stay rows, and the two JSON columns are read as text and decoded with
  orjson (the driver's JSON loader is the standard library's, several times
  slower on a page of packs).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple

import orjson
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from services.common.utc_time import UtcDateTime
from services.content.models import Asset, ContentPack, PackTag, Rendition
from services.content.sql import dialect_of, id_in_parameter, joined_in_order, joined_reader

# The rendition a locked or summary pack shows as its teaser.
TEASER_RENDITION = "thumbnail"
# LIKE's escape character for the search term (as SQLAlchemy's autoescape uses).
LIKE_ESCAPE = "/"


class PackRow(NamedTuple):
    """What presenting a pack needs, as one SELECT reads it."""

    id: int
    slug: str
    title: str
    summary: str
    story: str
    purpose: str
    status: str
    min_tier: str
    destination_url: str
    captions: list[dict[str, str]]
    hashtags: list[str]
    sharing_rewarded: bool
    disclosure: str
    published_at: datetime | None
    expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    tags: list[str]
    # The pack's cover (its oldest READY asset) and that cover's thumbnail, if any.
    cover_asset_id: int | None
    teaser_storage_key: str | None


class PackQuery(NamedTuple):
    """The shape of a pack read; its values go in as parameters (see :func:`read_packs`).

    ``by`` "id" takes ``pack_id``, "slug" ``slug``, "ids" ``ids``; "page" is a page
    newest first, ``limit`` rows (after ``last_id`` when ``after``), each carrying
    the total for the same filter. ``visible_only`` (fans, partners, anonymous
    callers) keeps published packs unexpired at ``now``. Filters take ``status``,
    ``purpose``, ``tag`` and ``term`` (lower case, LIKE-escaped).
    """

    dialect: str
    by: Literal["id", "slug", "ids", "page"]
    visible_only: bool
    status: bool = False
    purpose: bool = False
    tag: bool = False
    search: bool = False
    after: bool = False


_PLAIN_COLUMNS = (
    ContentPack.id,
    ContentPack.slug,
    ContentPack.title,
    ContentPack.summary,
    ContentPack.story,
    ContentPack.purpose,
    ContentPack.status,
    ContentPack.min_tier,
    ContentPack.destination_url,
)
_FIRST_DATE = len(_PLAIN_COLUMNS) + 4
# Where a page's total sits in each row: after the PackRow columns.
TOTAL_COLUMN = len(PackRow._fields)


def _conditions(query: PackQuery, pack: type[ContentPack]) -> list[ColumnElement[bool]]:
    """Visibility and filters on ``pack`` (the table or an alias of it)."""
    conditions: list[ColumnElement[bool]] = []
    if query.visible_only:
        now = bindparam("now", type_=UtcDateTime)
        conditions += [
            pack.status == "PUBLISHED",
            or_(pack.expires_at.is_(None), pack.expires_at > now),
        ]
    if query.status:
        conditions.append(pack.status == bindparam("status"))
    if query.purpose:
        conditions.append(pack.purpose == bindparam("purpose"))
    if query.tag:
        conditions.append(
            exists().where(PackTag.pack_id == pack.id, PackTag.tag == bindparam("tag"))
        )
    if query.search:
        term = bindparam("term", type_=String())
        conditions.append(
            or_(
                func.lower(pack.title).contains(term, escape=LIKE_ESCAPE),
                func.lower(pack.summary).contains(term, escape=LIKE_ESCAPE),
                func.lower(pack.story).contains(term, escape=LIKE_ESCAPE),
            )
        )
    return conditions


@functools.lru_cache(maxsize=256)
def pack_statement(query: PackQuery) -> Select[Any]:
    """The SELECT of a :class:`PackQuery` shape, built once per shape."""
    cover_asset_id = (
        select(func.min(Asset.id))
        .where(Asset.pack_id == ContentPack.id, Asset.status == "READY")
        # Explicitly: inside the teaser's subquery, auto-correlation looks one level up only.
        .correlate(ContentPack)
        .scalar_subquery()
    )
    teaser_storage_key = (
        select(Rendition.storage_key)
        .where(Rendition.asset_id == cover_asset_id, Rendition.name == TEASER_RENDITION)
        .scalar_subquery()
    )
    tags = (
        select(joined_in_order(query.dialect, PackTag.tag))
        .where(PackTag.pack_id == ContentPack.id)
        .scalar_subquery()
    )
    columns: list[Any] = [
        *_PLAIN_COLUMNS,
        # Text, not JSON: decoded with orjson rather than by the driver.
        cast(ContentPack.captions, Text),
        cast(ContentPack.hashtags, Text),
        ContentPack.sharing_rewarded,
        ContentPack.disclosure,
        ContentPack.published_at,
        ContentPack.expires_at,
        ContentPack.created_at,
        ContentPack.updated_at,
        tags,
        cover_asset_id,
        teaser_storage_key,
    ]
    conditions = _conditions(query, ContentPack)
    if query.by == "page":
        # Over its own alias of the table, so that it is not correlated to each row.
        counted = aliased(ContentPack)
        columns.append(
            select(func.count())
            .select_from(counted)
            .where(*_conditions(query, counted))
            .scalar_subquery()
        )
        if query.after:
            conditions.append(ContentPack.id < bindparam("last_id"))
    elif query.by == "id":
        conditions.append(ContentPack.id == bindparam("pack_id"))
    elif query.by == "slug":
        conditions.append(ContentPack.slug == bindparam("slug"))
    else:
        conditions.append(id_in_parameter(query.dialect, ContentPack.id, "ids"))
    statement = select(*columns).where(*conditions)
    if query.by == "page":
        statement = statement.order_by(ContentPack.id.desc()).limit(
            bindparam("limit", type_=Integer)
        )
    return statement


def page_total(session: Session, query: PackQuery, params: Mapping[str, Any]) -> int:
    """The total of a page's filter, for a page that has no row to carry it."""
    counted = pack_statement(query).selected_columns[TOTAL_COLUMN]
    return int(session.scalar(select(counted), dict(params)) or 0)


def read_packs(session: Session, query: PackQuery, params: Mapping[str, Any]) -> Sequence[Any]:
    """The raw rows of ``query`` (a page's carry its total at :data:`TOTAL_COLUMN`)."""
    return session.execute(pack_statement(query), dict(params)).all()


def pack_rows(session: Session, rows: Sequence[Any]) -> list[PackRow]:
    """Rows of :func:`read_packs` as PackRows."""
    first_json = len(_PLAIN_COLUMNS)
    loads = orjson.loads
    split_tags = joined_reader(dialect_of(session))
    return [
        PackRow(  # type: ignore[call-arg]  # mypy cannot count the starred slices
            *row[:first_json],
            loads(row[first_json]),
            loads(row[first_json + 1]),
            row[first_json + 2],
            row[first_json + 3],
            *row[_FIRST_DATE : _FIRST_DATE + 4],
            split_tags(row[_FIRST_DATE + 4]),
            row[_FIRST_DATE + 5],
            row[_FIRST_DATE + 6],
        )
        for row in rows
    ]


def pack_by_id(session: Session, pack_id: int) -> PackRow:
    """One pack, whoever may see it (for answers to the marketer who just changed it)."""
    query = PackQuery(dialect=dialect_of(session), by="id", visible_only=False)
    return pack_rows(session, read_packs(session, query, {"pack_id": pack_id}))[0]
