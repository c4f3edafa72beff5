"""Plans of the compiled executor: one generated function per selection set, built from the AST.

A plan is what graphql-core's executor works out again for every object of every request (which
fields a selection set collects for a type, which resolver each calls with which arguments, how
its value completes), worked out once per validated document: per selection set and type, a
Python function generated with one statement per field, calling closures that complete values
(lists, objects, interfaces planned per runtime type on first sight, scalars). Running
it calls the same strawberry resolvers with the same arguments and completes their values with
the same scalar serializers, so the data are those of the reference executor; whatever would make
the reference report an error makes the plan raise `Fallback` instead (server/schema/compiled.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from keyword import iskeyword
from operator import attrgetter
from time import monotonic
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLID,
    GraphQLIncludeDirective,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSkipDirective,
    GraphQLString,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    type_from_ast,
)
from graphql.execution.values import VariableValues, get_argument_values, get_directive_values
from graphql.pyutils import is_iterable
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import TYPE_CAST_ATTRIBUTE, get_strawberry_type_cast
from strawberry.types.field import StrawberryField

from server.schema.base import Context

BACKREF = GraphQLCoreConverter.DEFINITION_BACKREF
CONDITIONS = frozenset({GraphQLSkipDirective.name, GraphQLIncludeDirective.name})


class Unsupported(Exception):
    """The document uses what plans do not cover (introspection, other directives, an async or
    extended field, a union): the reference executor answers it."""


class Fallback(Exception):
    """While running: what the reference executor reports as an error (a resolver raised, a null
    in a non-null field, a value of the wrong type) or answers differently; it answers instead."""


class Info:
    """What the project's resolvers read of strawberry's `Info`: the request context. Reading
    anything else raises AttributeError, so the request falls back to the reference executor."""

    __slots__ = ("context",)

    def __init__(self, context: Context) -> None:
        self.context = context


@dataclass(slots=True)
class Run:
    """One request's state, handed to every closure of the plan; past `deadline` (a
    time.monotonic() value) the plan stops and the reference reports the timeout."""

    info: Info
    variables: VariableValues
    deadline: float | None = None
    checkpoint: Callable[[], None] | None = None  # called before each object (server/http/lanes)


Complete = Callable[[Any, Run], Any]
Fields = Callable[[Any, Run], dict[str, Any]]


class Planner:
    """Builds the closures of one operation (and, when @skip/@include read variables, one set
    of their values: `variables` are the values those directives see)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        strawberry_config: Any,
        scalar_registry: Any,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues,
    ) -> None:
        self.schema = schema
        self.config = strawberry_config
        self.scalars = scalar_registry
        self.fragments = fragments
        self.variables = variables

    # -- which fields a selection set selects on a type (graphql-core's collect_fields)

    def collect(
        self, runtime_type: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> dict[str, list[FieldNode]]:
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection_set in selection_sets:
            self._visit(runtime_type, selection_set, grouped, visited)
        return grouped

    def _visit(
        self,
        runtime_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                if self._matches(selection, runtime_type):
                    self._visit(runtime_type, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or not self._matches(fragment, runtime_type):
                    continue
                if name in visited:
                    continue
                visited.add(name)
                self._visit(runtime_type, fragment.selection_set, grouped, visited)
            else:  # pragma: no cover - graphql-core has no other kind of selection
                raise Unsupported(f"selection {selection.kind}")

    def _included(self, node: SelectionNode) -> bool:
        for directive in node.directives or ():
            if directive.name.value not in CONDITIONS:
                raise Unsupported(f"directive @{directive.name.value}")
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip["if"]:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include and not include["if"])

    def _matches(
        self, fragment: FragmentDefinitionNode | InlineFragmentNode, runtime_type: GraphQLObjectType
    ) -> bool:
        condition = fragment.type_condition
        if condition is None:
            return True
        wanted = type_from_ast(self.schema, condition)
        if wanted is runtime_type:
            return True
        return is_abstract_type(wanted) and self.schema.is_sub_type(wanted, runtime_type)

    # -- the closures

    def fields(
        self, object_type: GraphQLObjectType, selection_sets: Iterable[SelectionSetNode]
    ) -> Fields:
        """The function that turns one object of `object_type` into its response dict: Python
        source generated for this selection, one statement per field, no loop, no dispatch."""
        names: dict[str, Any] = {"Fallback": Fallback, "monotonic": monotonic}
        body: list[str] = []
        for i, (key, nodes) in enumerate(self.collect(object_type, selection_sets).items()):
            name = nodes[0].name.value
            if name == "__typename":
                body.append(f"out[{key!r}] = {object_type.name!r}")
                continue
            if name.startswith("__"):
                raise Unsupported(f"introspection field {name}")
            definition = object_type.fields[name]
            value = self.resolver(definition, nodes[0], f"_{i}", names)
            names[f"c{i}"] = self.completer(definition.type, nodes)
            body.append(f"v = {value}")
            if _is_text(definition.type):
                # A str in a String or ID field is its own serialization: skip the call.
                body.append(f"out[{key!r}] = v if v.__class__ is str else c{i}(v, run)")
            else:
                body.append(f"out[{key!r}] = c{i}(v, run)")
        lines = [
            "def run_fields(source, run):",
            "    if run.deadline is not None and monotonic() > run.deadline:",
            "        raise Fallback('past the deadline')",
            "    if run.checkpoint is not None:",
            "        run.checkpoint()",
            "    info = run.info",
            "    out = {}",
        ]
        lines += [f"    {line}" for line in body]
        lines.append("    return out")
        exec(compile("\n".join(lines), f"<plan of {object_type.name}>", "exec"), names)
        return cast(Fields, names["run_fields"])

    def resolver(
        self, definition: GraphQLField, node: FieldNode, suffix: str, names: dict[str, Any]
    ) -> str:
        """A Python expression of `source`, `info` and `run` for a field's value, as strawberry
        would get it; what it calls is added to `names`."""
        field = definition.extensions.get(BACKREF)
        if not isinstance(field, StrawberryField) or field.extensions:
            raise Unsupported("a field without a plain strawberry definition")
        resolver = field.base_resolver
        if resolver is None:
            if field.default_resolver is not getattr:
                raise Unsupported("a custom default resolver")
            attribute = field.python_name
            if attribute.isidentifier() and not iskeyword(attribute):
                return f"source.{attribute}"
            names[f"g{suffix}"] = attrgetter(attribute)
            return f"g{suffix}(source)"
        if field.is_async:
            raise Unsupported("an async resolver")
        func: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]
        with_self = resolver.self_parameter is not None
        parents = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
        info_name = resolver.info_parameter.name if resolver.info_parameter else None
        arguments = self.arguments(field, definition, node)
        names[f"f{suffix}"] = func
        if with_self and not parents and not callable(arguments):
            given = ["source"]
            if info_name is not None:
                given.append(f"{info_name}=info")
            if arguments:
                names[f"a{suffix}"] = arguments
                given.append(f"**a{suffix}")
            return f"f{suffix}({', '.join(given)})"
        static = arguments if isinstance(arguments, dict) else None

        def resolve(source: Any, run: Run) -> Any:
            kwargs = dict(static) if static is not None else {}
            if callable(arguments):
                kwargs.update(arguments(run))
            for name in parents:
                kwargs[name] = source
            if info_name is not None:
                kwargs[info_name] = run.info
            return func(source, **kwargs) if with_self else func(**kwargs)

        names[f"r{suffix}"] = resolve
        return f"r{suffix}(source, run)"

    def arguments(
        self, field: StrawberryField, definition: GraphQLField, node: FieldNode
    ) -> dict[str, Any] | Callable[[Run], dict[str, Any]] | None:
        """The resolver's keyword arguments: None when it takes none, a dict when they are
        literals (converted once), else a function of the request's variables."""
        if not definition.args:
            return None

        def convert(variables: VariableValues | None) -> dict[str, Any]:
            raw = get_argument_values(definition, node, variables)
            return convert_arguments(
                raw, field.arguments, scalar_registry=self.scalars, config=self.config
            )

        if not any(_uses_variables(a.value) for a in node.arguments or ()):
            return convert(None)
        return lambda run: convert(run.variables)

    def completer(self, type_: GraphQLOutputType, nodes: list[FieldNode]) -> Complete:
        """How a resolved value becomes JSON-ready data (graphql-core's complete_value)."""
        required = isinstance(type_, GraphQLNonNull)
        if isinstance(type_, GraphQLNonNull):
            type_ = type_.of_type
        if isinstance(type_, GraphQLList):
            return _list(self.completer(type_.of_type, nodes), _is_text(type_.of_type), required)
        if type_ is GraphQLString or type_ is GraphQLID:
            return _leaf(type_.serialize, required, text=True)
        if is_leaf_type(type_):
            return _leaf(type_.serialize, required, text=False)
        if isinstance(type_, GraphQLObjectType):
            return self.object_completer(type_, nodes, required)
        if isinstance(type_, GraphQLInterfaceType):
            return self.interface_completer(type_, nodes, required)
        raise Unsupported(f"return type {type_}")

    def object_completer(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode], required: bool
    ) -> Complete:
        fields = self.fields(object_type, _selection_sets(nodes))
        is_type_of = object_type.is_type_of
        # Classes strawberry's is_type_of accepted: for an object that is not a strawberry.cast,
        # its answer depends on the class alone (isinstance of the type's origin).
        accepted: set[type] = set()

        def complete_object(value: Any, run: Run) -> Any:
            if value is None or value is Undefined:
                return _null(required)
            # (classes are accepted only when their objects have a __dict__ to hold the mark)
            if value.__class__ in accepted and TYPE_CAST_ATTRIBUTE not in value.__dict__:
                return fields(value, run)
            if is_type_of is not None and not is_type_of(value, None):  # type: ignore[arg-type]
                raise Fallback(f"not a {object_type.name}")
            if hasattr(value, "__dict__") and not _is_cast(value):
                accepted.add(value.__class__)
            return fields(value, run)

        return complete_object

    def interface_completer(
        self, interface: GraphQLInterfaceType, nodes: list[FieldNode], required: bool
    ) -> Complete:
        """Completes each value as the object type strawberry resolves it to, planned on first
        sight of its Python class."""
        definition = interface.extensions.get(BACKREF)
        if not isinstance(definition, StrawberryObjectDefinition) or definition.resolve_type:
            raise Unsupported(f"interface {interface.name} resolves types its own way")
        origin = definition.origin
        by_class: dict[type, Complete] = {}

        def complete_abstract(value: Any, run: Run) -> Any:
            if value is None or value is Undefined:
                return _null(required)
            complete = by_class.get(value.__class__)
            if complete is None:
                complete = self._runtime(interface, origin, value, nodes)
                by_class[value.__class__] = complete
            if _is_cast(value):
                raise Fallback("strawberry.cast objects")
            return complete(value, run)

        return complete_abstract

    def _runtime(
        self, interface: GraphQLInterfaceType, origin: type, value: Any, nodes: list[FieldNode]
    ) -> Complete:
        """strawberry's resolve_type for a value of an interface, then graphql-core's checks."""
        own = getattr(value, "__strawberry_definition__", None)
        if not isinstance(value, origin) or not isinstance(own, StrawberryObjectDefinition):
            raise Fallback(f"a value of {interface.name} that is no strawberry type of it")
        if own.is_graphql_generic:
            raise Fallback("a generic type behind an interface")
        runtime = self.schema.get_type(own.name)
        if not isinstance(runtime, GraphQLObjectType) or not self.schema.is_sub_type(
            interface, runtime
        ):
            raise Fallback(f"{own.name} is not a possible type of {interface.name}")
        try:
            return self.object_completer(runtime, nodes, required=False)
        except Unsupported as exc:
            raise Fallback(str(exc)) from exc


