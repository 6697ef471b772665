"""Property-based fuzzing of the public GraphQL API over the real services.

hypothesis-graphql writes queries and mutations from ``gateway/schema.graphql`` (every
root field, argument, input field and enum; Node ids and cursors from the platform's own
objects as well as forged ones); each is POSTed to ``/graphql`` as a fan, a marketer and
a partner key with every scope. Whatever the input, the answer must be one the caller can
act on: no 5xx, every error with a stable ``extensions.code`` that is not ``INTERNAL``,
and no answer slower than a few seconds.

Bounded for CI (``FUZZ_EXAMPLES`` per caller, 50 unless told; derandomized); to look
for bugs, run it harder: ``FUZZ_EXAMPLES=500 pytest tests/gateway/test_graphql_fuzz.py``.
"""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import graphql
import pytest
from graphql.pyutils import Undefined
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema, nodes

from gateway.core.ids import decode_global_id, global_id
from gateway.core.pagination import encode_cursor
from gateway.identity.api_keys import API_SCOPES, create_api_key
from gateway.identity.users import create_user, issue_token
from gateway.models import ApiKey, User
from tests.gateway.conftest import PASSWORD, bearer, post_graphql
from tests.gateway.platform import CREATE_LINK, Platform, assembled_platform

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "gateway" / "schema.graphql"
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
SLOWEST_ANSWER_SECONDS = 5.0
INT32 = 2**31 - 1

# The fuzzer is the only client, so the limits meant for abuse would turn most examples
# into RATE_LIMITED (a fine answer, but one that tests nothing behind it).
UNLIMITED = {
    "api_key_rate_per_second": 100_000.0,
    "api_key_burst": 100_000,
    "signup_limit_per_ip": 100_000,
    "login_limit_per_ip": 100_000,
    "login_limit_per_account": 100_000,
}

CREATE_KEY = """
mutation ($scopes: [ApiScope!]!) {
  createApiKey(input: {name: "Fuzz partner", scopes: $scopes}) { apiKey { id } secret }
}
"""
RECORD_CONVERSION = """
mutation ($code: String!) {
  recordConversion(input: {externalId: "fuzz-order-1", referralCode: $code, amountCents: 4200,
                           currency: "EUR"}) { conversion { id } errors { code message } }
}
"""
FAN_HARVEST = """
{
  viewer {
    user { id }
    referralLinks { edges { cursor node { id code } } pageInfo { endCursor } }
    rewards { edges { cursor node { id } } pageInfo { endCursor } }
    redemptions { id }
  }
  contentPacks(first: 2) { edges { cursor node { id slug assets { id } } } pageInfo { endCursor } }
  rewardCatalog { id }
}
"""
MARKETER_HARVEST = """
{
  viewer { user { id } }
  apiKeys { id }
  rewardRules { id packId codeBankId }
  codeBanks { id }
  giftCardOrders { id }
  handwrittenNotes { id }
}
"""


