"""Bad input the GraphQL fuzzer found: each gets a stable code and a message that says
what to fix, never INTERNAL (tests/gateway/test_graphql_fuzz.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from gateway.core.ids import global_id
from tests.gateway.conftest import bearer, post_graphql, sign_up
from tests.gateway.test_api_keys import create_key, staff_token


def test_a_file_written_in_the_query_text_is_a_validation_error_that_says_how_to_send_it(
    client: FlaskClient,
) -> None:
    # Given an upload whose file is a string literal instead of a multipart part
    query = 'mutation { uploadAsset(input: {packId: "x", file: ""}) { errors { code } } }'

    # When it is posted
    response = post_graphql(client, query)

    # Then it is refused as invalid with a message naming the multipart request
    assert response.status_code == 400
    [error] = response.json["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "multipart request" in error["message"]


NODE_QUERY = """
query ($id: ID!) {
  node(id: $id) { __typename id ... on User { displayName email role } ... on ApiKey { name } }
}
"""


def test_node_finds_the_gateways_own_users_and_api_keys(
    client: FlaskClient, gateway_app: Flask
) -> None:
    # Given a marketer and a partner key they created
    marketer = staff_token(gateway_app)
    created = create_key(client, marketer, ["CONTENT_READ"])
    key_id = created["apiKey"]["id"]
    user_id = post_graphql(client, "{ viewer { user { id } } }", headers=bearer(marketer)).json[
        "data"
    ]["viewer"]["user"]["id"]

    # When the marketer asks node(id:) for each
    as_user = post_graphql(client, NODE_QUERY, {"id": user_id}, headers=bearer(marketer)).json
    as_key = post_graphql(client, NODE_QUERY, {"id": key_id}, headers=bearer(marketer)).json

    # Then each is found as its own type, with no error
    assert "errors" not in as_user, as_user
    assert as_user["data"]["node"] == {
        "__typename": "User",
        "id": user_id,
        "displayName": "marketer",
        "email": "marketer@brand.example",
        "role": "MARKETER",
    }
    assert "errors" not in as_key, as_key
    assert as_key["data"]["node"] == {"__typename": "ApiKey", "id": key_id, "name": "Shop"}


def test_a_variable_of_the_wrong_type_is_a_bad_request_naming_the_variable(
    client: FlaskClient,
) -> None:
    # Given operations whose variables do not fit their declared types
    wrong: list[tuple[str, dict[str, Any], str]] = [
        ("query ($id: ID!) { node(id: $id) { id } }", {"id": ["x"]}, "$id"),
        (
            "query ($after: String) { contentPacks(after: $after) { totalCount } }",
            {"after": {"x": 1}},
            "$after",
        ),
        (
            "mutation ($input: CreateContentPackInput!) { createContentPack(input: $input) "
            "{ errors { code } } }",
            {
                "input": {
                    "title": "T",
                    "summary": "S",
                    "story": "S",
                    "purpose": "LEARN",
                    "destinationUrl": "https://shop.example/",
                    "expiresAt": "soon",
                }
            },
            "ISO 8601",
        ),
    ]
    for query, variables, named in wrong:
        # When each is posted
        response = post_graphql(client, query, variables)

        # Then it is refused as bad input, with a message naming what to fix
        assert response.status_code == 400, response.json
        [error] = response.json["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert named in error["message"], error


def test_a_page_size_that_is_not_a_number_is_refused_with_what_a_page_size_is(
    client: FlaskClient,
) -> None:
    # Given page sizes sent as variables of the wrong JSON type
    query = "query ($first: Int) { contentPacks(first: $first) { totalCount } }"
    for first in ["10", 10.5, True]:
        # When each is posted
        response = post_graphql(client, query, {"first": first})

        # Then it is refused as bad input, saying a page size is a whole number in range
        assert response.status_code == 400, response.json
        [error] = response.json["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "must be a whole number between 0 and 100" in error["message"], error


def test_an_id_holding_other_digits_or_past_64_bits_is_not_found_not_an_internal_error(
    client: FlaskClient, gateway_app: Flask
) -> None:
    # given a fan and a marketer, and global ids whose raw id is "²" (a digit int() refuses)
    # or a number past what a service's BIGINT id holds
    fan = sign_up(client).json["data"]["signUp"]["token"]
    staff = staff_token(gateway_app)
    raw_ids = ["\u00b2", str(2**64)]

    # when the fan redeems such a catalog item and the marketer marks such a note written
    redeemed = [
        post_graphql(
            client,
            "mutation ($id: ID!) { redeemReward(input: {catalogItemId: $id}) "
            "{ errors { code field } } }",
            {"id": global_id("CatalogItem", raw)},
            headers=bearer(fan),
        )
        for raw in raw_ids
    ]
    written = [
        post_graphql(
            client,
            "mutation ($id: ID!) { markNoteWritten(input: {id: $id}) { errors { code field } } }",
            {"id": global_id("HandwrittenNote", raw)},
            headers=bearer(staff),
        )
        for raw in raw_ids
    ]

    # then each is answered NOT_FOUND on the id it names, never an internal error
    for response, name, field in [
        *((answer, "redeemReward", "catalogItemId") for answer in redeemed),
        *((answer, "markNoteWritten", "id") for answer in written),
    ]:
        assert response.status_code == 200
        assert "errors" not in response.json, response.json
        (error,) = response.json["data"][name]["errors"]
        assert error["code"] == "NOT_FOUND"
        assert error["field"][-1] == field
