"""What a GraphQL operation costs, computed from the document and its variables before execution.

Depth, alias and token limits bound the text of a query, not the work: 30 aliases of a 100-id
`nodes` lookup, each walking two nested 100-item connections, fit in 8 kB and ask for tens of
millions of fields. The cost model bounds the work itself. It counts the fields an execution may
resolve, as an upper estimate:

- every selected field costs 1 for each object it is selected on;
- a connection (`first`, or `default_page_size` without it) multiplies what its `edges` select by
  the page size; `nodes(ids)` and `facts(ids)` by their number of ids (capped by the page size);
- any other list multiplies what it selects by `ASSUMED_LIST_SIZE`: lists of relations are short
  (the data's largest is far below it), and the execution deadline and response-size cap bound
  what the estimate cannot;
- aliases and fragments add up: every selection counts, even two fragments for different types
  (the estimate never sees which objects the data will hold);
- introspection (`__schema`, `__type`) costs 1: it is bounded by the schema, not by the data;
- a leaf that renders a document (`schemaOrg`: about 10 kB of JSON-LD, a millisecond to render)
  costs `LEAF_WEIGHTS` instead of 1.

An operation whose cost exceeds `max_query_cost` is refused before any resolver runs, with the
cost and the limit in the error (code QUERY_TOO_COSTLY). The cost of an accepted operation is kept
on the request's `Context` for logs.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from server.settings import Settings

ASSUMED_LIST_SIZE = 5
# Leaves that cost far more than a field: what a render weighs against an ordinary field,
# by the time it takes (a condition's ~10 kB of JSON-LD renders in about 200 fields' time).
LEAF_WEIGHTS = {"schemaOrg": 200}
COST_CODE = "QUERY_TOO_COSTLY"
RECENT = 512  # distinct requests whose cost is remembered (keys hold the query text: ≤ 64 kB each)
# json.dumps(sort_keys=True, separators=(",", ":")), its encoder built once
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


class CostError(GraphQLError):
    """The operation asks for more work than `max_query_cost` allows."""

    def __init__(self, cost: int, limit: int) -> None:
        super().__init__(
            f"query cost {cost:,} exceeds the limit of {limit:,} (max_query_cost): each field "
            "counts once per object it is selected on, a connection multiplies what it selects "
            "by its page size (`first`), `nodes(ids)` by its number of ids, and aliases add up; "
            "ask for smaller pages, fewer ids or fewer nested lists",
            extensions={"code": COST_CODE, "cost": cost, "maxCost": limit},
        )


class QueryCost:
    """The cost of operations against one schema, with the page sizes of `settings`."""

    def __init__(self, schema: GraphQLSchema, settings: Settings) -> None:
        self.schema = schema
        self.default_page = settings.default_page_size
        self.max_page = settings.max_page_size
        # The cost of recent requests by their text: a client repeats the same few operations,
        # and the walk costs as much as a fifth of executing a page.
        self._recent: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._lock = threading.Lock()  # executions (and so this) run in several threads

    def of_request(
        self,
        query: str,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> int:
        """`of()`, remembered for the last `RECENT` distinct (query, operation, variables)."""
        try:
            canonical = _CANONICAL.encode(variables or {})
        except (TypeError, ValueError):  # not JSON-like: never cached
            return self.of(operation, fragments, variables)
        name = operation.name.value if operation.name else ""
        key = (query, name, canonical)
        with self._lock:
            cost = self._recent.get(key)
        if cost is None:
            cost = self.of(operation, fragments, variables)
            with self._lock:
                self._recent[key] = cost
                while len(self._recent) > RECENT:
                    self._recent.popitem(last=False)
        return cost

    def of(
        self,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
    ) -> int:
        """The cost of `operation`; `variables` as the client sent them (before coercion)."""
        root = self.schema.query_type
        if root is None:  # pragma: no cover - the schema always has a query type
            return 0
        walk = _Walk(self, fragments, _variable_values(operation, variables or {}))
        return walk.selection_cost(root, operation.selection_set, set())


class _Walk:
    """One cost computation: the fragments and variables of one request."""

    def __init__(
        self,
        cost: QueryCost,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.cost = cost
        self.fragments = fragments
        self.variables = variables

    def selection_cost(
        self, parent: GraphQLNamedType, selections: SelectionSetNode, seen: set[str]
    ) -> int:
        total = 0
        for field, owner in self.fields(parent, selections, seen):
            total += self.field_cost(owner, field)
        return total

    def fields(
        self, parent: GraphQLNamedType, selections: SelectionSetNode, seen: set[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        """Every field node selected on `parent`, fragments flattened (each named fragment once
        per path: validation has refused cycles, `seen` guards anyway)."""
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                yield selection, parent
            elif isinstance(selection, InlineFragmentNode):
                owner = self.type_named(selection.type_condition, parent)
                yield from self.fields(owner, selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                owner = self.type_named(fragment.type_condition, parent)
                yield from self.fields(owner, fragment.selection_set, seen | {name})

    def type_named(self, condition: Any, parent: GraphQLNamedType) -> GraphQLNamedType:
        if condition is None:
            return parent
        found = self.cost.schema.get_type(condition.name.value)
        return found if found is not None else parent

    def field_cost(self, owner: GraphQLNamedType, node: FieldNode) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 1  # __typename, and introspection: bounded by the schema
        definition = _field(owner, name)
        if definition is None or node.selection_set is None:
            return LEAF_WEIGHTS.get(name, 1)  # a leaf (or a field validation refused already)
        target, is_list = _unwrap(definition.type)
        if is_list:
            return 1 + self.items(node) * self.selection_cost(target, node.selection_set, set())
        if _is_connection(target):
            return 1 + self.connection_cost(target, node)
        return 1 + self.selection_cost(target, node.selection_set, set())

    def connection_cost(self, connection: GraphQLNamedType, node: FieldNode) -> int:
        """What a connection selects: its lists (`edges`) hold a page each, the rest once."""
        assert node.selection_set is not None
        size = self.page_size(node)
        total = 0
        for inner, owner in self.fields(connection, node.selection_set, set()):
            definition = _field(owner, inner.name.value)
            if definition is not None and inner.selection_set is not None:
                item, is_list = _unwrap(definition.type)
                if is_list:
                    total += 1 + size * self.selection_cost(item, inner.selection_set, set())
                    continue
            total += self.field_cost(owner, inner)
        return total

    def items(self, node: FieldNode) -> int:
        """How many objects a list field may hold."""
        ids = self.argument(node, "ids")
        if isinstance(ids, list):
            return min(len(ids), self.cost.max_page)
        return ASSUMED_LIST_SIZE

    def page_size(self, node: FieldNode) -> int:
        """The page size of a connection field: `first`, or the default; ids cap it."""
        first = self.argument(node, "first")
        size = first if isinstance(first, int) and not isinstance(first, bool) else None
        size = self.cost.default_page if size is None else max(0, min(size, self.cost.max_page))
        ids = self.argument(node, "ids")
        if isinstance(ids, list):
            size = min(size, len(ids))
        return size

    def argument(self, node: FieldNode, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                return self.value(argument.value)
        return None

    def value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, ListValueNode):
            return [self.value(v) for v in node.values]
        return getattr(node, "value", None)


def _is_connection(target: GraphQLNamedType) -> bool:
    return isinstance(target, GraphQLObjectType) and target.name.endswith("Connection")


def _field(owner: GraphQLNamedType, name: str) -> GraphQLField | None:
    if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType):
        found: GraphQLField | None = owner.fields.get(name)
        return found
    return None  # a union (only __typename is selectable on it), or a scalar


def _unwrap(type_: Any) -> tuple[GraphQLNamedType, bool]:
    """The named type under non-null and list wrappers, and whether a list was among them."""
    is_list = False
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            is_list = True
        type_ = type_.of_type
    return type_, is_list


def _variable_values(
    operation: OperationDefinitionNode, variables: Mapping[str, Any]
) -> dict[str, Any]:
    """The variables sent, with the operation's defaults for those missing."""
    values: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name in variables:
            values[name] = variables[name]
        elif definition.default_value is not None:
            values[name] = getattr(definition.default_value, "value", None)
            if isinstance(definition.default_value, IntValueNode):
                values[name] = int(definition.default_value.value)
    return values


class CostLimiter(SchemaExtension):
    """Refuses an operation above `max_query_cost` once it is parsed and validated, before any
    resolver runs; records the cost of the others on the request's context."""

    def __init__(self, cost: QueryCost, limit: int) -> None:
        self.cost = cost
        self.limit = limit

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None:
            operation = _operation(document.definitions, context.operation_name)
            if operation is not None:
                fragments = {
                    d.name.value: d
                    for d in document.definitions
                    if isinstance(d, FragmentDefinitionNode)
                }
                cost = self.cost.of_request(
                    context.query or "", operation, fragments, context.variables
                )
                record = getattr(context.context, "record_cost", None)
                if record is not None:
                    name = operation.name.value if operation.name else None
                    record(cost, operation.operation.value, name)
                if cost > self.limit:
                    # A result set before execution makes strawberry skip it.
                    context.result = GraphQLExecutionResult(
                        data=None, errors=[CostError(cost, self.limit)]
                    )
        yield


def _operation(definitions: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)
