"""Protections on the parsed query: refused before anything runs, quickly, with a reason."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from graphql import GraphQLError
from graphql.language import Lexer, Source, TokenKind

from gateway.core.documents import more_tokens_than
from gateway.core.errors import format_error
from tests.gateway.conftest import build_gateway, gateway_settings, post_graphql


def code_of(response: Any) -> str:
    return str(response.json["errors"][0]["extensions"]["code"])


def test_a_deep_query_is_refused_quickly(client: FlaskClient) -> None:
    # given a query nested far deeper than any screen needs
    nested = "contentPack(id: 1) { " + "viewerLink { pack { " * 10 + "id" + " } }" * 10 + " }"
    started = time.monotonic()
    response = post_graphql(client, "{ " + nested + " }")
    assert time.monotonic() - started < 1
    assert response.status_code == 400
    assert code_of(response) == "QUERY_TOO_COMPLEX"
    assert "levels deep" in response.json["errors"][0]["message"]


def test_too_many_aliases_are_refused(client: FlaskClient) -> None:
    query = "{ " + " ".join(f"a{n}: __typename" for n in range(31)) + " }"
    response = post_graphql(client, query)
    assert response.status_code == 400
    assert code_of(response) == "QUERY_TOO_COMPLEX"
    assert "aliases" in response.json["errors"][0]["message"]


def test_the_cost_is_reported_and_a_costly_query_refused(database_url: str, redis_url: str) -> None:
    app = build_gateway(gateway_settings(database_url, redis_url, graphql_max_cost=500))
    client = app.test_client()
    cheap = post_graphql(client, "{ viewer { user { id } } }")
    costly = post_graphql(
        client,
        "query ($n: Int) { contentPacks(first: $n) { edges { node { id title tags "
        "assets { id renditions { url } } } } } }",
        {"n": 100},
    )
    assert cheap.json["extensions"]["cost"] == {"requested": 3, "limit": 500}
    assert costly.status_code == 400
    assert code_of(costly) == "QUERY_TOO_COMPLEX"
    assert costly.json["errors"][0]["extensions"]["cost"] > 500
    app.extensions["fanfare"].db.dispose()


@pytest.mark.parametrize("first", [101, -1])
def test_first_is_capped_at_100(client: FlaskClient, first: int) -> None:
    response = post_graphql(
        client, "query ($n: Int) { contentPacks(first: $n) { totalCount } }", {"n": first}
    )
    assert response.status_code == 400
    assert code_of(response) == "BAD_USER_INPUT"
    assert "between 0 and 100" in response.json["errors"][0]["message"]


def test_batches_are_answered_in_order_and_limited(client: FlaskClient) -> None:
    two = client.post(
        "/graphql", json=[{"query": "{ __typename }"}, {"query": "{ viewer { user { id } } }"}]
    )
    assert two.status_code == 200
    assert [item["data"] for item in two.get_json()] == [{"__typename": "Query"}, {"viewer": None}]

    too_many = client.post("/graphql", json=[{"query": "{ __typename }"}] * 11)
    assert too_many.status_code == 400
    assert code_of(too_many) == "BATCH_TOO_LARGE"


def test_mutations_are_refused_over_get(client: FlaskClient) -> None:
    response = client.get(
        "/graphql",
        query_string={"query": "mutation { logOut { ok } }"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert code_of(response) == "METHOD_NOT_ALLOWED"

    query = client.get("/graphql", query_string={"query": "{ __typename }"})
    assert query.get_json()["data"] == {"__typename": "Query"}


def test_no_field_suggestions_outside_debug(database_url: str, redis_url: str) -> None:
    production = build_gateway(gateway_settings(database_url, redis_url, environment="production"))
    response = post_graphql(production.test_client(), "{ contentPackz { totalCount } }")
    message = response.json["errors"][0]["message"]
    assert response.status_code == 400
    assert "Cannot query field 'contentPackz'" in message
    assert "Did you mean" not in message
    production.extensions["fanfare"].db.dispose()


def test_faults_are_masked_and_stack_traces_shown_only_in_debug() -> None:
    error = GraphQLError("boom", original_error=RuntimeError("database password is hunter2"))
    production = format_error(error, debug=False)
    debug = format_error(error, debug=True)
    assert production["extensions"] == {"code": "INTERNAL"}
    assert "hunter2" not in json.dumps(production)
    assert debug["extensions"]["exception"]["type"] == "RuntimeError"
    assert debug["extensions"]["exception"]["stacktrace"]


def test_a_huge_document_is_refused_before_it_is_built(client: FlaskClient) -> None:
    query = "{ " + "__typename " * 6000 + "}"
    started = time.monotonic()
    response = post_graphql(client, query)
    assert time.monotonic() - started < 1
    assert response.status_code == 400
    assert "tokens" in response.json["errors"][0]["message"]


TOKEN_COUNT_DOCUMENTS = [
    "{ a b c }",
    'query Q($x: Int = -1.5e3, $y: [ID!]) { a(x: $x, s: "hi \\" { there", n: 7) { ...F } }',
    'mutation { m(b: """a block \\""" string { with } "quotes" """) @skip(if: true) { id } }',
    "# a comment { with braces }\nfragment F on T { z ... on U { w } }",
]


