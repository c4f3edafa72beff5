"""The canonical sentence and citation of a fact, so every page that quotes it says the same thing.

Pure functions of a fact and the store it lives in. Numbers get thousands separators and no
trailing zeros, ranges an en dash, the qualifier its concept's label and the unit its notation:
"approximately 10%–40%", "almost 85%", "approximately 200,000 per year". `fact_document` puts
them together with the structured values as the plain JSON of `GET /facts/{id}`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from server.model.records import Concept, Entity, Fact, Source
from server.store.protocol import Store

EN_DASH = "\u2013"
# Units written straight after the number ("85%"); every other notation gets a space.
_TIGHT_UNITS = frozenset({"%", "‰"})


class Concepts(Protocol):
    """What wording a statement needs: concepts by id. A Store is one; so is a version the
    change feed kept (server/store/history.py), worded after its snapshot is gone."""

    def concept(self, id_or_iri: str) -> Concept | None: ...


def format_number(value: Decimal) -> str:
    """200000 -> "200,000"; 12.50 -> "12.5"; -3 -> "-3"."""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    text = f"{value.normalize():,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def with_unit(number: str, unit: Concept | None) -> str:
    notation = _notation(unit)
    if not notation:
        return number
    return f"{number}{notation}" if notation in _TIGHT_UNITS else f"{number} {notation}"


def value_phrase(fact: Fact, store: Concepts) -> str | None:
    """The number in words ("approximately 10%–40%"); None for a claim or a fact without numbers.

    The region is added ("... in United States") unless the fact's label already names it.
    """
    unit = store.concept(fact.unit) if fact.unit else None
    if fact.value is not None:
        amount = with_unit(format_number(fact.value), unit)
    elif fact.low is not None and fact.high is not None:
        notation = _notation(unit)
        if notation in _TIGHT_UNITS:
            low = with_unit(format_number(fact.low), unit)
            amount = f"{low}{EN_DASH}{with_unit(format_number(fact.high), unit)}"
        else:
            amount = with_unit(
                f"{format_number(fact.low)}{EN_DASH}{format_number(fact.high)}", unit
            )
    else:
        return None
    qualifier = store.concept(fact.qualifier) if fact.qualifier else None
    phrase = f"{qualifier.label()} {amount}" if qualifier else amount
    if fact.region and fact.region.casefold() not in fact.label().casefold():
        phrase += f" in {fact.region}"
    return phrase


def statement(fact: Fact, store: Concepts) -> str:
    """One canonical sentence: the claim of a qualitative claim, else "<label>: <value phrase>."."""
    if fact.claim is not None:
        return fact.claim
    phrase = value_phrase(fact, store)
    label = fact.label()
    return f"{label}: {phrase}." if phrase else f"{label}."


def describe_source(source: Source, store: Store) -> str:
    """What kind of source it is, in words: "clinic page", "web page", "periodical"."""
    if source.kind == "WebPage":
        publisher = store.entity(source.publisher) if source.publisher else None
        return "clinic page" if publisher is not None and publisher.kind == "Clinic" else "web page"
    return {"Periodical": "periodical", "Organization": "organization", "Curator": "curator"}.get(
        source.kind, "source"
    )


def short_citation(fact: Fact, store: Store) -> str:
    """ "What is Spine Surgery Pain (clinic page), citing Pain Medicine"."""
    parts = [f"{s.label()} ({describe_source(s, store)})" for s in _sources(fact.sources, store)]
    text = "; ".join(parts) or "no source"
    cited = [s.label() for s in _sources(fact.cited_sources, store)]
    if cited:
        text += ", citing " + " and ".join(cited)
    return text


def full_citation(fact: Fact, store: Store) -> str:
    """The short citation plus publishers, the kind of each cited work and the fact's id."""
    parts = []
    for s in _sources(fact.sources, store):
        part = f"“{s.label()}”, {describe_source(s, store)}"
        publisher = store.entity(s.publisher) if s.publisher else None
        if publisher is not None:
            part += f" published by {publisher.label()}"
        parts.append(part)
    text = "; ".join(parts) or "no source"
    cited = [
        f"{s.label()} ({describe_source(s, store)})" for s in _sources(fact.cited_sources, store)
    ]
    if cited:
        text += ", citing " + " and ".join(cited)
    return f"{text}. Fact {fact.id}."


def fact_document(fact: Fact, store: Store) -> dict[str, Any]:
    """The fact as plain JSON for tools that do not speak GraphQL: the same wording and values as
    the GraphQL `fact` field (numbers as JSON numbers, concepts and sources as small objects)."""
    sources = _sources(fact.sources, store)
    cited = _sources(fact.cited_sources, store)
    about = (store.entity(i) for i in fact.about)
    relations = (store.relation(i) for i in fact.about_relations)
    return {
        "id": fact.id,
        "iri": fact.iri,
        "kind": fact.kind,
        "label": fact.label(),
        "statement": statement(fact, store),
        "citation": {"short": short_citation(fact, store), "full": full_citation(fact, store)},
        "quote": fact.quote,
        "source": _entity_ref(sources[0]) if sources else None,
        "citedSource": _entity_ref(cited[0]) if cited else None,
        "measure": _concept_ref(store, fact.measure),
        "value": _number(fact.value),
        "low": _number(fact.low),
        "high": _number(fact.high),
        "valueText": value_phrase(fact, store),
        "unit": _concept_ref(store, fact.unit),
        "qualifier": _concept_ref(store, fact.qualifier),
        "claim": fact.claim,
        "population": fact.population,
        "region": fact.region,
        "period": fact.period,
        "about": [_entity_ref(e) for e in about if e is not None],
        "aboutRelations": [
            {"id": r.id, "subject": r.subject, "predicate": r.predicate, "object": r.object}
            for r in relations
            if r is not None
        ],
        "datasetVersion": store.version,
    }


def _entity_ref(entity: Entity) -> dict[str, str]:
    return {"id": entity.id, "iri": entity.iri, "kind": entity.kind, "label": entity.label()}


def _concept_ref(store: Store, id: str | None) -> dict[str, str | None] | None:
    found = store.concept(id) if id else None
    if found is None:
        return None
    return {"id": found.id, "iri": found.iri, "label": found.label(), "notation": found.notation}


def _number(value: Decimal | None) -> float | None:
    # GraphQL's Float: the JSON of both answers carries the same number.
    return float(value) if value is not None else None


def _sources(ids: tuple[str, ...], store: Store) -> list[Source]:
    found = (store.entity(i) for i in ids)
    return [s for s in found if isinstance(s, Source)]


def _notation(unit: Concept | None) -> str:
    if unit is None:
        return ""
    return unit.notation or unit.label()
