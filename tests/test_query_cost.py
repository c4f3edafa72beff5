"""The cost model: computed from the query and its variables before execution, it refuses the
fan-outs that depth, alias and token limits let through, and lets real pages through."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from server.load.loader import load
from server.schema import ClinicSchema, Context, build_schema
from server.schema.cost import ASSUMED_LIST_SIZE, LEAF_WEIGHTS, QueryCost
from server.settings import Settings
from server.store.protocol import StoreHolder
from server.store.snapshot import Snapshot, build_snapshot

from .benchmarks import queries as bench
from .conftest import REPO
from .seed import FBSS

SETTINGS = Settings()


@pytest.fixture(scope="module")
def schema() -> ClinicSchema:
    return build_schema(SETTINGS)


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return build_snapshot(load(REPO))


def cost(schema: ClinicSchema, query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return QueryCost(schema._schema, SETTINGS).of(operation, fragments, variables)


def fan_out(ids: int) -> str:
    """The issue's request: nodes(ids) of the condition, two nested 100-item connections."""
    id_list = ", ".join([f'"{FBSS}"'] * ids)
    inner = "treatments(first: 100) { edges { node { id conditions { id } } } }"
    return (
        f"{{ a0: nodes(ids: [{id_list}]) {{ ... on Condition {{ treatments(first: 100) "
        f"{{ edges {{ node {{ id conditions {{ {inner} }} }} }} }} }} }} }}"
    )


def execute(schema: ClinicSchema, snap: Snapshot, query: str, **variables: Any) -> Any:
    context = Context(store=snap, settings=SETTINGS, holder=StoreHolder(snap), request_id="t")
    return schema.execute_sync(query, variables or None, context_value=context), context


def test_leaves_cost_one_each(schema: ClinicSchema) -> None:
    assert cost(schema, "{ dataset { version tripleCount } }") == 3
    assert cost(schema, "{ __typename }") == 1


def test_connections_multiply_what_their_edges_select_by_the_page_size(
    schema: ClinicSchema,
) -> None:
    def page(first: int) -> int:
        return cost(
            schema,
            f"{{ conditions(first: {first}) {{ totalCount edges {{ node {{ id label }} }} }} }}",
        )

    # conditions + totalCount + edges, then per edge: node + id + label
    assert page(10) == 3 + 10 * 3
    assert page(40) - page(20) == 20 * 3
    # without `first`, the default page size
    assert (
        cost(schema, "{ conditions { edges { node { id } } } }")
        == page(SETTINGS.default_page_size) - 1 - SETTINGS.default_page_size
    )


def test_variables_and_their_defaults_set_the_page_size(schema: ClinicSchema) -> None:
    query = "query Q($n: Int = 5) { conditions(first: $n) { edges { node { id } } } }"
    assert cost(schema, query, {"n": 50}) == 2 + 50 * 2
    assert cost(schema, query) == 2 + 5 * 2
    # a page size over the maximum counts as the maximum (the resolver refuses it anyway)
    assert cost(schema, query, {"n": 10_000}) == 2 + SETTINGS.max_page_size * 2


def test_ids_count_and_aliases_add(schema: ClinicSchema) -> None:
    def nodes(n: int) -> str:
        return "nodes(ids: [" + ", ".join(f'"x{i}"' for i in range(n)) + "]) { id }"

    assert cost(schema, f"{{ {nodes(7)} }}") == 1 + 7
    assert cost(schema, f"{{ a: {nodes(7)} b: {nodes(3)} }}") == (1 + 7) + (1 + 3)
    ids = {"ids": [f"x{i}" for i in range(40)]}
    assert cost(schema, "query Q($ids: [ID!]!) { nodes(ids: $ids) { id } }", ids) == 41


