"""server/schema.graphql is the contract: the code must match it; changes must not break clients."""

from __future__ import annotations

import difflib

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
)

from server.schema import REGENERATE, SDL_PATH, sdl
from server.schema import build_schema as build_strawberry_schema


def test_committed_sdl_matches_the_code() -> None:
    committed = SDL_PATH.read_text(encoding="utf-8")
    current = sdl()
    if committed != current:
        diff = "".join(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                current.splitlines(keepends=True),
                "server/schema.graphql (committed)",
                "schema from code",
            )
        )
        raise AssertionError(
            f"server/schema.graphql is out of date with the code. If the change is intended, "
            f"regenerate it with `{REGENERATE}` and commit it.\n{diff[:4000]}"
        )


def test_no_breaking_changes_against_the_committed_contract() -> None:
    committed = build_schema(SDL_PATH.read_text(encoding="utf-8"))
    current = build_schema(sdl())
    breaking = find_breaking_changes(committed, current)
    assert not breaking, "breaking changes for clients:\n" + "\n".join(
        f"- {c.type.name}: {c.description}" for c in breaking
    )
    dangerous = find_dangerous_changes(committed, current)
    assert not dangerous, "dangerous changes:\n" + "\n".join(
        f"- {c.type.name}: {c.description}" for c in dangerous
    )


def test_breaking_change_detection_works() -> None:
    committed = build_schema(SDL_PATH.read_text(encoding="utf-8"))
    without_search = build_schema(
        SDL_PATH.read_text(encoding="utf-8").replace("  search(", "  searchRenamed(")
    )
    changes = find_breaking_changes(committed, without_search)
    assert any("Query.search was removed" in c.description for c in changes)


def test_every_type_field_and_argument_is_described() -> None:
    schema = build_strawberry_schema()._schema
    missing = []
    for name, t in schema.type_map.items():
        if name.startswith("__"):
            continue
        if not t.description:
            missing.append(name)
        if isinstance(t, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in t.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                missing.extend(
                    f"{name}.{field_name}({a})"
                    for a, arg in field.args.items()
                    if not arg.description
                )
        if isinstance(t, GraphQLEnumType):
            missing.extend(f"{name}.{v}" for v, value in t.values.items() if not value.description)
    assert not missing, f"undocumented: {missing}"


def test_read_only_and_entry_points() -> None:
    schema = build_strawberry_schema()._schema
    assert schema.mutation_type is None
    assert schema.subscription_type is None
    assert schema.query_type is not None
    assert set(schema.query_type.fields) >= {
        "node",
        "nodes",
        "condition",
        "conditions",
        "search",
        "statistics",
        "fact",
        "facts",
        "treatments",
        "sources",
        "dataset",
    }
    node = schema.type_map["Node"]
    assert isinstance(node, GraphQLInterfaceType)
    assert set(node.fields) >= {
        "id",
        "iri",
        "label",
        "altLabels",
        "definition",
        "externalCodes",
        "sources",
    }
    assert "lang" in node.fields["label"].args
