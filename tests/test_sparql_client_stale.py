"""A kept connection that an earlier request of the same thread left mid-exchange (a request sent,
its answer never read: http.client's CannotSendRequest "Request-sent") is dropped and the query
sent again on a new one, as for a connection the store closed: not a 503 for the next request."""

from __future__ import annotations

from server.store.sparql_client import Budget, SparqlClient

from .oxigraph_server import Oxigraph, oxigraph  # noqa: F401  (the fixture)


def test_a_connection_left_mid_exchange_is_replaced(oxigraph: Oxigraph) -> None:  # noqa: F811
    client = SparqlClient(oxigraph.query_url)
    assert client.select("SELECT (1 AS ?one) {}", Budget(queries=5, seconds=10)) is not None
    stale = client._connection()
    stale.putrequest("POST", "/query")  # sent, never answered: the state "Request-sent"
    rows = client.select("SELECT (1 AS ?one) {}", Budget(queries=5, seconds=10))
    assert [str(r["one"]) for r in rows] == ["1"]
    assert client._connection() is not stale
