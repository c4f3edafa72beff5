"""Empty selection sets (`{}`, `{ condition(id: "x") {} }`) are refused as a validation error.

The GraphQL grammar wants at least one selection between braces (`SelectionSet : { Selection+ }`);
graphql-core 3.3 parses `{}` all the same, and strawberry's depth limiter then fails on it
(`max()` of nothing), which would reach the client as an internal server error. The depth rule
is wrapped: a document with an empty selection set gets one error per empty set, with its
location, and the depth is not measured.
"""

from __future__ import annotations

from graphql import (
    ASTValidationRule,
    GraphQLError,
    Node,
    SelectionSetNode,
    ValidationContext,
    Visitor,
    visit,
)


def empty_selection_sets(document: Node) -> list[SelectionSetNode]:
    """The selection sets of `document` that select nothing, in document order."""
    found: list[SelectionSetNode] = []

    class Finder(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: object) -> None:
            if not node.selections:
                found.append(node)

    visit(document, Finder())
    return found


def guarded(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """`rule` (a rule that measures the document as it is constructed, such as strawberry's
    depth limiter), run only on documents whose selection sets all select something; an empty
    one is reported instead."""

    class NonEmptySelections(ASTValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            empty = empty_selection_sets(context.document)
            for node in empty:
                context.report_error(
                    GraphQLError(
                        "A selection set must select at least one field: write the fields "
                        "you want between the braces.",
                        node,
                    )
                )
            if not empty:
                rule(context)

    NonEmptySelections.__name__ = f"NonEmptySelections_{rule.__name__}"
    return NonEmptySelections