def _is_cast(value: Any) -> bool:
    """Whether `strawberry.cast` marked the object (it sets an attribute on the instance)."""
    own = getattr(value, "__dict__", None)
    if own is not None:
        return TYPE_CAST_ATTRIBUTE in own
    return get_strawberry_type_cast(value) is not None


def _null(required: bool) -> None:
    if required:
        raise Fallback("null in a non-null field")
    return None


def _list(item: Complete, text: bool, required: bool) -> Complete:
    def complete_list(value: Any, run: Run) -> Any:
        if value is None or value is Undefined:
            return _null(required)
        if value.__class__ is not list and not is_iterable(value):
            raise Fallback("a list field resolved to something else")
        if text:
            return [v if v.__class__ is str else item(v, run) for v in value]
        return [item(v, run) for v in value]

    return complete_list


def _leaf(serialize: Callable[[Any], Any], required: bool, text: bool) -> Complete:
    """A scalar or enum value through its serializer (String and ID: a str passes as it is)."""

    def complete_leaf(value: Any, run: Run) -> Any:
        if text and value.__class__ is str:
            return value
        if value is None or value is Undefined:
            return _null(required)
        try:
            done = serialize(value)
        except Exception as exc:
            raise Fallback(f"cannot serialize {value!r}") from exc
        if done is None or done is Undefined:
            raise Fallback(f"cannot serialize {value!r}")
        return done

    return complete_leaf


def _is_text(type_: GraphQLOutputType) -> bool:
    """String or ID, nullable or not: types whose str values pass unchanged."""
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_ is GraphQLString or type_ is GraphQLID


def _selection_sets(nodes: list[FieldNode]) -> list[SelectionSetNode]:
    return [n.selection_set for n in nodes if n.selection_set is not None]


def _uses_variables(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    if isinstance(value, ListValueNode):
        return any(_uses_variables(v) for v in value.values)
    if isinstance(value, ObjectValueNode):
        return any(_uses_variables(f.value) for f in value.fields)
    return False
