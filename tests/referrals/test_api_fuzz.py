"""Property-based fuzzing of the referrals API from its committed OpenAPI document.

Every documented operation gets generated requests, valid and invalid, as a marketer,
a fan and a partner key; no answer is a 5xx, every 4xx is the error envelope with a
stable code, and documented answers match their schemas (tests/support/api_fuzz.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.common.internal_auth import Principal
from tests.referrals.conftest import (
    MARKETER,
    SECRET,
    ReferralsHarness,
    build_harness,
    close_harness,
    fan,
)
from tests.support.api_fuzz import ServiceApi, fuzz_database, fuzz_settings
from tests.support.postgres import PostgresHarness

FAN = fan("fan-1")
PARTNER = Principal(role="partner", api_key_id="key-1", scopes=("CONVERSIONS_WRITE", "STATS_READ"))
API = ServiceApi("referrals", secret=SECRET, callers=(MARKETER, FAN, PARTNER))
schema = API.schema


@pytest.fixture(scope="module")
def referrals_under_fuzz(
    postgres: PostgresHarness, redis_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReferralsHarness]:
    directory = tmp_path_factory.mktemp("referrals-fuzz")
    with fuzz_database(postgres, directory) as database_url:
        harness = build_harness(database_url, redis_server_url)
        try:
            harness.publish_pack(expires_at=datetime.now(UTC) + timedelta(days=30))
            link = harness.create_link()
            harness.visit(link["code"])
            conversion = harness.call(
                "POST",
                "/v1/conversions",
                PARTNER,
                json={"external_id": "order-1", "referral_code": link["code"]},
            )
            assert conversion.status_code == 201, conversion.json
            API.seed(
                code=[link["code"]],
                fan_id=[FAN.user_id or ""],
                conversion_id=[str(conversion.json["id"])],  # type: ignore[index]
            )
            yield harness
        finally:
            close_harness(harness)


@schema.parametrize()
@fuzz_settings
def test_no_generated_request_gets_a_server_error_or_a_bare_error(
    case: Any, referrals_under_fuzz: ReferralsHarness
) -> None:
    # given the referrals app on a real database and Redis, with a live pack, a fan's
    # link, a click on it and a partner's conversion
    # when a generated request is sent as a marketer, a fan and a partner key
    # (each with its internal token)
    # then it is answered without a 5xx, its 4xx in the envelope, its 2xx as documented
    API.call_and_check(case, app=referrals_under_fuzz.app)
