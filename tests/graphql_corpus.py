"""Every GraphQL query the repository writes down, gathered from the source, not copied: the string
literals of tests/ that parse as GraphQL operations, the ```graphql examples of README.md and the
benchmark's queries. A new test query joins the corpus by existing.

Also: the same documents with their literal arguments turned into variables (`hoisted`), and
variable values for documents that declare variables (`variable_sets`).
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    TypeNode,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    value_from_ast_untyped,
    visit,
)
from graphql.language import ListTypeNode, NonNullTypeNode

from tests.benchmarks import queries as bench_queries

REPO = Path(__file__).resolve().parent.parent
_README_BLOCK = re.compile(r"```graphql\n(.*?)```", re.S)


@dataclass(frozen=True)
class Query:
    text: str
    origin: str  # where it was found: a file name

    @property
    def operations(self) -> list[str | None]:
        """The names to run: each named operation, or None for a single anonymous one."""
        ops = [d for d in parse(self.text).definitions if isinstance(d, OperationDefinitionNode)]
        if len(ops) == 1:
            return [None]
        return [o.name.value for o in ops if o.name is not None]


def _operation_text(text: str) -> bool:
    if "{" not in text:
        return False
    try:
        document = parse(text)
    except Exception:  # not GraphQL: any other string of the tests
        return False
    return any(isinstance(d, OperationDefinitionNode) for d in document.definitions)


def collected() -> list[Query]:
    """The corpus, deduplicated, in a stable order."""
    found: dict[str, str] = {}
    for path in sorted((REPO / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and _operation_text(text):
                found.setdefault(text, path.name)
    for block in _README_BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        if _operation_text(block):
            found.setdefault(block, "README.md")
    for name in ("CONDITION_PAGE", "SEARCH", "FACTS"):
        found.setdefault(getattr(bench_queries, name), "tests/benchmarks/queries.py")
    return [Query(text, origin) for text, origin in found.items()]


def hoisted(schema: GraphQLSchema, text: str) -> tuple[str, dict[str, Any]] | None:
    """The document with every literal argument (of fields and directives) replaced by a variable,
    and the values those variables take; None when there is nothing to hoist or the document has
    several operations."""
    document = parse(text)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1:
        return None
    type_info = TypeInfo(schema)
    values: dict[str, Any] = {}
    definitions: list[VariableDefinitionNode] = []

    class Hoist(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> ArgumentNode | None:
            argument = type_info.get_argument()
            if argument is None or _has_variable(node):
                return None
            name = f"h{len(values)}"
            values[name] = value_from_ast_untyped(node.value)
            definitions.append(
                VariableDefinitionNode(
                    variable=VariableNode(name=NameNode(value=name)),
                    type=_type_node(argument.type),
                    directives=(),
                )
            )
            return ArgumentNode(name=node.name, value=VariableNode(name=NameNode(value=name)))

    changed: DocumentNode = visit(document, TypeInfoVisitor(type_info, Hoist()))
    if not values:
        return None
    operation = next(d for d in changed.definitions if isinstance(d, OperationDefinitionNode))
    declared = replace(
        operation, variable_definitions=(*(operation.variable_definitions or ()), *definitions)
    )
    changed = replace(
        changed, definitions=tuple(declared if d is operation else d for d in changed.definitions)
    )
    return print_ast(changed), values


def _has_variable(node: ArgumentNode) -> bool:
    found = []

    class Find(Visitor):
        def enter_variable(self, *_: Any) -> None:
            found.append(True)

    visit(node, Find())
    return bool(found)


def _type_node(type_: GraphQLInputType) -> TypeNode:
    if isinstance(type_, GraphQLNonNull):
        inner = _type_node(type_.of_type)
        assert isinstance(inner, NamedTypeNode | ListTypeNode)
        return NonNullTypeNode(type=inner)
    if isinstance(type_, GraphQLList):
        return ListTypeNode(type=_type_node(type_.of_type))
    return NamedTypeNode(name=NameNode(value=type_.name))


# Values a variable may take, by the type it declares: ids of every kind (and one that names
# nothing), texts, sizes. Each document runs once per set, cycling through the candidates.
IDS = (
    "failed-back-surgery-syndrome",
    "lumbar-fusion-success-rate",
    "acetaminophen",
    "clinic-page",
    "herniated-disc",
    "example-herniated-disc-page",
    "success-rate-falls-after-repeat-surgery",
    "no-such-id",
)
STRINGS = ("pain", "fbss", None)
INTS = (3, 0, None)


def variable_sets(
    schema: GraphQLSchema, text: str, operation: str | None, count: int = 4
) -> Iterator[dict[str, Any]]:
    """Up to `count` assignments of the operation's variables (none when it declares none)."""
    document = parse(text)
    found = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation is None or (d.name is not None and d.name.value == operation))
    ]
    definitions = found[0].variable_definitions if found else ()
    if not definitions:
        yield {}
        return
    pools = [_candidates(schema, d.type) for d in definitions]
    for i in range(count):
        yield {
            d.variable.name.value: pool[i % len(pool)]
            for d, pool in zip(definitions, pools, strict=True)
        }


def _candidates(schema: GraphQLSchema, node: TypeNode) -> list[Any]:
    if isinstance(node, NonNullTypeNode):
        return [v for v in _candidates(schema, node.type) if v is not None] or [None]
    if isinstance(node, ListTypeNode):
        items = [v for v in _candidates(schema, node.type) if v is not None]
        return [items[1:2], items[:3], list(itertools.islice(itertools.cycle(items), 5)), None]
    assert isinstance(node, NamedTypeNode)
    named = schema.get_type(node.name.value)
    if isinstance(named, GraphQLEnumType):
        return [*named.values, None]
    if isinstance(named, GraphQLScalarType):
        if named.name == "ID":
            return [*IDS, None]
        if named.name == "Int":
            return list(INTS)
        if named.name == "Boolean":
            return [True, False, None]
        return list(STRINGS)
    return [None]