def test_plain_lists_count_as_the_assumed_size_and_fragments_add(schema: ClinicSchema) -> None:
    query = f'{{ condition(id: "{FBSS}") {{ altLabels sources {{ id label }} }} }}'
    assert cost(schema, query) == 1 + 1 + 1 + ASSUMED_LIST_SIZE * 2
    with_fragment = (
        f'{{ condition(id: "{FBSS}") {{ ...F ... on Condition {{ label }} }} }} '
        "fragment F on Condition { id label }"
    )
    assert cost(schema, with_fragment) == 1 + 3


def test_rendered_documents_weigh_more_than_a_field(schema: ClinicSchema) -> None:
    query = f'{{ condition(id: "{FBSS}") {{ schemaOrg }} }}'
    assert cost(schema, query) == 1 + LEAF_WEIGHTS["schemaOrg"]


def test_the_fan_out_of_the_issue_is_refused_before_any_resolver_runs(
    schema: ClinicSchema, snap: Snapshot
) -> None:
    result, context = execute(schema, snap, fan_out(100))
    assert result.data is None
    [error] = result.errors
    assert error.path is None  # a request error: nothing executed
    extensions = error.extensions or {}
    assert extensions["code"] == "QUERY_TOO_COSTLY"
    assert extensions["cost"] == context.usage.cost > SETTINGS.max_query_cost
    assert extensions["maxCost"] == SETTINGS.max_query_cost
    assert f"{extensions['cost']:,}" in error.message
    assert "(max_query_cost)" in error.message


def test_real_pages_are_within_the_limit_and_their_cost_is_recorded(
    schema: ClinicSchema, snap: Snapshot
) -> None:
    result, context = execute(schema, snap, bench.CONDITION_PAGE, id=FBSS)
    assert result.errors is None
    assert result.data["condition"]["id"] == FBSS
    assert 0 < context.usage.cost < SETTINGS.max_query_cost
    facts = [f.id for f in snap.facts()][:50]
    result, _ = execute(schema, snap, bench.FACTS, ids=facts)
    assert result.errors is None


def test_the_limit_is_a_setting(snap: Snapshot) -> None:
    query = "{ conditions(first: 10) { edges { node { id } } } }"
    strict = build_schema(Settings(max_query_cost=10))
    context = Context(store=snap, settings=Settings(), holder=StoreHolder(snap), request_id="t")
    result = strict.execute_sync(query, context_value=context)
    assert [e.extensions["code"] for e in result.errors or []] == ["QUERY_TOO_COSTLY"]
    assert result.errors[0].extensions["cost"] == 22


def test_readme_documents_the_model_with_the_real_numbers(schema: ClinicSchema) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"query cost {cost(schema, fan_out(100)):,} exceeds the limit of" in readme
    assert f"any other list by {ASSUMED_LIST_SIZE}" in readme
    assert f"counts {LEAF_WEIGHTS['schemaOrg']}" in readme
    assert f"`CLINIC_KG_MAX_QUERY_COST` ({SETTINGS.max_query_cost:,})" in readme


def test_benchmark_queries_are_allowed(schema: ClinicSchema) -> None:
    """What `make bench` sends must stay within the default limit."""
    ids = [f"f{i}" for i in range(bench.FACTS_PER_PULL)]
    for query, variables in (
        (bench.CONDITION_PAGE, {"id": FBSS}),
        (bench.SEARCH, {"text": "pain"}),
        (bench.FACTS, {"ids": ids}),
    ):
        assert cost(schema, query, variables) < SETTINGS.max_query_cost


def test_remembered_costs_are_keyed_by_the_variables_too(schema: ClinicSchema) -> None:
    query = "query Q($n: Int) { conditions(first: $n) { edges { node { id } } } }"
    document = parse(query)
    [operation] = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    model = QueryCost(schema._schema, SETTINGS)
    small = model.of_request(query, operation, {}, {"n": 1})
    big = model.of_request(query, operation, {}, {"n": 90})
    assert (small, big) == (2 + 1 * 2, 2 + 90 * 2)
    assert model.of_request(query, operation, {}, {"n": 1}) == small
