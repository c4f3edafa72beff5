"""Hypothesis strategy: random queries over the schema, read from the schema itself. From a root
field, random subsets of each type's fields down to a few levels, with aliases, arguments the seed
can answer, inline fragments on the types an interface stands for, named fragments, `__typename`
and @skip/@include (literal or through a variable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)
from hypothesis import strategies as st

# Argument values the seed answers (and a few it refuses: the reference's errors are compared too).
IDS = (
    "failed-back-surgery-syndrome",
    "lumbar-fusion-success-rate",
    "success-rate-falls-after-repeat-surgery",
    "acetaminophen",
    "opioids",
    "physical-therapy",
    "epidural-fibrosis",
    "clinic-page",
    "pain-medicine",
    "imaging-studies",
    "no-such-id",
)
ARGUMENTS: dict[str, tuple[str, ...]] = {
    "id": tuple(f'"{i}"' for i in IDS),
    "ids": ('["lumbar-fusion-success-rate", "back-pain-lifetime-prevalence"]', '["acetaminophen"]'),
    "first": ("0", "1", "2", "3"),
    "lang": ('"en"', '"de"'),
    "page": ('"clinic-page"',),
    "related": ("true", "false"),
    "category": ('"medication"', '"interventional"'),
    "role": ('"main"', '"other"'),
    "kind": ("STATISTIC", "QUALITATIVE_CLAIM"),
    "types": ("[CONDITION]", "[TREATMENT, FACT]", "[SOURCE]"),
    "text": ('"pain"', '"fbss"', '"tylenol"'),
    "scheme": ('"Measures"', '"Units"', '"CauseRoles"'),
    "measure": ('"success-rate"',),
    "about": ('"failed-back-surgery-syndrome"', '"spinal-fusion"'),
    "source": ('"pain-medicine"', '"clinic-page"'),
    "forCondition": ('"failed-back-surgery-syndrome"',),
}


@dataclass
class Document:
    """What a query being drawn needs besides its operation: fragments and the flag variable."""

    fragments: list[str] = field(default_factory=list)
    uses_flag: bool = False


@st.composite
def selections(draw: st.DrawFn, schema: GraphQLSchema) -> tuple[str, dict[str, Any]]:
    """A query and its variables."""
    document = Document()
    query_type = schema.query_type
    assert query_type is not None
    body = draw(_selection_set(schema, query_type, 3, document))
    variables: dict[str, Any] = {}
    head = "query"
    if document.uses_flag:
        head = "query ($flag: Boolean!)"
        variables["flag"] = draw(st.booleans())
    return "\n".join([f"{head} {body}", *document.fragments]), variables


@st.composite
def _selection_set(
    draw: st.DrawFn,
    schema: GraphQLSchema,
    type_: GraphQLObjectType | GraphQLInterfaceType,
    depth: int,
    document: Document,
) -> str:
    names = sorted(type_.fields)
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=4, unique=True))
    parts = []
    for i, name in enumerate(chosen):
        text = draw(_field(schema, name, type_.fields[name], depth, document))
        if text is None:
            continue
        if draw(st.integers(0, 4)) == 0:
            text = f"a{i}_{name}: {text}"
        parts.append(text + draw(_condition(document)))
    if draw(st.booleans()):
        parts.append("__typename")
    if isinstance(type_, GraphQLInterfaceType) and depth > 0:
        possible = sorted(t.name for t in schema.get_possible_types(type_))
        for name in draw(st.lists(st.sampled_from(possible), max_size=2, unique=True)):
            runtime = schema.get_type(name)
            assert isinstance(runtime, GraphQLObjectType)
            inner = draw(_selection_set(schema, runtime, depth - 1, document))
            parts.append(f"... on {name}{draw(_condition(document))} {inner}")
    if depth > 0 and draw(st.integers(0, 5)) == 0:
        inner = draw(_selection_set(schema, type_, depth - 1, document))
        name = f"F{len(document.fragments)}"
        document.fragments.append(f"fragment {name} on {type_.name} {inner}")
        parts.append(f"...{name}")
    return "{ " + " ".join(parts or ["__typename"]) + " }"


@st.composite
def _field(
    draw: st.DrawFn,
    schema: GraphQLSchema,
    name: str,
    definition: GraphQLField,
    depth: int,
    document: Document,
) -> str | None:
    arguments = []
    for arg_name, argument in definition.args.items():
        values = ARGUMENTS.get(arg_name)
        if values is None:
            if is_required_argument(argument):
                return None
            continue
        if is_required_argument(argument) or draw(st.booleans()):
            arguments.append(f"{arg_name}: {draw(st.sampled_from(values))}")
    text = name + (f"({', '.join(arguments)})" if arguments else "")
    named = get_named_type(definition.type)
    if is_leaf_type(named):
        return text
    if depth == 0:
        return None
    assert isinstance(named, GraphQLObjectType | GraphQLInterfaceType)
    return f"{text} {draw(_selection_set(schema, named, depth - 1, document))}"


@st.composite
def _condition(draw: st.DrawFn, document: Document) -> str:
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return f" @skip(if: {draw(st.sampled_from(['true', 'false']))})"
    if choice == 1:
        return f" @include(if: {draw(st.sampled_from(['true', 'false']))})"
    if choice == 2:
        document.uses_flag = True
        return draw(st.sampled_from([" @skip(if: $flag)", " @include(if: $flag)"]))
    return ""