def parser_token_count(document: str) -> int:
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    return count


@pytest.mark.parametrize("document", TOKEN_COUNT_DOCUMENTS)
def test_the_fast_token_count_agrees_with_the_parser(document: str) -> None:
    # given a document with strings, block strings, numbers, spreads and comments
    count = parser_token_count(document)

    # then the pre-parse count stops exactly where the parser's limit would
    assert not more_tokens_than(document, count)
    assert more_tokens_than(document, count - 1)


UPLOAD = (
    "mutation ($file: Upload!) "
    '{ uploadAsset(input: {packId: "x", file: $file}) { errors { code } } }'
)


def multipart(files: dict[str, bytes]) -> dict[str, Any]:
    operations = {"query": UPLOAD, "variables": {"file": None}}
    mapping = {name: ["variables.file"] for name in files}
    data: dict[str, Any] = {"operations": json.dumps(operations), "map": json.dumps(mapping)}
    for name, content in files.items():
        data[name] = (io.BytesIO(content), f"{name}.png", "image/png")
    return data


def test_one_upload_per_request(client: FlaskClient) -> None:
    response = client.post(
        "/graphql", data=multipart({"0": b"a", "1": b"b"}), content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert code_of(response) == "BAD_USER_INPUT"
    assert "at most 1 file" in response.get_json()["errors"][0]["message"]


def test_uploads_over_the_size_limit_get_413(database_url: str, redis_url: str) -> None:
    app = build_gateway(gateway_settings(database_url, redis_url, upload_max_bytes=2048))
    response = app.test_client().post(
        "/graphql", data=multipart({"0": b"x" * 5000}), content_type="multipart/form-data"
    )
    assert response.status_code == 413
    assert code_of(response) == "PAYLOAD_TOO_LARGE"
    app.extensions["fanfare"].db.dispose()


def test_graphiql_is_served_in_development_only(database_url: str, redis_url: str) -> None:
    html = {"Accept": "text/html"}
    development = build_gateway(
        gateway_settings(database_url, redis_url, environment="development")
    )
    page = development.test_client().get("/graphql", headers=html)
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "graphiql" in page.get_data(as_text=True).lower()
    development.extensions["fanfare"].db.dispose()

    production = build_gateway(gateway_settings(database_url, redis_url, environment="production"))
    assert production.test_client().get("/graphql", headers=html).status_code == 404
    production.extensions["fanfare"].db.dispose()


def test_a_body_that_is_not_graphql_gets_a_clear_400(
    client: FlaskClient, gateway_app: Flask
) -> None:
    not_json = client.post("/graphql", data="{", content_type="application/json")
    no_query = client.post("/graphql", json={"variables": {}})
    bad_variables = client.post("/graphql", json={"query": "{ __typename }", "variables": [1]})
    form = client.post("/graphql", data="query={}", content_type="text/plain")
    for response in (not_json, no_query, bad_variables, form):
        assert response.status_code == 400
        assert response.get_json()["errors"][0]["message"]