@dataclass
class Known:
    """Ids, cursors and codes the platform gave out, for the fuzzer to send back."""

    ids: set[str] = field(default_factory=set)
    cursors: set[str] = field(default_factory=set)
    words: set[str] = field(default_factory=set)

    def harvest(self, value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for child_key, child in value.items():
                self.harvest(child, child_key)
        elif isinstance(value, list):
            for child in value:
                self.harvest(child, key)
        elif isinstance(value, str):
            if key == "id" or key.endswith("Id"):
                self.ids.add(value)
            elif key in {"cursor", "endCursor", "startCursor"}:
                self.cursors.add(value)
            elif key in {"code", "slug"}:
                self.words.add(value)


@dataclass
class Callers:
    """Live credentials for the three callers, renewed before each example (a generated
    logOut or deleteMyAccount must not turn every later example into UNAUTHENTICATED)."""

    platform: Platform
    fan_id: str
    marketer_id: str
    partner_key_id: str
    partner_secret: str

    def headers(self, caller: str) -> dict[str, str]:
        if caller == "partner":
            return {"X-API-Key": self._live_partner_secret()}
        db = self.platform.gateway.extensions["fanfare"].db
        with db.transaction() as session:
            user = session.get(User, self.fan_id if caller == "fan" else self.marketer_id)
            assert user is not None
            if user.erased_at is not None:  # a generated deleteMyAccount
                user = create_user(
                    session,
                    email=f"fan-{time.monotonic_ns()}@example.com",
                    password=PASSWORD,
                    display_name="Fan",
                )
                self.fan_id = user.id
            return bearer(issue_token(session, user=user, kind="bearer", ttl_seconds=3600))

    def _live_partner_secret(self) -> str:
        db = self.platform.gateway.extensions["fanfare"].db
        with db.transaction() as session:
            key = session.get(ApiKey, self.partner_key_id)
            if key is None or key.revoked_at is not None:  # a generated revokeApiKey
                key, self.partner_secret = create_api_key(
                    session, name="Fuzz partner", scopes=list(API_SCOPES), created_by=None
                )
                self.partner_key_id = key.id
        return self.partner_secret


@dataclass
class Fuzzed:
    platform: Platform
    callers: Callers
    known: Known


def _data(response: Any) -> Any:
    assert response.status_code == 200, response.json
    assert not response.json.get("errors"), response.json
    return response.json["data"]


@pytest.fixture
def fuzzed(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Fuzzed]:
    """The assembled platform with a link, a conversion and a partner key, and what they
    are called."""
    with assembled_platform(
        database_url, redis_url, tmp_path, packs=2, gateway_overrides=UNLIMITED
    ) as platform:
        client = platform.client
        link = _data(
            post_graphql(
                client,
                CREATE_LINK,
                {"packId": platform.pack_ids[0]},
                headers=bearer(platform.fan),
            )
        )["createReferralLink"]["referralLink"]
        created = _data(
            post_graphql(
                client, CREATE_KEY, {"scopes": list(API_SCOPES)}, headers=bearer(platform.marketer)
            )
        )["createApiKey"]
        partner = {"X-API-Key": created["secret"]}
        _data(post_graphql(client, RECORD_CONVERSION, {"code": link["code"]}, headers=partner))
        platform.services.deliver_events()
        known = Known()
        known.harvest(_data(post_graphql(client, FAN_HARVEST, headers=bearer(platform.fan))))
        marketer_seen = _data(
            post_graphql(client, MARKETER_HARVEST, headers=bearer(platform.marketer))
        )
        known.harvest(marketer_seen)
        known.harvest(link)
        callers = Callers(
            platform,
            fan_id=raw_id(known_viewer_id(platform, platform.fan)),
            marketer_id=raw_id(known_viewer_id(platform, platform.marketer)),
            partner_key_id=raw_id(created["apiKey"]["id"]),
            partner_secret=created["secret"],
        )
        yield Fuzzed(platform, callers, known)


def known_viewer_id(platform: Platform, token: str) -> str:
    query = "{ viewer { user { id } } }"
    user_id: str = _data(post_graphql(platform.client, query, headers=bearer(token)))["viewer"][
        "user"
    ]["id"]
    return user_id


def raw_id(value: str) -> str:
    decoded = decode_global_id(value)
    assert decoded is not None, value
    return decoded[1]


def node_type_names(schema: graphql.GraphQLSchema) -> list[str]:
    """Every object type with an id: Node types and the ones mutations take by id."""
    return sorted(
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, graphql.GraphQLObjectType)
        and not name.startswith("__")
        and "id" in type_.fields
    )


