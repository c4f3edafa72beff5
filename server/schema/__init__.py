"""The GraphQL schema (strawberry, code-first). `server/schema.graphql` is its committed contract.

Regenerate the contract after changing types: `python -m server.schema > server/schema.graphql`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.disable_introspection import DisableIntrospection
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from server.content.lookup import UserInputError
from server.schema import (
    entities,  # noqa: F401  (their types register themselves)
    fact_types,  # noqa: F401  (their types register themselves)
    pages,  # noqa: F401  (their types register themselves)
)
from server.schema.base import (
    Context,
    Node,
    registered_types,
)
from server.schema.cost import CostLimiter, QueryCost
from server.schema.execution import BoundedExecutionContext
from server.schema.query import Query
from server.schema.selection_sets import guarded
from server.settings import Settings

SDL_PATH = Path(__file__).resolve().parent.parent / "schema.graphql"
REGENERATE = "python -m server.schema > server/schema.graphql"

# Types reachable only through interfaces must be listed, or the schema would not know them:
# every type registered for an ontology class.
CONCRETE_TYPES: tuple[type[Node], ...] = registered_types()


class ClinicSchema(strawberry.Schema):
    """The strawberry schema; errors are logged by the HTTP layer, with the request id."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        return None


def build_schema(settings: Settings | None = None) -> ClinicSchema:
    """The schema with the safety limits and caches of `settings`."""
    settings = settings or Settings()
    # Validation rules are built once, so ValidationCache (keyed on the rules) gets hits.
    rules: list[type[ASTValidationRule]] = [
        # The depth limiter fails on an empty selection set (`{}`): it is refused first.
        *map(guarded, QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules),
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
    ]
    if not settings.introspection:
        rules.extend(DisableIntrospection().validation_rules)
    cost: list[QueryCost] = []  # the cost model needs the built schema; filled in below
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=256),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=256),
        lambda: CostLimiter(cost[0], settings.max_query_cost),
    ]
    schema = ClinicSchema(
        query=Query,
        types=CONCRETE_TYPES,
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=BoundedExecutionContext,
    )
    cost.append(QueryCost(schema._schema, settings))
    return schema


def sdl() -> str:
    """The schema as SDL, exactly as committed in server/schema.graphql."""
    return build_schema().as_str().rstrip("\n") + "\n"


__all__ = [
    "REGENERATE",
    "SDL_PATH",
    "ClinicSchema",
    "Context",
    "UserInputError",
    "build_schema",
    "sdl",
]
