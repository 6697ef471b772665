"""The gateway's own reads never queue behind a writer: authenticating a bearer token or
a partner key, the viewer and the key list answer while another transaction writes.

On SQLite a transaction of ``Database.transaction()`` takes the file's write lock up front;
a lookup that did the same would wait for the writer (a sign-up, a log-in; up to the 30 s
busy timeout) and hold the next one up. Lookups use ``Database.reading()``; a key's use
is written at most once a minute, so most partner calls write nothing. Mutations whose
gateway part only reads (making a link reads the fan's email; the export reads their
account) read the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gateway.models import ApiKey, User
from tests.gateway.conftest import PASSWORD, bearer, log_in, post_graphql
from tests.gateway.platform import CREATE_LINK, Platform
from tests.gateway.test_api_keys import create_key, staff_token
from tests.support.writer_beside import answered_promptly
from tests.support.writer_beside import writer_holding_its_transaction as holding_a_write

WHO_AM_I = "{ viewer { user { id } } }"


@pytest.fixture
def writer_holding_its_transaction(gateway_app: Flask) -> Iterator[None]:
    """Another connection in the middle of a write (on SQLite: holding the file's lock)."""
    with holding_a_write(
        gateway_app.extensions["fanfare"].db, update(User).values(display_name="Being renamed")
    ):
        yield


@pytest.fixture
def callers(client: FlaskClient, gateway_app: Flask) -> dict[str, str]:
    """A key used once (its use recorded), and a marketer token never looked up yet."""
    staff = staff_token(gateway_app)
    secret = create_key(client, staff, ["CONTENT_READ"])["secret"]
    used = post_graphql(client, WHO_AM_I, headers={"X-API-Key": secret})
    assert used.status_code == 200
    fresh = log_in(client, "marketer@brand.example", PASSWORD).json["data"]["logIn"]["token"]
    return {"key": secret, "token": fresh}


def test_lookups_answer_while_another_transaction_writes(
    client: FlaskClient,
    gateway_app: Flask,
    callers: dict[str, str],
    writer_holding_its_transaction: None,
) -> None:
    # given a partner key used a moment ago, a marketer's token, and a writer mid-transaction
    # when the partner calls with its key
    partner = answered_promptly(
        partial(
            post_graphql,
            client,
            "{ viewer { user { id } } }",
            headers={"X-API-Key": callers["key"]},
        )
    )
    # and the marketer, whose token is read from the database, asks who they are and for keys
    marketer = answered_promptly(
        partial(
            post_graphql,
            client,
            "{ viewer { user { displayName } } apiKeys { prefix } }",
            headers=bearer(callers["token"]),
        )
    )

    # then both are answered at once, with what was committed before the writer began
    assert partner.status_code == 200
    assert partner.json["data"] == {"viewer": None}
    assert marketer.status_code == 200
    assert marketer.json["data"]["viewer"]["user"]["displayName"] == "marketer"
    assert len(marketer.json["data"]["apiKeys"]) == 1


def test_a_keys_use_is_recorded_again_once_its_last_use_is_a_minute_old(
    client: FlaskClient, gateway_app: Flask, callers: dict[str, str]
) -> None:
    # given a key whose recorded use is a year old
    db = gateway_app.extensions["fanfare"].db
    with db.transaction() as session:
        (key,) = session.scalars(select(ApiKey))
        old = key.last_used_at
        assert old is not None
        session.execute(update(ApiKey).values(last_used_at=old.replace(year=old.year - 1)))

    # when the partner calls with it
    response = post_graphql(
        client, "{ viewer { user { id } } }", headers={"X-API-Key": callers["key"]}
    )

    # then its use is recorded as now
    assert response.status_code == 200
    with db.reading() as session:
        (key,) = session.scalars(select(ApiKey))
        assert key.last_used_at is not None
        assert key.last_used_at.year == old.year


EXPORT_MY_DATA = "mutation { exportMyData { data errors { code message } } }"


@pytest.fixture
def platform_writer_holding_its_transaction(platform: Platform) -> Iterator[None]:
    """A gateway writer mid-transaction beside the assembled platform (a sign-up, a rename)."""
    with holding_a_write(
        platform.gateway.extensions["fanfare"].db,
        update(User).values(display_name="Being renamed"),
    ):
        yield


def test_a_fan_makes_a_link_while_another_transaction_writes(
    platform: Platform, platform_writer_holding_its_transaction: None
) -> None:
    # given a fan, three published packs, and a gateway writer mid-transaction
    # when the fan makes a link to share a pack (the gateway only reads their email)
    made = answered_promptly(
        partial(
            post_graphql,
            platform.client,
            CREATE_LINK,
            {"packId": platform.pack_ids[0]},
            headers=bearer(platform.fan),
        )
    )

    # then the link is made at once, not after the writer
    assert made.status_code == 200
    payload = made.json["data"]["createReferralLink"]
    assert payload["errors"] == []
    assert payload["referralLink"]["shortUrl"].startswith("https://fan.example/")


def test_a_fan_exports_their_data_while_another_transaction_writes(
    platform: Platform, platform_writer_holding_its_transaction: None
) -> None:
    # given a fan and a gateway writer mid-transaction
    # when the fan exports their data (the gateway's part is only read)
    exported = answered_promptly(
        partial(post_graphql, platform.client, EXPORT_MY_DATA, headers=bearer(platform.fan))
    )

    # then the export comes at once, with what was committed before the writer began
    assert exported.status_code == 200
    payload = exported.json["data"]["exportMyData"]
    assert payload["errors"] == []
    gateway_part = json.loads(payload["data"])["gateway"]
    assert gateway_part["email"] == "ann@example.com"
    assert gateway_part["display_name"] == "Ann"
