"""How one RDF term is spelled in canonical Turtle: prefixed names, IRIs and escaped literals.

Shared by the formatter (which writes files) and the semantic diff (which shows values the way
the files spell them), so a value reads the same in `fmt` output and in `diff` output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from rdflib import Literal
from rdflib.namespace import RDF, XSD

from server.rdf.namespaces import PREFIXES

# A conservative subset of Turtle's PN_LOCAL: ASCII only, no escapes, no trailing dot. Anything
# else is written as a full <IRI>, which is always valid and never ambiguous.
_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.\-]*[A-Za-z0-9_\-])?")
# Characters an IRIREF may not hold raw; a parsed IRI never has them, but a built one might.
_IRI_UNSAFE = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Invisible characters, and line separators editors would show as a break, are escaped.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_RDF_LANGSTRING = str(RDF.langString)
_XSD_STRING = str(XSD.string)
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BARE = {(str(XSD.boolean), "true"), (str(XSD.boolean), "false")}


class PrefixMap:
    """Prefix names to use for one file: the project's, overridden by the file's own declarations.

    It remembers which prefixes were used, so the written prefix block holds only those.
    """

    def __init__(self, declared: Iterable[tuple[str, str]] = (), project: bool = True) -> None:
        by_name: dict[str, str] = dict(PREFIXES) if project else {}
        declared = list(declared)
        for name, ns in declared:
            by_name[name] = ns
        # One name per namespace: the file's own name wins over the project's.
        by_ns: dict[str, str] = {}
        for name, ns in sorted(by_name.items()):
            by_ns.setdefault(ns, name)
        for name, ns in declared:
            if by_name.get(name) == ns:
                by_ns[ns] = name
        self._by_ns = by_ns
        self._longest_first = sorted(by_ns, key=lambda ns: (-len(ns), ns))
        self._used: dict[str, str] = {}

    def iri(self, iri: str) -> str:
        """`kg:back-pain` when a namespace matches and the local part is safe, else `<iri>`."""
        for ns in self._longest_first:
            if iri.startswith(ns) and _LOCAL.fullmatch(iri[len(ns) :]):
                name = self._by_ns[ns]
                self._used[name] = ns
                return f"{name}:{iri[len(ns) :]}"
        return "<" + _IRI_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04X}", iri) + ">"

    def used(self) -> list[tuple[str, str]]:
        """The prefixes used so far, sorted by name."""
        return sorted(self._used.items())

    def block(self) -> list[str]:
        return [f"@prefix {name}: <{ns}> ." for name, ns in self.used()]


def literal(lit: Literal, prefixes: PrefixMap) -> str:
    """A literal with its lexical form kept exactly: `"85"^^xsd:decimal`, `"text"@en`, `1`, `true`.

    Only integers and booleans are written bare, the forms Turtle reads back as the same term;
    text with line breaks uses a long `\"\"\"` string to stay readable.
    """
    text = _quoted(str(lit))
    if lit.language:
        return f"{text}@{lit.language}"
    datatype = lit.datatype
    if datatype is None or str(datatype) in (_XSD_STRING, _RDF_LANGSTRING):
        return text
    lexical = str(lit)
    # Turtle's bare forms read back as exactly this term; decimals stay quoted, since a bare
    # decimal needs a dot (`85.0`) and would change the lexical form `85` the files use.
    if (str(datatype), lexical) in _BARE or (
        datatype == XSD.integer and _INTEGER.fullmatch(lexical)
    ):
        return lexical
    return f"{text}^^{prefixes.iri(str(datatype))}"


def _quoted(value: str) -> str:
    if "\n" in value:
        return '"""' + _long_body(value) + '"""'
    body = "".join(_SHORT_ESCAPES.get(ch, ch) for ch in value)
    return '"' + _CONTROL.sub(_uchar, body) + '"'


def _long_body(value: str) -> str:
    out: list[str] = []
    for i, ch in enumerate(value):
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"' and (i + 1 == len(value) or value[i + 1] == '"'):
            # A quote may not close the string early: escape it when another quote or the
            # closing delimiter follows.
            out.append('\\"')
        elif ch == "\r":
            out.append("\\r")  # a raw CR would not survive editors and git's line endings
        else:
            out.append(ch)
    return _CONTROL.sub(_uchar, "".join(out))


def _uchar(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04X}"


def predicate_key(iri: str, spelled: str) -> tuple[int, int, str]:
    """Order of predicates in a block: the well-known ones first, then by name; a shape's severity
    and message, then provenance, last."""
    rank = _PREDICATE_RANK.get(iri)
    if rank is not None:
        return (0, rank, "")
    last = _LAST.get(iri)
    if last is not None:
        return (2, last, "")
    if iri.startswith(_PROV):
        return (3, 0, spelled)
    return (1, 0, spelled)


_PROV = "http://www.w3.org/ns/prov#"
_FACT_ORDER: tuple[str, ...] = ("about", "measure", "value", "low", "high", "unit", "qualifier")
_FACT_ORDER += ("population", "region", "period", "claim", "quote")
# An evidence block (ckg:evidence) reads best after the relations it is evidence for.
_LAST = {
    "http://www.w3.org/ns/shacl#severity": 0,
    "http://www.w3.org/ns/shacl#message": 1,
    "https://clinic-kg.example/ontology#evidence": 2,
}
_PREDICATE_RANK: Mapping[str, int] = {
    iri: rank
    for rank, iri in enumerate(
        (
            str(RDF.type),
            str(RDF.subject),
            str(RDF.predicate),
            str(RDF.object),
            "https://clinic-kg.example/ontology#for",  # an evidence block names its object first
            "http://www.w3.org/2000/01/rdf-schema#label",
            "http://www.w3.org/2004/02/skos/core#prefLabel",
            "http://www.w3.org/2004/02/skos/core#altLabel",
            "http://www.w3.org/2004/02/skos/core#definition",
            "http://www.w3.org/2000/01/rdf-schema#comment",
            "http://www.w3.org/ns/shacl#path",
            # A fact reads as a sentence: what it is about, the number, then its context.
            *(f"https://clinic-kg.example/ontology#{name}" for name in _FACT_ORDER),
        )
    )
}
