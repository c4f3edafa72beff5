"""The SPARQL queries a SPARQL-backed store sends per request, one function per question.

Each reads the one named graph of the version being served (`graph`, a SPARQL term) and answers
in terms the store turns into the snapshot's records: CONSTRUCTs return the triples the graph
reader reads (server/model/graph_reader.py), SELECTs return ids. Entity IRIs are written as
SPARQL terms by `sparql_client.iri`, which refuses anything that could end an IRI.
"""

from __future__ import annotations

from collections.abc import Iterable

from rdflib import URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS

from server.model.registry import Registry
from server.rdf.namespaces import CKG
from server.store.sparql_client import iri

PREFIXES = "".join(
    f"PREFIX {name}: <{namespace}>\n"
    for name, namespace in (("rdf", RDF), ("skos", SKOS), ("prov", PROV), ("ckg", CKG))
)
# The catalog's queries (server/store/sparql_catalog_build.py), once per version, with the
# version graph as `%(graph)s`. What search and the label order read of every entity: its types,
# labels, synonyms (brand names too) and a fact's quote and claim.
CATALOG = (
    PREFIXES
    + """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  VALUES ?p { rdf:type skos:prefLabel skos:altLabel ckg:brandName ckg:quote ckg:claim }
  ?s ?p ?o . FILTER(isIRI(?s))
} }"""
)
# The vocabulary: the ontology's own (ckg:) triples, as the snapshot reads its registry.
VOCABULARY = """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  ?s ?p ?o . FILTER(STRSTARTS(STR(?s), "CKG"))
} }""".replace("CKG", str(CKG))
# The SKOS concepts (measures, units, ...): the vocabulary, small whatever the data's size.
CONCEPTS = (
    PREFIXES
    + """CONSTRUCT { ?s ?p ?o } WHERE { GRAPH %(graph)s {
  ?s skos:inScheme ?scheme . ?s ?p ?o
} }"""
)
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH %(graph)s { ?s ?p ?o } }"

# Beyond its own triples, fetching an entity fetches those of what it points at (the entities it
# links to, its sources and publisher, the facts' subjects, its codes and definitions): a page of
# GraphQL reads those next, and one query for both costs less than one each.
_NEIGHBOUR_LINKS = (
    SKOS.broader,
    PROV.wasDerivedFrom,
    CKG.citedSource,
    CKG.publisher,
    CKG.about,
    CKG.code,
    CKG.hasDefinition,
)
# The evidence patterns of one page: what an assertion or fact derived from the page is about.
_ASSERTION_ENDS = "{ ?r rdf:subject %(x)s } UNION { ?r rdf:object %(x)s }"
_ENDS = ("rdf:subject", "rdf:object")


def values(terms: Iterable[str]) -> str:
    return " ".join(terms)


def neighbour_links(registry: Registry) -> frozenset[URIRef]:
    """The predicates through which fetching an entity fetches what it points at, whole."""
    return frozenset([*(URIRef(r.iri) for r in registry.relations.values()), *_NEIGHBOUR_LINKS])


def entities_with_neighbours(graph: str, subjects: Iterable[str], registry: Registry) -> str:
    """The triples of `subjects` and of what they point at, and the types of what facts are
    about (the reader tells an assertion from an entity by its type). Each branch binds its own
    VALUES: SPARQL evaluates a UNION's branches before joining them with what is outside."""
    asked = f"VALUES ?s {{ {values(subjects)} }}"
    links = ", ".join(sorted(iri(str(p)) for p in neighbour_links(registry)))
    # The links as a FILTER, not a second VALUES: Oxigraph joins two VALUES blocks by scanning
    # each predicate whole (25x slower at 100k triples).
    linked = f"VALUES ?x {{ {values(subjects)} }} ?x ?l ?s . FILTER(isIRI(?s) && ?l IN ({links}))"
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?s ?p ?o . ?a a ?t }} WHERE {{ GRAPH {graph} {{
  {{ {asked} ?s ?p ?o }} UNION {{ {linked} ?s ?p ?o }}
  UNION {{ {asked} ?s ckg:about ?a . ?a a ?t }} UNION {{ {linked} ?s ckg:about ?a . ?a a ?t }}
}} }}"""
    )


def entities(graph: str, subjects: Iterable[str]) -> str:
    """The triples of `subjects`, and the types of what facts are about."""
    asked = f"VALUES ?s {{ {values(subjects)} }}"
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?s ?p ?o . ?a a ?t }} WHERE {{ GRAPH {graph} {{
  {{ {asked} ?s ?p ?o }} UNION {{ {asked} ?s ckg:about ?a . ?a a ?t }}
}} }}"""
    )


