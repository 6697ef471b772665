"""The printed schema: committed, a superset of the contract, described, with opaque ids."""

from __future__ import annotations

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    find_breaking_changes,
    print_schema,
)

from gateway.core.ids import decode_global_id, global_id
from gateway.schema import NODE_TYPES, graphql_schema

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "gateway" / "schema.graphql"
CONTRACT = REPO.parent / "shared" / "contract" / "schema.graphql"
BUILT_IN = {"String", "Int", "Float", "Boolean", "ID"}


def test_the_committed_schema_is_the_printed_schema() -> None:
    # given the schema the code builds
    printed = print_schema(graphql_schema()) + "\n"

    # then it is exactly the committed file (regenerate with `python -m gateway.schema`)
    assert COMMITTED.read_text() == printed


def test_nothing_in_the_contract_is_missing_or_retyped() -> None:
    # given the contract (when the shared folder is there) and the committed schema
    committed = build_schema(COMMITTED.read_text())
    contract_text = CONTRACT.read_text() if CONTRACT.exists() else COMMITTED.read_text()

    # when graphql-core compares them
    changes = find_breaking_changes(build_schema(contract_text), committed)

    # then nothing the contract promises is broken
    assert [change.description for change in changes] == []


def test_every_type_field_argument_and_input_field_has_a_description() -> None:
    schema = graphql_schema()
    missing: list[str] = []
    for name, named_type in schema.type_map.items():
        if name.startswith("__") or name in BUILT_IN:
            continue
        if not named_type.description:
            missing.append(name)
        if isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named_type.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if not arg.description
                )
        if isinstance(named_type, GraphQLInputObjectType):
            missing.extend(
                f"{name}.{field_name}"
                for field_name, field in named_type.fields.items()
                if not field.description
            )
        if isinstance(named_type, GraphQLEnumType):
            assert named_type.values
    assert missing == []


def test_global_ids_are_opaque_and_name_their_type() -> None:
    # given a pack's own id
    encoded = global_id("ContentPack", "42")

    # then clients see neither the type nor the id in clear, and the gateway reads both back
    assert "ContentPack" not in encoded
    assert "42" not in encoded
    assert decode_global_id(encoded) == ("ContentPack", "42")
    assert decode_global_id("not an id!") is None
    assert decode_global_id(global_id("", "1")) is None


def test_node_can_fetch_every_type_that_implements_node() -> None:
    # given every type of the schema that says it is a Node
    schema = graphql_schema()
    node_types = {
        name
        for name, type_ in schema.type_map.items()
        if isinstance(type_, GraphQLObjectType)
        and any(interface.name == "Node" for interface in type_.interfaces)
    }

    # then node(id:) knows how to fetch each, and who may
    assert node_types
    assert node_types == set(NODE_TYPES)