def scalar_values(schema: graphql.GraphQLSchema, known: Known) -> dict[str, st.SearchStrategy[Any]]:
    """Values for every scalar: plain ones, edge cases, and what the platform gave out."""
    text = st.text(max_size=40)
    forged_ids = st.builds(
        global_id,
        st.sampled_from(node_type_names(schema)),
        st.one_of(st.text(max_size=40), st.uuids().map(lambda u: u.hex), st.integers().map(str)),
    )
    ids = st.one_of(
        st.sampled_from(sorted(known.ids)), forged_ids, text, st.integers(0, 10**6).map(str)
    )
    cursors = st.one_of(
        st.sampled_from(sorted(known.cursors)),
        st.builds(
            encode_cursor,
            st.one_of(st.none(), text, st.sampled_from(sorted(known.cursors))),
            st.integers(-5, 200),
        ),
    )
    strings = st.one_of(
        text,
        cursors,
        st.sampled_from(sorted(known.words)),
        st.sampled_from(
            [
                "",
                " ",
                "https://shop.example/new",
                "javascript:alert(1)",
                "ann@example.com",
                "mia@brand.example",
                PASSWORD,
                "EUR",
                "image/jpeg",
                "x" * 5000,
            ]
        ),
    )
    moments = st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    )
    date_times = st.one_of(
        moments.map(lambda moment: moment.isoformat()),
        moments.map(lambda moment: (moment + timedelta(0)).replace(tzinfo=None).isoformat()),
        st.sampled_from(
            ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "2026-11-22", "now"]
        ),
        text,
    )
    ints = st.one_of(
        st.integers(-INT32 - 1, INT32),
        st.sampled_from([-(INT32 + 1), -1, 0, 1, 20, 100, 101, INT32]),
    )
    return {
        "ID": ids,
        "String": strings,
        "Int": ints,
        "Boolean": st.booleans(),
        "DateTime": date_times,
        # Files come as multipart parts, never in the query text: the gateway must say so.
        "Upload": text,
        "JSONString": st.sampled_from(["{}", "[]", "null", "{"]),
    }


def scalar_strategies(
    schema: graphql.GraphQLSchema, known: Known
) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    """The same values as literals of the query text, for hypothesis-graphql."""
    values = scalar_values(schema, known)
    literals: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
        name: strategy.map(nodes.String)
        for name, strategy in values.items()
        if name not in {"Int", "Boolean"}  # Booleans: hypothesis-graphql's own
    }
    literals["Int"] = values["Int"].map(nodes.Int)
    return literals


# Any JSON at all, for a variable: what a careless or hostile client may send.
ANY_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=5,
)


def json_for(type_: graphql.GraphQLInputType, scalars: dict[str, st.SearchStrategy[Any]]) -> Any:
    """JSON for a variable of ``type_``: mostly of the right shape, sometimes anything."""
    inner = type_.of_type if isinstance(type_, graphql.GraphQLNonNull) else type_
    shaped: st.SearchStrategy[Any]
    if isinstance(inner, graphql.GraphQLScalarType):
        shaped = scalars[inner.name]
    elif isinstance(inner, graphql.GraphQLEnumType):
        shaped = st.sampled_from(sorted(inner.values))
    elif isinstance(inner, graphql.GraphQLList):
        shaped = st.lists(json_for(inner.of_type, scalars), max_size=3)
    else:
        assert isinstance(inner, graphql.GraphQLInputObjectType)
        fields = {
            name: json_for(field.type, scalars) for name, field in sorted(inner.fields.items())
        }
        required = {name for name, field in inner.fields.items() if is_required(field)}
        shaped = st.fixed_dictionaries(
            {name: fields[name] for name in sorted(required)},
            optional={name: fields[name] for name in sorted(set(fields) - required)},
        )
    # One value in twenty is anything at all (null included): more would refuse nearly
    # every nested input before it reached a resolver.
    # (Hypothesis favours 0, so the odd one out is the far end.)
    return st.integers(0, 19).flatmap(lambda dice: ANY_JSON if dice == 19 else shaped)


def is_required(field: graphql.GraphQLInputField | graphql.GraphQLArgument) -> bool:
    return graphql.is_non_null_type(field.type) and field.default_value is Undefined


def operations_with_variables(
    schema: graphql.GraphQLSchema, known: Known
) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """One root field whose every argument is a variable of its declared type, and JSON
    for the variables: the gateway coerces and checks them, not graphql-core's literals."""
    scalars = scalar_values(schema, known)
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    candidates = [
        ("query", name, field)
        for name, field in sorted(schema.query_type.fields.items())
        if field.args
    ] + [
        ("mutation", name, field)
        for name, field in sorted(schema.mutation_type.fields.items())
        if field.args
    ]

    def document_for(candidate: tuple[str, str, graphql.GraphQLField]) -> Any:
        kind, name, field = candidate
        declared = ", ".join(f"${arg}: {arg_def.type}" for arg, arg_def in field.args.items())
        passed = ", ".join(f"{arg}: ${arg}" for arg in field.args)
        named = graphql.get_named_type(field.type)
        selection = "" if graphql.is_leaf_type(named) else " { __typename }"
        document = f"{kind} Fuzz({declared}) {{ {name}({passed}){selection} }}"
        values = {arg: json_for(arg_def.type, scalars) for arg, arg_def in field.args.items()}
        required = {arg for arg, arg_def in field.args.items() if is_required(arg_def)}
        variables = st.fixed_dictionaries(
            {arg: values[arg] for arg in sorted(required)},
            optional={arg: values[arg] for arg in sorted(set(values) - required)},
        )
        return variables.map(lambda values: (document, values))

    return st.sampled_from(candidates).flatmap(document_for)