def subjects(graph: str, subjects: Iterable[str]) -> str:
    """The triples of `subjects` (assertions, codes, definitions)."""
    return f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{
  VALUES ?s {{ {values(subjects)} }} ?s ?p ?o
}} }}"""


def facts(
    graph: str,
    *,
    about: Iterable[str] | None,
    page: str | None,
    source: str | None,
    measure: bool,
) -> str:
    """Candidate facts (`?f`) matching the filters, with their measures (`?m`) when asked."""
    patterns = []
    if about is not None:
        # VALUES in each branch: a UNION's branches are evaluated before they are joined.
        things = f"VALUES ?x {{ {values(about)} }}"
        patterns.append(
            " UNION ".join(
                f"{{ {things} {pattern} }}"
                for pattern in (
                    "?f ckg:about ?x",
                    *(f"?r {end} ?x ; a ckg:Assertion . ?f ckg:about ?r" for end in _ENDS),
                )
            )
        )
    if page is not None:
        patterns.append(f"?f prov:wasDerivedFrom {page}")
    if source is not None:
        patterns.append(
            f"{{ ?f prov:wasDerivedFrom {source} }} UNION {{ ?f ckg:citedSource {source} }}"
        )
    if measure and not patterns:
        patterns.append("?f ckg:measure ?m")
    body = " ".join(f"{{ {p} }}" for p in patterns)
    if measure:
        body += " OPTIONAL { ?f ckg:measure ?m }"
    return PREFIXES + f"SELECT DISTINCT ?f ?m WHERE {{ GRAPH {graph} {{ {body} }} }}"


def page_speaks(graph: str, page: str, entity: str) -> str:
    """(page ?p, entity ?e, via fact ?f) rows of what pages speak of: the ends of assertions
    derived from the page, entities derived from it, and what facts derived from it are about
    (an entity, or an assertion with a source, whose ends count). One of `page`, `entity` is a
    variable (`?p`, `?e`), the other an IRI."""
    branches = [
        f"{entity} prov:wasDerivedFrom {page}",
        f"?f prov:wasDerivedFrom {page} ; ckg:about {entity}",
    ]
    for end in _ENDS:
        branches.append(f"?r a ckg:Assertion ; prov:wasDerivedFrom {page} ; {end} {entity}")
        branches.append(
            f"?f prov:wasDerivedFrom {page} ; ckg:about ?r . "
            f"?r a ckg:Assertion ; prov:wasDerivedFrom ?any ; {end} {entity}"
        )
    union = " UNION ".join(f"{{ {b} }}" for b in branches)
    return PREFIXES + f"SELECT DISTINCT ?p ?e ?f WHERE {{ GRAPH {graph} {{ {union} }} }}"


def assertions_from(graph: str, source: str) -> str:
    """The triples of every assertion read in `source`."""
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?r ?p ?o }} WHERE {{ GRAPH {graph} {{
  ?r a ckg:Assertion ; prov:wasDerivedFrom {source} ; ?p ?o
}} }}"""
    )


def assertions_of(graph: str, subject: str) -> str:
    """The triples of every assertion whose subject is `subject`, and the `ckg:about` links of
    the facts about them."""
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?r ?p ?o . ?f ckg:about ?r }} WHERE {{ GRAPH {graph} {{
  ?r a ckg:Assertion ; rdf:subject {subject} .
  {{ ?r ?p ?o }} UNION {{ ?f ckg:about ?r }}
}} }}"""
    )


def referrers(graph: str, target: str, registry: Registry) -> str:
    links = [iri(r.iri) for r in registry.relations.values()] + [iri(str(SKOS.broader))]
    return f"""SELECT DISTINCT ?s ?l WHERE {{ GRAPH {graph} {{
  VALUES ?l {{ {values(links)} }} ?s ?l {target}
}} }}"""


def description(graph: str, node: str) -> str:
    """What `describe_graph` reads about `node`: its triples and those pointing at it, the
    assertions about it and the facts about it or them, its codes and definitions."""
    ends = _ASSERTION_ENDS % {"x": node}
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{
  {{ BIND({node} AS ?s) ?s ?p ?o }}
  UNION {{ ?s ?p {node} BIND({node} AS ?o) }}
  UNION {{ ?s a ckg:Assertion . {ends.replace("?r", "?s")} ?s ?p ?o }}
  UNION {{ ?s ckg:about {node} . ?s ?p ?o }}
  UNION {{ ?r a ckg:Assertion . {ends} ?s ckg:about ?r . ?s ?p ?o }}
  UNION {{ VALUES ?l {{ ckg:code ckg:hasDefinition }} {node} ?l ?s . ?s ?p ?o }}
}} }}"""
    )


def labels(graph: str, nodes: Iterable[str]) -> str:
    """The preferred labels and rdfs:labels of `nodes`."""
    return (
        PREFIXES
        + f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{
  VALUES ?s {{ {values(nodes)} }} ?s ?p ?o . FILTER(?p IN (skos:prefLabel, {iri(str(RDFS.label))}))
}} }}"""
    )


def pointer(pointer_graph: str, dataset: str, current_version: str) -> str:
    """The version graph(s) the pointer names."""
    return f"""SELECT ?g WHERE {{ GRAPH {pointer_graph} {{
  {dataset} {current_version} ?g
}} }}"""
