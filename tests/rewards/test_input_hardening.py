"""Inputs the API fuzzer (test_api_fuzz.py) found answered with a 500, each now a clear 4xx."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from sqlalchemy import func, select

from services.rewards.models import catalog_items, code_banks, rules
from tests.rewards.conftest import RewardsDriver, fan

MISSING_BANK = 987_654


def count(driver: RewardsDriver, table: Any) -> int:
    with driver.runtime.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_an_item_or_rule_naming_a_missing_code_bank_is_refused_naming_the_field(
    driver: RewardsDriver,
) -> None:
    # given no code bank, and a merch item and a points rule that name one anyway
    item = {"name": "Mug", "kind": "MERCH", "cost_points": 10, "code_bank_id": MISSING_BANK}
    rule = {
        "name": "Shares",
        "trigger": "SHARE_RECORDED",
        "reward_kind": "POINTS",
        "points": 5,
        "code_bank_id": MISSING_BANK,
    }

    # when a marketer creates them
    answers = [
        driver.call("POST", "/v1/catalog", json=item),
        driver.call("POST", "/v1/rules", json=rule),
    ]

    # then both are refused naming code_bank_id, and neither was written
    for response in answers:
        assert response.status_code == 422
        assert response.json["error"]["details"] == {
            "fields": {"code_bank_id": ["No such code bank."]}
        }
    assert (count(driver, catalog_items), count(driver, rules)) == (0, 0)


def test_changing_an_item_to_a_missing_code_bank_is_refused_and_changes_nothing(
    driver: RewardsDriver,
) -> None:
    # given a merch item
    created = driver.call(
        "POST", "/v1/catalog", json={"name": "Mug", "kind": "MERCH", "cost_points": 10}
    )
    assert created.status_code == 201

    # when a marketer points it at a bank that does not exist
    response = driver.call(
        "PATCH", f"/v1/catalog/{created.json['id']}", json={"code_bank_id": MISSING_BANK}
    )

    # then it is refused naming the field, and the item is as it was
    assert response.status_code == 422
    assert list(response.json["error"]["details"]["fields"]) == ["code_bank_id"]
    items = driver.call("GET", "/v1/catalog").json["items"]
    assert [item["code_bank_id"] for item in items] == [None]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/catalog", {"name": "Mug", "kind": "MERCH", "cost_points": 1, "stock": 2**31}),
        ("/v1/code-banks", {"name": "Spring", "low_stock_threshold": 2**31}),
        ("/v1/catalog", {"name": "Mug", "kind": "MERCH", "cost_points": 1, "code_bank_id": 2**63}),
    ],
)
def test_a_number_past_what_its_column_holds_is_refused_naming_the_field(
    driver: RewardsDriver, path: str, body: dict[str, object]
) -> None:
    # given a body with one number too large for its column
    field = [name for name, value in body.items() if isinstance(value, int) and value >= 2**31]

    # when a marketer sends it
    response = driver.call("POST", path, json=body)

    # then it is refused naming that field
    assert response.status_code == 422
    assert list(response.json["error"]["details"]["fields"]) == field


def test_a_code_bank_name_with_a_nul_character_is_refused_and_not_written(
    driver: RewardsDriver,
) -> None:
    # when a marketer names a code bank with a NUL character in it
    response = driver.call(
        "POST",
        "/v1/code-banks",
        data=b'{"name": "Spring\\u0000"}',
        content_type="application/json",
    )

    # then it is refused naming the field, and no bank was written
    assert response.status_code == 422
    assert response.json["error"]["code"] == "INVALID_CHARACTERS"
    assert response.json["error"]["details"] == {"location": "body", "field": "name"}
    assert count(driver, code_banks) == 0


@pytest.mark.parametrize(
    "path",
    [
        "/v1/fans?ids=fan-1%00",
        "/v1/pack-stats?ids=pack-1%00",
        "/v1/gift-card-orders?status=PENDING%00",
        "/v1/handwritten-notes?status=PENDING%00",
    ],
)
def test_a_query_with_a_nul_character_is_refused_naming_the_parameter(
    driver: RewardsDriver, path: str
) -> None:
    # when staff read with a NUL character (%00) in a query parameter
    response = driver.call("GET", path)

    # then the read is refused naming the parameter
    assert response.status_code == 422
    assert response.json["error"]["code"] == "INVALID_CHARACTERS"
    assert response.json["error"]["details"]["location"] == "query"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/v1/gift-card-orders/{2**63}/fulfil", {"card_code": "AMZ-1"}),
        (f"/v1/handwritten-notes/{2**63}/written", None),
        (f"/v1/rules/{2**63}", None),
    ],
)
def test_an_id_past_64_bits_is_unknown_not_a_server_error(
    driver: RewardsDriver, path: str, body: dict[str, str] | None
) -> None:
    # when staff act on an id no BIGINT can hold
    response = driver.call(
        "POST" if path.endswith(("fulfil", "written")) else "GET", path, json=body
    )

    # then it is a 404 like any unknown id
    assert response.status_code == 404
    assert response.json["error"]["code"] == "NOT_FOUND"


def test_a_redemption_of_an_item_id_past_64_bits_is_refused(driver: RewardsDriver) -> None:
    # when a fan redeems an item id no BIGINT can hold
    response = driver.call(
        "POST", "/v1/fans/fan-1/redemptions", fan("fan-1"), json={"item_id": 2**63}
    )

    # then it is refused naming the field
    assert response.status_code == 422
    assert list(response.json["error"]["details"]["fields"]) == ["item_id"]


def test_a_second_rule_with_a_taken_key_is_a_conflict_and_not_written(
    driver: RewardsDriver,
) -> None:
    # given a rule with the key "spring-shares", and another rule
    rule = {"name": "Shares", "trigger": "SHARE_RECORDED", "reward_kind": "POINTS", "points": 5}
    first = driver.call("POST", "/v1/rules", json={**rule, "key": "spring-shares"})
    other = driver.call("POST", "/v1/rules", json={**rule, "key": "autumn-shares"})
    assert (first.status_code, other.status_code) == (201, 201)

    # when a marketer creates one more with that key, and gives the other rule that key
    again = driver.call("POST", "/v1/rules", json={**rule, "key": "spring-shares"})
    renamed = driver.call("PATCH", f"/v1/rules/{other.json['id']}", json={"key": "spring-shares"})

    # then both are 409 KEY_TAKEN naming the key, and the rules are as they were
    for response in (again, renamed):
        assert response.status_code == 409
        assert response.json["error"]["code"] == "KEY_TAKEN"
        assert list(response.json["error"]["details"]["fields"]) == ["key"]
    keys = [item["key"] for item in driver.call("GET", "/v1/rules").json["items"]]
    assert keys == ["spring-shares", "autumn-shares"]


def test_reward_ids_and_cursors_past_64_bits_or_in_other_digits_are_not_server_errors(
    driver: RewardsDriver,
) -> None:
    # given a fan with a reward, and ids or cursor positions no BIGINT holds (2**64)
    # or in digits int() refuses ("²")
    driver.rule(name="s", trigger="SHARE_RECORDED", reward_kind="POINTS", points=10)
    driver.share("fan-1")
    (reward,) = driver.call("GET", "/v1/fans/fan-1/rewards", fan("fan-1")).json["items"]
    huge, superscript = str(2**64), "\u00b2"

    # when the fan reads rewards by those ids, and pages after those positions
    by_huge_id = driver.call("GET", f"/v1/fans/fan-1/rewards?ids={reward['id']},{huge}")
    by_superscript = driver.call("GET", f"/v1/fans/fan-1/rewards?ids={superscript}")
    pages = [
        driver.call("GET", f"/v1/{path}?after={encode_cursor_text(position)}", fan("fan-1"))
        for path in ("fans/fan-1/rewards", "thank-you-wall")
        for position in (huge, superscript)
    ]

    # then a number past 64 bits is an unknown reward, other digits and the cursors a 422
    assert by_huge_id.status_code == 200
    assert [item["id"] for item in by_huge_id.json["items"]] == [reward["id"]]
    assert by_superscript.status_code == 422
    assert list(by_superscript.json["error"]["details"]["fields"]) == ["ids"]
    assert [page.status_code for page in pages] == [422] * 4
    assert {tuple(page.json["error"]["details"]["fields"]) for page in pages} == {("after",)}


def encode_cursor_text(position: str) -> str:
    """A cursor as the service encodes one, around any text."""
    return base64.urlsafe_b64encode(f"id:{position}".encode()).decode().rstrip("=")
