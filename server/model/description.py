"""What a store says about one IRI, as plain frozen records: triples of small terms.

The linked-data routes (`GET /id/{id}`) render Turtle, JSON-LD, N-Triples and HTML from a
`Description`; no rdflib object crosses the store's interface, so a store backed by a SPARQL
endpoint can answer with the same records (from a CONSTRUCT query) as the in-memory snapshot.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar


@dataclass(frozen=True, order=True)
class IriTerm:
    """A named node."""

    value: str


@dataclass(frozen=True, order=True)
class BlankTerm:
    """A blank node, labelled stably within one dataset version."""

    id: str


@dataclass(frozen=True, order=True)
class LiteralTerm:
    """A literal: its lexical form, and either a datatype IRI or a language tag (or neither)."""

    lexical: str
    datatype: str | None = None
    language: str | None = None


Term = IriTerm | BlankTerm | LiteralTerm
Subject = IriTerm | BlankTerm
Triple = tuple[Subject, IriTerm, Term]
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@dataclass(frozen=True)
class Description:
    """The triples that describe `iri`: its own, those pointing at it, its evidence, codes and
    definitions, and the labels of every node and property they mention."""

    iri: str
    triples: tuple[Triple, ...]

    @property
    def node(self) -> IriTerm:
        return IriTerm(self.iri)

    def objects(self, subject: Subject, predicate: IriTerm) -> list[Term]:
        return list(self._spo.get(subject, {}).get(predicate, ()))

    def subjects(self, predicate: IriTerm, obj: Term) -> list[Subject]:
        return list(self._pos.get(predicate, {}).get(obj, ()))

    def predicate_objects(self, subject: Subject) -> Iterator[tuple[IriTerm, Term]]:
        for predicate, objects in self._spo.get(subject, {}).items():
            for obj in objects:
                yield predicate, obj

    def subject_predicates(self, obj: Term) -> Iterator[tuple[Subject, IriTerm]]:
        for predicate, by_object in self._pos.items():
            for subject in by_object.get(obj, ()):
                yield subject, predicate

    def __contains__(self, triple: object) -> bool:
        if not isinstance(triple, tuple) or len(triple) != 3:
            return False
        s, p, o = triple
        return o in self._spo.get(s, {}).get(p, ())

    @cached_property
    def _spo(self) -> dict[Subject, dict[IriTerm, list[Term]]]:
        return _nested((s, p, o) for s, p, o in self.triples)

    @cached_property
    def _pos(self) -> dict[IriTerm, dict[Term, list[Subject]]]:
        return _nested((p, o, s) for s, p, o in self.triples)


def _nested(rows: Iterable[tuple[A, B, C]]) -> dict[A, dict[B, list[C]]]:
    found: dict[A, dict[B, list[C]]] = defaultdict(lambda: defaultdict(list))
    for a, b, c in rows:
        found[a][b].append(c)
    return found


def sorted_triples(triples: Iterable[Triple]) -> tuple[Triple, ...]:
    """Distinct triples in a stable order (independent of hash seed and parse order)."""
    return tuple(sorted(set(triples), key=_triple_key))


def _triple_key(triple: Triple) -> tuple[tuple[int, str, str, str], ...]:
    return tuple(_term_key(t) for t in triple)


def _term_key(term: Term) -> tuple[int, str, str, str]:
    if isinstance(term, IriTerm):
        return (0, term.value, "", "")
    if isinstance(term, BlankTerm):
        return (1, term.id, "", "")
    return (2, term.lexical, term.datatype or "", term.language or "")
