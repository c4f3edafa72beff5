"""How errors reach GraphQL clients: coded when they are meant for the client, masked when not."""

from __future__ import annotations

from graphql import GraphQLError

from server.content.schemaorg import PageRequired
from server.http.graphql_errors import format_error
from server.store.protocol import DatasetChanged


def test_dataset_changed_is_a_coded_error_not_a_masked_one() -> None:
    original = DatasetChanged("the files now hold version b, not the a being served")
    error = GraphQLError(str(original), original_error=original, path=["condition"])
    formatted = format_error(error, "req-1")
    assert formatted["extensions"] == {"code": "DATASET_CHANGED"}
    assert "the files now hold version b" in formatted["message"]


def test_schema_org_errors_keep_their_code() -> None:
    original = PageRequired("'c' is on several pages; name one (p1, p2)", ["p1", "p2"])
    formatted = format_error(GraphQLError(str(original), original_error=original), "req-2")
    assert formatted["extensions"] == {"code": "PAGE_REQUIRED"}
    assert formatted["message"] == "'c' is on several pages; name one (p1, p2)"


def test_unexpected_errors_stay_masked() -> None:
    original = KeyError("secret detail")
    formatted = format_error(GraphQLError("boom", original_error=original), "req-3")
    assert formatted["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "secret" not in formatted["message"]
