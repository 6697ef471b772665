"""Bad input the GraphQL fuzzer found: each gets a stable code and a message that says
what to fix, never INTERNAL (tests/gateway/test_graphql_fuzz.py)."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.gateway.conftest import post_graphql


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