def unhelpful_errors(body: Any) -> list[Any]:
    """Errors a caller cannot act on: no stable code, or an internal one."""
    errors = body.get("errors") or [] if isinstance(body, dict) else [body]
    return [
        error
        for error in errors
        if not isinstance(error, dict)
        or not (error.get("extensions") or {}).get("code")
        or error["extensions"]["code"] in {"INTERNAL", "INTERNAL_SERVER_ERROR"}
    ]


def check_answer(
    fuzzed: Fuzzed, caller: str, document: str, variables: dict[str, Any] | None = None
) -> None:
    headers = fuzzed.callers.headers(caller)
    started = time.perf_counter()
    response = post_graphql(fuzzed.platform.client, document, variables, headers=headers)
    elapsed = time.perf_counter() - started
    body = response.get_json(silent=True)
    assert response.status_code < 500, (caller, document, response.status_code, body)
    assert isinstance(body, dict), (caller, document, response.status_code, response.data)
    assert unhelpful_errors(body) == [], (caller, document, body)
    assert elapsed < SLOWEST_ANSWER_SECONDS, (caller, document, elapsed)


def operations(schema: graphql.GraphQLSchema, known: Known) -> st.SearchStrategy[str]:
    """Queries and mutations of several root fields, or of one: a field the caller may not
    use (FORBIDDEN) or an argument the schema refuses would hide every other field of a
    large document, so half the documents exercise one root field each."""
    scalars = scalar_strategies(schema, known)
    assert schema.query_type is not None
    assert schema.mutation_type is not None
    root_fields = sorted({*schema.query_type.fields, *schema.mutation_type.fields})
    return st.one_of(
        from_schema(schema, custom_scalars=scalars),
        st.sampled_from(root_fields).flatmap(
            lambda name: from_schema(schema, fields=[name], custom_scalars=scalars)
        ),
    )


def fuzz(fuzzed: Fuzzed, caller: str) -> None:
    schema = graphql.build_schema(SCHEMA_PATH.read_text())
    documents = operations(schema, fuzzed.known)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,  # a slow answer is checked above, against the service's own bound
        # The documents are large by nature (the whole schema), and the platform is built
        # once per database and shared by every example on purpose.
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    # A fixed seed per caller, so each caller gets its own documents, the same on every
    # run (derandomize alone would give all three the same ones).
    @seed(zlib.crc32(caller.encode()))
    @given(document=documents)
    def answers_helpfully(document: str) -> None:
        check_answer(fuzzed, caller, document)

    answers_helpfully()

    with_variables = operations_with_variables(schema, fuzzed.known)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @seed(zlib.crc32(caller.encode()) + 1)
    @given(operation=with_variables)
    def answers_variables_helpfully(operation: tuple[str, dict[str, Any]]) -> None:
        document, variables = operation
        check_answer(fuzzed, caller, document, variables)

    answers_variables_helpfully()


@pytest.mark.timeout(600)
def test_any_query_or_mutation_gets_an_answer_with_stable_codes(fuzzed: Fuzzed) -> None:
    # Given the gateway over the real services, a fan, a marketer and a partner key
    # with every scope, and the ids, cursors and codes they were given
    # When each sends generated operations of the whole schema, with arguments written in
    # the document and passed as variables
    # Then every answer is below 500, fast, and each error has a stable, non-internal code
    for caller in ("fan", "marketer", "partner"):
        fuzz(fuzzed, caller)
