"""The wave executor: loader values fill pending objects; errors follow GraphQL's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLString,
    execute,
    parse,
)

from gateway.core.execution import WaveExecutionContext
from gateway.core.loaders import RequestLoaders


@dataclass
class _Context:
    loaders: RequestLoaders
    execution_cache: dict[Any, Any] = field(default_factory=dict)


def _schema(loaders: RequestLoaders, fetch_links: Any) -> GraphQLSchema:
    def link(pack: dict[str, str], _info: Any) -> Any:
        return loaders.loader("links", fetch_links, name="Links").load(pack["id"])

    pack = GraphQLObjectType(
        "Pack",
        {
            "id": GraphQLField(GraphQLNonNull(GraphQLString)),
            "link": GraphQLField(GraphQLString, resolve=link),
            "requiredLink": GraphQLField(GraphQLNonNull(GraphQLString), resolve=link),
        },
    )
    edge = GraphQLObjectType("Edge", {"node": GraphQLField(GraphQLNonNull(pack))})
    query = GraphQLObjectType(
        "Query",
        {
            "edges": GraphQLField(
                GraphQLList(GraphQLNonNull(edge)),
                resolve=lambda *_: [{"node": {"id": "a"}}, {"node": {"id": "b"}}],
            )
        },
    )
    return GraphQLSchema(query)


def _run(query: str, fetch_links: Any) -> Any:
    loaders = RequestLoaders(pool=None)
    return execute(
        _schema(loaders, fetch_links),
        parse(query),
        context_value=_Context(loaders),
        execution_context_class=WaveExecutionContext,
    )


def test_objects_waiting_for_a_loader_are_filled_in_once_it_answers() -> None:
    # given a list of non-null edges whose packs wait for one links call
    # when the query runs
    result = _run("{ edges { node { id link } } }", lambda keys: {"a": "link-a"})

    # then each pack has its link (or null), in order, with no error
    assert result.errors is None
    assert result.data == {
        "edges": [{"node": {"id": "a", "link": "link-a"}}, {"node": {"id": "b", "link": None}}]
    }


def test_a_null_on_a_non_null_field_of_a_waiting_object_nulls_the_nearest_nullable_parent() -> None:
    # given pack "b" has no link, and the query asks for it as non-null
    # when the query runs
    result = _run("{ edges { node { id requiredLink } } }", lambda keys: {"a": "link-a"})

    # then the error is on b's field, and b's pack, its non-null edge and the
    # edge's non-null place in the list give way up to the nullable list
    assert result.data == {"edges": None}
    assert result.errors is not None
    assert [error.path for error in result.errors] == [["edges", 1, "node", "requiredLink"]]


def test_a_failing_loader_errs_on_each_waiting_field_and_keeps_the_rest() -> None:
    def broken(keys: list[str]) -> dict[str, str]:
        raise RuntimeError("referrals is down")

    # when the loader behind a nullable field fails
    result = _run("{ edges { node { id link } } }", broken)

    # then each pack keeps its id, its link is null with an error on its path
    assert result.data == {
        "edges": [{"node": {"id": "a", "link": None}}, {"node": {"id": "b", "link": None}}]
    }
    assert result.errors is not None
    assert sorted(tuple(error.path) for error in result.errors) == [
        ("edges", 0, "node", "link"),
        ("edges", 1, "node", "link"),
    ]
