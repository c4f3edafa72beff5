"""The compiled executor: validated documents answered without graphql-core's per-field machinery.

graphql-core and strawberry spend 10-30 µs of Python per selected field (collecting the selection
set again for every object, building a resolve info, converting arguments, checking awaitables); a
condition page selects ~300 fields, and the project's resolvers are a tenth of that time.
`CompiledExecutor` works all of that out once per (query text, operation name) and keeps it as a
plan (server/schema/compiled_plan.py) that calls the same resolvers with the same arguments and
completes their values with the same serializers, so it returns the bytes of
`json.dumps(reference_result.data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))`
for the same request (tests/test_compiled_executor.py compares both on every query of the
repository and on random selections). Resolvers get a stand-in for strawberry's `Info` that has
only `context` (all they read); reading anything else falls back.

Supported: query operations of documents that pass the schema's own parsing and validation (the
same extensions, limits and rules as `schema.execute_sync`), with variables (coerced by
graphql-core's `get_variable_values`), aliases, named and inline fragments on object and interface
types, `@skip`/`@include` (literal or variable), `__typename`, every field of the schema. The
execute hooks of the schema's extensions (a cost limit that reads the variables) run around each
plan as around the reference's execution; one that sets a result first refuses the request, and
the reference then refuses it with its error. A `deadline` on the context (a time.monotonic()
value) is checked before each object; past it the reference takes over and reports the timeout.

Answered by the reference executor instead (`execute` returns None): a document that fails to parse
or validate, names an unknown operation or is not a query; introspection (`__schema`, `__type`);
any other directive; invalid variables; and any request whose execution would report an error (a
resolver raised, e.g. UNKNOWN_ID or a `first` above max_page_size; a null in a non-null field):
the plan stops and the caller runs the reference executor, which reports the error as it always
has (such a request costs its plan's work up to the error, then the reference's). `stats` counts
how requests went: compiled, fallback (ran, left it to the reference), unsupported (no plan).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    get_operation_ast,
)
from graphql.execution.values import VariableValues, get_variable_values
from graphql.language import Visitor, visit
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType as AllowedOperation

from server.schema.base import Context, NotHere
from server.schema.compiled_plan import CONDITIONS, Fields, Info, Planner, Run, Unsupported
from server.schema.serialize import serialized
from server.settings import Settings

if TYPE_CHECKING:
    from server.schema import ClinicSchema

# Plans kept, by (query text, operation name); as many documents as the parser cache keeps.
PLAN_CACHE_SIZE = 256
# Plans kept per document for different values of the variables @skip/@include read.
CONDITION_PLANS = 16


@dataclass
class Document:
    """A validated operation and its plans, one per value of the variables @skip/@include read."""

    parsed: DocumentNode
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    condition_variables: tuple[str, ...]
    plans: dict[tuple[Any, ...], Fields] = field(default_factory=dict)


class CompiledExecutor:
    """Answers what it can of `schema` (see the module docstring); None means: ask the reference."""

    def __init__(self, schema: ClinicSchema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.graphql_schema = schema._schema
        self.enabled = settings.compiled_execution and _plain_schema(schema)
        self.documents: OrderedDict[tuple[str, str | None], Document | None] = OrderedDict()
        self.lock = threading.Lock()  # requests may run in worker threads
        self.stats: Counter[str] = Counter()
        # Extensions with an execute hook (a cost limit on the request's variables, say) run it
        # around every plan, as around the reference's execution.
        self.hooked = [
            factory
            for factory, extension in zip(
                schema.extensions, schema.get_extensions(sync=True), strict=False
            )
            if _acts_on_execution(extension)
        ]

    def execute(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        context: Context,
    ) -> bytes | None:
        """The JSON bytes of the response's `data`, or None: run the reference executor."""
        if not self.enabled:
            return None
        try:
            document = self.document(query, operation)
            if document is None:
                self.stats["unsupported"] += 1
                return None
            coerced = get_variable_values(
                self.graphql_schema, document.operation.variable_definitions or (), variables or {}
            )
            if isinstance(coerced, list):  # the reference reports the variables' errors
                self.stats["fallback"] += 1
                return None
            plan = self.plan(document, coerced)
            run = Run(
                Info(context),
                coerced,
                getattr(context, "deadline", None),
                getattr(context, "checkpoint", None),  # a heavy execution yields there (lanes)
            )
            if self.hooked:
                data = self._hooked(query, variables, operation, context, document, plan, run)
            else:
                data = plan(None, run)
            if data is None:  # an extension refused the request: the reference says why
                self.stats["fallback"] += 1
                return None
            # In pieces for a heavy execution, which gives way to lighter requests between them.
            body = serialized(data, getattr(context, "serialize_checkpoint", None))
        except NotHere:  # too costly to run where it was started: the caller runs it elsewhere
            raise
        except Exception:
            # Whatever would be an error (or is a bug here) is the reference executor's to answer.
            self.stats["fallback"] += 1
            return None
        self.stats["compiled"] += 1
        return body.encode()

    def document(self, query: str, operation: str | None) -> Document | None:
        """The validated operation of a query text, kept; None when plans do not cover it."""
        key = (query, operation)
        with self.lock:
            if key in self.documents:
                self.documents.move_to_end(key)
                return self.documents[key]
        found = self._prepare(query, operation)
        with self.lock:
            self.documents[key] = found
            if len(self.documents) > PLAN_CACHE_SIZE:
                self.documents.popitem(last=False)
        return found

    def _hooked(
        self,
        query: str,
        variables: dict[str, Any] | None,
        operation: str | None,
        context: Context,
        document: Document,
        plan: Fields,
        run: Run,
    ) -> dict[str, Any] | None:
        """The plan's data inside the execute hooks of the extensions that have them, with the
        execution context strawberry gives them; None when one of them sets a result first (as
        a cost limit does to refuse a request)."""
        schema = self.schema
        execution = schema._create_execution_context(
            query=query,
            allowed_operation_types=(AllowedOperation.QUERY,),
            variable_values=variables,
            context_value=context,
            operation_name=operation,
        )
        execution.graphql_document = document.parsed
        extensions = [e if isinstance(e, SchemaExtension) else e() for e in self.hooked]
        for extension in extensions:
            extension.execution_context = execution
        runner = schema.create_extensions_runner(execution, extensions)
        with runner.executing():
            if execution.result is not None:
                return None
            return plan(None, run)

    def plan(self, document: Document, variables: VariableValues) -> Fields:
        """The root plan for the values the document's @skip/@include variables have."""
        values = tuple(variables.coerced.get(v) for v in document.condition_variables)
        found = document.plans.get(values)
        if found is None:
            query_type = self.graphql_schema.query_type
            assert query_type is not None
            planner = Planner(
                self.graphql_schema,
                self.schema.config,
                self.schema.schema_converter.scalar_registry,
                document.fragments,
                variables,
            )
            found = planner.fields(query_type, [document.operation.selection_set])
            if len(document.plans) >= CONDITION_PLANS:
                document.plans.clear()
            document.plans[values] = found
        return found

    def _prepare(self, query: str, operation: str | None) -> Document | None:
        parsed = self._validated(query, operation)
        if parsed is None:
            return None
        found = get_operation_ast(parsed, operation)
        if found is None or found.operation is not OperationType.QUERY:
            return None
        fragments = {
            d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
        }
        document = Document(parsed, found, fragments, _condition_variables(parsed))
        try:
            # Plan once now, so a document plans cannot cover is known before any request runs;
            # the variables of @skip/@include are unknown here: plan them per request instead.
            if not document.condition_variables:
                empty = VariableValues(sources={}, coerced={})
                self.plan(document, empty)
        except Unsupported:
            return None
        except Exception:  # e.g. a literal argument strawberry cannot convert: the reference says
            return None
        return document

    def _validated(self, query: str, operation: str | None) -> DocumentNode | None:
        """The parsed document when the schema's own pipeline (its parser and validation
        extensions: token, depth and alias limits, every rule) accepts it; else None."""
        schema = self.schema
        context = schema._create_execution_context(
            query=query,
            allowed_operation_types=(AllowedOperation.QUERY,),
            operation_name=operation,
        )
        extensions = schema.get_extensions(sync=True)
        for extension in extensions:
            extension.execution_context = context
        runner = schema.create_extensions_runner(context, extensions)
        try:
            with runner.operation():
                if schema._prepare_operation_sync(context, runner) is not None:
                    return None
        except Exception:  # no query, an unknown operation, a mutation: the reference says so
            return None
        return context.graphql_document


def _plain_schema(schema: ClinicSchema) -> bool:
    """True when nothing wraps resolvers: no schema directives, no extension with a `resolve`
    hook (both run as graphql-core middleware, which plans do not call)."""
    if schema.directives:
        return False
    return all(
        type(extension).resolve is SchemaExtension.resolve
        for extension in schema.get_extensions(sync=True)
    )


def _acts_on_execution(extension: SchemaExtension) -> bool:
    """Whether an extension has an execute hook (those of parsing and validation ran when the
    document was validated; those around the whole operation set their options)."""
    return type(extension).on_execute is not SchemaExtension.on_execute


def _condition_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables the document's @skip/@include directives read, in a stable order."""
    found: dict[str, None] = {}

    class Conditions(Visitor):
        def enter_directive(self, node: Any, *_: Any) -> None:
            if node.name.value not in CONDITIONS:
                return
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    found[argument.value.name.value] = None

    visit(document, Conditions())
    return tuple(found)
