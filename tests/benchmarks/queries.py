"""The three questions the HTTP benchmark asks: GraphQL for us, SPARQL for the baselines."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox

KG = "https://clinic-kg.example/id/"
CKG = "https://clinic-kg.example/ontology#"
CATEGORIES = ("medication", "physical-therapy", "interventional", "complementary")
SEARCH_TEXT = "pain"
FACTS_PER_PULL = 50

_SOURCE = "source { id label }"
_FACT = f"""id statement citation quote {_SOURCE} citedSource {{ id label }}
      measure {{ id label }}
      ... on Statistic {{ value low high unit {{ id label }} qualifier {{ id label }} }}"""
_TREATMENTS = "\n".join(
    f"""    {alias}: treatments(category: "{cat}", first: 50) {{
      totalCount edges {{ node {{ id label }} quote {_SOURCE} statistics {{ {_FACT} }} }}
    }}"""
    for alias, cat in zip(
        ("medication", "physicalTherapy", "interventional", "complementary"),
        CATEGORIES,
        strict=True,
    )
)

CONDITION_PAGE = f"""query ConditionPage($id: ID!) {{
  condition(id: $id) {{
    id label altLabels definition
    externalCodes {{ system code label }}
    authoritativeDefinitions {{ text quote authority {{ id label }} }}
    symptoms(first: 50) {{ totalCount edges {{ node {{ id label }} quote {_SOURCE} }} }}
    causes(first: 50) {{
      totalCount
      edges {{ node {{ id label }} role {{ id label }} quote {_SOURCE} statistics {{ {_FACT} }} }}
    }}
{_TREATMENTS}
    facts {{ {_FACT} }}
  }}
}}"""

SEARCH = """query Search($text: String!) {
  search(text: $text, first: 20) {
    totalCount
    edges { score matchedLabel node { __typename id label } }
  }
}"""

FACTS = f"""query Facts($ids: [ID!]!) {{
  facts(ids: $ids, first: 100) {{ edges {{ node {{ {_FACT} }} }} }}
}}"""

# A cheap question, and the most expensive kind the cost limit allows (about 99,000 of 100,000:
# four aliases of 100 condition pages, ~1 MB of answer): `make bench` measures the first alone and
# beside a stream of the second (executions run off the event loop; issue 11).
CHEAP = """query Cheap($id: ID!) { condition(id: $id) { id label } }"""


def heavy(condition: str) -> str:
    ids = ", ".join([f'"{condition}"'] * 100)
    one = (
        f"nodes(ids: [{ids}]) {{ ... on Condition {{ id label altLabels definition "
        "symptoms(first: 30) { edges { node { id label } quote } } "
        "causes(first: 30) { edges { node { id label } quote } } } }"
    )
    return "query Heavy { " + " ".join(f"a{i}: {one}" for i in range(4)) + " }"


_SPARQL_PREFIXES = f"""PREFIX ckg: <{CKG}>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""


def condition_sparql(condition_iri: str) -> str:
    """The condition page as one SPARQL query: the same facts, as rows, that the GraphQL returns.

    One UNION branch per part of the page, facts about relations in branches of their own, and
    only single-pattern OPTIONALs: Oxigraph evaluates a multi-pattern OPTIONAL over the whole
    store (`OPTIONAL { ?f ckg:low ?l ; ckg:high ?h }` took 64 ms at 1M triples, split 0.9 ms).
    """
    c = f"<{condition_iri}>"
    fact_values = (
        "OPTIONAL { ?fact ckg:value ?value } OPTIONAL { ?fact ckg:low ?low } "
        "OPTIONAL { ?fact ckg:high ?high }"
    )
    branches = [
        f"""{{ BIND("condition" AS ?part) {c} skos:prefLabel ?label .
    OPTIONAL {{ {c} skos:altLabel ?alt }} OPTIONAL {{ {c} skos:definition ?definition }} }}""",
        f"""{{ BIND("fact" AS ?part) ?fact ckg:about {c} ; skos:prefLabel ?factLabel ;
    ckg:quote ?factQuote ; prov:wasDerivedFrom ?src . ?src skos:prefLabel ?srcLabel .
    {fact_values} }}""",
    ]
    for part, p in (
        ("symptom", "ckg:hasSymptom"),
        ("cause", "ckg:hasCause"),
        ("treatment", "ckg:possibleTreatment"),
    ):
        branches += [
            f"""{{ BIND("{part}" AS ?part) {c} {p} ?item . ?item skos:prefLabel ?label .
    OPTIONAL {{ ?item ckg:category ?category }}
    OPTIONAL {{ ?a rdf:subject {c} ; rdf:predicate {p} ; rdf:object ?item ; ckg:quote ?quote ;
                prov:wasDerivedFrom ?src . ?src skos:prefLabel ?srcLabel .
                OPTIONAL {{ ?a ckg:causeRole ?role }} }} }}""",
            f"""{{ BIND("{part}-fact" AS ?part) {c} {p} ?item .
    ?a rdf:subject {c} ; rdf:predicate {p} ; rdf:object ?item .
    ?fact ckg:about ?a ; skos:prefLabel ?factLabel ; ckg:quote ?factQuote .
    {fact_values} }}""",
        ]
    return _SPARQL_PREFIXES + "SELECT * WHERE {\n  " + "\n  UNION\n  ".join(branches) + "\n}"


def search_sparql(text: str) -> str:
    """Labels and synonyms containing the text, case-insensitively (what a SPARQL user would do)."""
    return (
        _SPARQL_PREFIXES
        + f"""SELECT ?item ?label ?type WHERE {{
  {{ ?item skos:prefLabel ?label }} UNION {{ ?item skos:altLabel ?label }}
  FILTER(CONTAINS(LCASE(STR(?label)), {json.dumps(text.lower())}))
  ?item a ?type .
}} LIMIT 20"""
    )


def ids_in(root: Path) -> tuple[list[str], list[str]]:
    """Condition ids and fact ids of a generated project (seeded data, so stable per size)."""
    conditions: list[str] = []
    facts: list[str] = []
    fact_types = {f"{CKG}{t}" for t in ("Proportion", "Count", "RelativeChange", "Statistic")}
    fact_types.add(f"{CKG}QualitativeClaim")
    for path in sorted((root / "kg").rglob("*.ttl")):
        for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if t.predicate.value != "http://www.w3.org/1999/02/22-rdf-syntax-ns#type":
                continue
            if t.object.value == f"{CKG}Condition":
                conditions.append(t.subject.value.removeprefix(KG))
            elif t.object.value in fact_types:
                facts.append(t.subject.value.removeprefix(KG))
    return conditions, sorted(set(facts))


def graphql_body(query: str, variables: dict[str, object]) -> str:
    return json.dumps({"query": query, "variables": variables}, separators=(",", ":"))
