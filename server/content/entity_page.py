"""The HTML page of one entity, for people: what it is, how it is linked, and the evidence.

Self-contained (inline CSS and SVG, no scripts, no external resources) and built from the
`Description` the store returns for the IRI, plus the store's records where they say more: the
relations in the registry's order, facts as their canonical statement with citation
(server.content.facts), broader and narrower entities, and on a page's own page the facts it states.
Every piece of text from the data goes through html.escape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from rdflib.namespace import PROV, RDF, RDFS, SKOS

from server.content.facts import short_citation, statement
from server.model.description import Description, IriTerm, LiteralTerm, Subject, Term
from server.model.records import Entity, Fact
from server.model.registry import BROADER
from server.rdf.namespaces import CKG, SCHEMA, curie
from server.store.protocol import Store


def _term(iri: str) -> IriTerm:
    return IriTerm(str(iri))


TYPE, PREF_LABEL, LABEL = _term(RDF.type), _term(SKOS.prefLabel), _term(RDFS.label)
ALT_LABEL, DEFINITION, BROADER_LINK = (
    _term(SKOS.altLabel),
    _term(SKOS.definition),
    _term(SKOS.broader),
)
BRAND_NAME, CODE, HAS_DEFINITION = _term(CKG.brandName), _term(CKG.code), _term(CKG.hasDefinition)
DERIVED_FROM, CITED, QUOTE = _term(PROV.wasDerivedFrom), _term(CKG.citedSource), _term(CKG.quote)
ABOUT, AUTHORITY, CAUSE_ROLE = _term(CKG.about), _term(CKG.authority), _term(CKG.causeRole)
SUBJECT, PREDICATE, OBJECT = _term(RDF.subject), _term(RDF.predicate), _term(RDF.object)
# Shown in their own sections (or not at all), never in the generic relation lists.
_SPECIAL = {
    TYPE, PREF_LABEL, ALT_LABEL, DEFINITION, LABEL, BRAND_NAME, CODE, HAS_DEFINITION,
    DERIVED_FROM, BROADER_LINK,
}  # fmt: skip
# Evidence nodes point at what they are about; those links are shown as evidence instead.
_EVIDENCE_LINKS = {SUBJECT, OBJECT, ABOUT}
_COLOURS = ("#1b6ca8", "#b5452b", "#2e7d32", "#7b4fa0", "#a66a00", "#00838f", "#ad1457", "#546e7a")
MAX_DIAGRAM_NODES = 36
_ARC = math.radians(65)  # half the angle each arc of neighbours spans in the diagram
_MATCH: dict[Term, str] = {
    _term(SKOS.exactMatch): "exact match",
    _term(SKOS.closeMatch): "close match",
    _term(SKOS.broadMatch): "broader",
    _term(SKOS.narrowMatch): "narrower",
    _term(SKOS.relatedMatch): "related",
}


@dataclass(frozen=True)
class Link:
    """A node as shown: its label, and where it resolves on this server (None: not ours)."""

    iri: str
    label: str
    href: str | None


@dataclass(frozen=True)
class _Page:
    graph: Description
    store: Store
    iri: IriTerm
    id_namespace: str
    id_path: str
    language: str

    def label(self, node: Term) -> str:
        for prop in (PREF_LABEL, LABEL):
            values = [
                v for v in self.graph.objects(_subject(node), prop) if isinstance(v, LiteralTerm)
            ]
            for wanted in (self.language, None):
                matching = sorted(v.lexical for v in values if v.language == wanted)
                if matching:
                    return matching[0]
            if values:
                return min(v.lexical for v in values)
        return curie(_text(node))

    def prop_label(self, prop: Term) -> str:
        """A property's label; one from another vocabulary may have none: `wasDerivedFrom` ->
        `was derived from`."""
        label = self.label(prop)
        if label != curie(_text(prop)):
            return label
        local = re.split(r"[#/:]", _text(prop))[-1]
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower() or label

    def link(self, node: Term) -> Link:
        text = _text(node)
        href = None
        if isinstance(node, IriTerm) and text.startswith(self.id_namespace):
            href = self.id_path + text[len(self.id_namespace) :]
        return Link(text, self.label(node), href)

    def a(self, node: Term) -> str:
        link = self.link(node)
        if link.href is None:
            return f'<span title="{escape(link.iri)}">{escape(link.label)}</span>'
        return f'<a href="{escape(link.href)}">{escape(link.label)}</a>'

    def a_entity(self, entity: Entity) -> str:
        """A link to an entity of the store, labelled from its record."""
        href = self.link(IriTerm(entity.iri)).href
        label = escape(entity.label(self.language))
        if href is None:
            return f'<span title="{escape(entity.iri)}">{label}</span>'
        return f'<a href="{escape(href)}">{label}</a>'

    def texts(self, node: Term, prop: IriTerm) -> list[str]:
        values = [v for v in self.graph.objects(_subject(node), prop) if isinstance(v, LiteralTerm)]
        return sorted(v.lexical for v in values if v.language in (self.language, None))

    def links(self, nodes: Iterable[Term]) -> list[Term]:
        return sorted(set(nodes), key=lambda n: (self.label(n).casefold(), _text(n)))

    @property
    def record(self) -> Entity | None:
        return self.store.entity(self.iri.value)


def _subject(node: Term) -> Subject:
    # A literal has no triples of its own; an IRI that is never a subject finds none either.
    return node if not isinstance(node, LiteralTerm) else IriTerm("")


def _text(node: Term) -> str:
    if isinstance(node, IriTerm):
        return node.value
    if isinstance(node, LiteralTerm):
        return node.lexical
    return "_:" + node.id


def render_html(
    description: Description,
    store: Store,
    *,
    id_namespace: str,
    id_path: str = "/id/",
    language: str = "en",
    version: str = "",
) -> str:
    """The page of the described IRI (see Store.describe), with what the store's records add."""
    page = _Page(description, store, description.node, id_namespace, id_path, language)
    iri = page.iri
    title = page.label(iri)
    types = ", ".join(page.a(t) for t in page.links(description.objects(iri, TYPE)))
    body = [
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="meta">{types} · <code>{escape(iri.value)}</code></p></header>',
        _definition(page),
        _names(page),
        _hierarchy(page),
        _diagram(page),
        _relations(page),
        _evidence(page),
        _page_facts(page),
        _codes(page),
        _sources(page),
    ]
    footer = (
        "<footer><p>Also available as Turtle, JSON-LD and N-Triples: request this URL with "
        "<code>Accept: text/turtle</code>, <code>application/ld+json</code> or "
        "<code>application/n-triples</code>."
        + (f" Dataset version <code>{escape(version)}</code>." if version else "")
        + "</p></footer>"
    )
    return _document(title, "\n".join(part for part in body if part) + "\n" + footer)


def render_error_html(status: int, title: str, message: str) -> str:
    """A small page for 4xx answers, so people never see a traceback or a bare status."""
    return _document(
        f"{status} {title}", f"<h1>{status} {escape(title)}</h1>\n<p>{escape(message)}</p>"
    )


def _document(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · clinic-kg</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _definition(page: _Page) -> str:
    graph = page.graph
    parts = [f"<p class=definition>{escape(t)}</p>" for t in page.texts(page.iri, DEFINITION)]
    for definition in page.links(graph.objects(page.iri, HAS_DEFINITION)):
        authorities = ", ".join(
            page.a(a) for a in page.links(graph.objects(_subject(definition), AUTHORITY))
        )
        for quote in page.texts(definition, QUOTE):
            parts.append(f"<blockquote>{escape(quote)}</blockquote>")
        sources = ", ".join(
            page.a(s) for s in page.links(graph.objects(_subject(definition), DERIVED_FROM))
        )
        parts.append(
            f'<p class="meta">Definition by {authorities or "an unnamed authority"}'
            + (f", as quoted in {sources}" if sources else "")
            + "</p>"
        )
    return "<section><h2>Definition</h2>" + "".join(parts) + "</section>" if parts else ""


def _names(page: _Page) -> str:
    rows = []
    for heading, prop in (("Also known as", ALT_LABEL), ("Brand names", BRAND_NAME)):
        values = page.texts(page.iri, prop)
        if values:
            items = "".join(f"<li>{escape(v)}</li>" for v in values)
            rows.append(f"<h3>{heading}</h3><ul class=names>{items}</ul>")
    return "<section>" + "".join(rows) + "</section>" if rows else ""


def _hierarchy(page: _Page) -> str:
    """Broader entities (skos:broader) and narrower ones (those whose broader is this one)."""
    entity = page.record
    if entity is None:
        return ""
    store = page.store
    broader = [e for i in entity.broader if (e := store.entity(i)) is not None]
    narrower = [
        e
        for i, p in store.referrers(entity.id)
        if p == BROADER and (e := store.entity(i)) is not None
    ]
    parts = []
    for heading, found in (("Broader", broader), ("Narrower", narrower)):
        if found:
            ordered = sorted(found, key=lambda e: (e.label(page.language).casefold(), e.id))
            items = "".join(f"<li>{page.a_entity(e)}</li>" for e in ordered)
            parts.append(f"<h3>{heading}</h3><ul>{items}</ul>")
    return "<section><h2>Broader and narrower</h2>" + "".join(parts) + "</section>" if parts else ""


def _relations(page: _Page) -> str:
    graph, iri = page.graph, page.iri
    outgoing: dict[IriTerm, list[Term]] = {}
    details: list[tuple[str, str]] = []
    for prop, value in graph.predicate_objects(iri):
        if prop in _SPECIAL:
            continue
        if isinstance(value, LiteralTerm):
            details.append((page.prop_label(prop), value.lexical))
        else:
            outgoing.setdefault(prop, []).append(value)
    shown = _page_fact_iris(page)
    incoming: dict[IriTerm, list[Term]] = {}
    for subject, prop in graph.subject_predicates(iri):
        if prop in _EVIDENCE_LINKS or prop == BROADER_LINK:
            continue
        if prop == DERIVED_FROM and _text(subject) in shown:
            continue  # listed with their statements under "Facts from this page"
        incoming.setdefault(prop, []).append(subject)
    parts = []
    for prop in _ordered(page, outgoing):
        items = "".join(f"<li>{page.a(v)}</li>" for v in page.links(outgoing[prop]))
        parts.append(f"<h3>{escape(_capital(page.prop_label(prop)))}</h3><ul>{items}</ul>")
    referenced = [
        f'<li>{page.a(subject)} <span class="meta">{escape(page.prop_label(prop))}</span></li>'
        for prop in _ordered(page, incoming)
        for subject in page.links(incoming[prop])
    ]
    if referenced:
        parts.append("<h3>Referenced by</h3><ul>" + "".join(referenced) + "</ul>")
    if details:
        rows = "".join(
            f"<tr><th>{escape(_capital(k))}</th><td>{escape(v)}</td></tr>"
            for k, v in sorted(details)
        )
        parts.append(f"<h3>Details</h3><table>{rows}</table>")
    return "<section><h2>Relations</h2>" + "".join(parts) + "</section>" if parts else ""


def _evidence(page: _Page) -> str:
    graph, iri = page.graph, page.iri
    assertions = page.links({a for link in (SUBJECT, OBJECT) for a in graph.subjects(link, iri)})
    facts = page.links(f for about in [iri, *assertions] for f in graph.subjects(ABOUT, about))
    items = []
    for assertion in assertions:
        node = _subject(assertion)
        claim = " ".join(
            page.a(n) if isinstance(n, IriTerm) else escape(_text(n))
            for link in (SUBJECT, PREDICATE, OBJECT)
            for n in graph.objects(node, link)
        )
        roles = ", ".join(page.a(r) for r in page.links(graph.objects(node, CAUSE_ROLE)))
        items.append(_evidence_item(page, assertion, claim + (f" ({roles})" if roles else "")))
    for fact in facts:
        record = page.store.entity(_text(fact))
        if isinstance(record, Fact):
            items.append(_fact_item(page, record))
        else:
            items.append(_evidence_item(page, fact, page.a(fact)))
    if not items:
        return ""
    return "<section><h2>Evidence</h2><ul class=evidence>" + "".join(items) + "</ul></section>"


def _page_facts(page: _Page) -> str:
    """On a page's own page: the facts it states, as their statements."""
    facts = _facts_of_page(page)
    if not facts:
        return ""
    items = "".join(_fact_item(page, f) for f in facts)
    return f"<section><h2>Facts from this page</h2><ul class=evidence>{items}</ul></section>"


def _facts_of_page(page: _Page) -> list[Fact]:
    entity = page.record
    if entity is None or not entity.is_a("WebPage"):
        return []
    return sorted(page.store.facts(page=entity.id), key=lambda f: f.id)


def _page_fact_iris(page: _Page) -> set[str]:
    return {f.iri for f in _facts_of_page(page)}


def _fact_item(page: _Page, fact: Fact) -> str:
    """A fact as its canonical statement (content/facts.py) with its citation, linked to it."""
    href = page.link(IriTerm(fact.iri)).href
    text = escape(statement(fact, page.store))
    sentence = f'<a href="{escape(href)}">{text}</a>' if href else text
    citation = escape(short_citation(fact, page.store))
    return f'<li><p class=statement>{sentence}</p><p class="meta">{citation}</p></li>'


def _evidence_item(page: _Page, node: Term, heading: str) -> str:
    subject = _subject(node)
    quotes = "".join(f"<blockquote>{escape(q)}</blockquote>" for q in page.texts(node, QUOTE))
    sources = [
        f"Source: {page.a(s)}" for s in page.links(page.graph.objects(subject, DERIVED_FROM))
    ]
    sources += [f"cites {page.a(c)}" for c in page.links(page.graph.objects(subject, CITED))]
    meta = f'<p class="meta">{" · ".join(sources)}</p>' if sources else ""
    return f"<li><p>{heading}</p>{quotes}{meta}</li>"


def _codes(page: _Page) -> str:
    graph = page.graph
    system, value = _term(SCHEMA.codingSystem), _term(SCHEMA.codeValue)
    codes = sorted(
        graph.objects(page.iri, CODE),
        key=lambda c: (page.texts(c, system), page.texts(c, value)),
    )
    if not codes:
        return ""
    rows = []
    for code in codes:
        node = _subject(code)
        cells = [
            ", ".join(page.texts(code, system)),
            ", ".join(page.texts(code, value)),
            ", ".join(page.texts(code, LABEL)),
        ]
        match = ", ".join(
            _MATCH.get(m, page.label(m)) for m in graph.objects(node, _term(CKG.mappingRelation))
        )
        who = ", ".join(
            page.a(a) for a in page.links(graph.objects(node, _term(PROV.wasAttributedTo)))
        )
        rows.append(
            "<tr>"
            + "".join(f"<td>{escape(c)}</td>" for c in cells)
            + f"<td>{escape(match)}</td><td>{who}</td></tr>"
        )
    return (
        "<section><h2>External codes</h2>"
        '<p class="meta">Curator assertions: mapped by the graph\'s curators from published '
        "terminologies; no source page states them.</p>"
        "<table><tr><th>System</th><th>Code</th><th>Name there</th><th>Match</th>"
        "<th>Asserted by</th></tr>" + "".join(rows) + "</table></section>"
    )


def _sources(page: _Page) -> str:
    sources = page.links(page.graph.objects(page.iri, DERIVED_FROM))
    if not sources:
        return ""
    items = "".join(f"<li>{page.a(s)}</li>" for s in sources)
    return f"<section><h2>Sources</h2><ul>{items}</ul></section>"


def _diagram(page: _Page) -> str:
    """The entity in the centre, the entities it links to (or that link to it) around it."""
    graph, iri = page.graph, page.iri
    edges: dict[Term, IriTerm] = {}
    for prop, value in graph.predicate_objects(iri):
        if prop not in _SPECIAL and isinstance(value, IriTerm) and value != iri:
            edges.setdefault(value, prop)
    for subject, prop in graph.subject_predicates(iri):
        if prop not in _SPECIAL | _EVIDENCE_LINKS and isinstance(subject, IriTerm):
            edges.setdefault(subject, prop)
    if not edges:
        return ""
    props = _ordered(page, {p: [] for p in set(edges.values())})
    colour = {p: _COLOURS[i % len(_COLOURS)] for i, p in enumerate(props)}
    nodes = sorted(edges, key=lambda n: (props.index(edges[n]), page.label(n).casefold()))
    shown, hidden = nodes[:MAX_DIAGRAM_NODES], len(nodes) - MAX_DIAGRAM_NODES
    # Neighbours sit on two arcs, right then left, never at the top or bottom of the ring where
    # their labels would run into each other; the arcs grow with the number of neighbours.
    right = math.ceil(len(shown) / 2)
    ry = max(50, 13 * right)
    width, height, cx, cy = 960, 2 * ry + 110, 480, ry + 40
    lines, marks = [], []
    for k, node in enumerate(shown):
        side, index, count = (1, k, right) if k < right else (-1, k - right, len(shown) - right)
        angle = _ARC * (2 * (index + 0.5) / count - 1)
        x, y = cx + side * 250 * math.cos(angle), cy + ry * math.sin(angle) / math.sin(_ARC)
        stroke = colour[edges[node]]
        lines.append(
            f'<line x1="{cx}" y1="{cy}" x2="{x:.1f}" y2="{y:.1f}" stroke="{stroke}" '
            'stroke-opacity="0.5"/>'
        )
        anchor, dx = ("start", 10) if side > 0 else ("end", -10)
        marks.append(
            _svg_link(
                page,
                node,
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{stroke}"/>'
                f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">'
                f"{escape(_short(page.label(node)))}</text>",
            )
        )
    centre_label = _short(page.label(iri), 40)
    box = 7.5 * len(centre_label) + 24
    centre = (
        f'<rect x="{cx - box / 2:.1f}" y="{cy - 16}" width="{box:.1f}" height="32" rx="16" '
        f'fill="#fff" stroke="#222"/><text x="{cx}" y="{cy + 5}" text-anchor="middle" '
        f'class="centre">{escape(centre_label)}</text>'
    )
    legend = [
        f'<g transform="translate({20 + 190 * (i % 5)},{height - 36 + 16 * (i // 5)})">'
        f'<rect width="10" height="10" fill="{colour[p]}"/>'
        f'<text x="16" y="9">{escape(_short(_capital(page.prop_label(p)), 26))}</text></g>'
        for i, p in enumerate(props[:10])
    ]
    more = (
        f'<text x="{width - 20}" y="20" text-anchor="end">and {hidden} more</text>'
        if hidden > 0
        else ""
    )
    title = f"Neighbourhood of {page.label(iri)}"
    return (
        f'<section><h2>Neighbourhood</h2><svg xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" aria-label="{escape(title)}"><title>{escape(title)}'
        f"</title>{''.join(lines)}{''.join(marks)}{centre}{''.join(legend)}{more}</svg></section>"
    )


def _svg_link(page: _Page, node: Term, inner: str) -> str:
    link = page.link(node)
    tip = f"<title>{escape(link.label)}</title>"
    if link.href is None:
        return f"<g>{tip}{inner}</g>"
    return f'<a href="{escape(link.href)}">{tip}{inner}</a>'


def _ordered(page: _Page, by_property: dict[IriTerm, list[Term]]) -> list[IriTerm]:
    """The properties in the registry's order of relations; the others by label."""
    rank = {IriTerm(r.iri): i for i, r in enumerate(page.store.registry.ordered_relations())}
    return sorted(
        by_property,
        key=lambda p: (rank.get(p, len(rank)), page.prop_label(p).casefold(), p.value),
    )


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


_CSS = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;
background:#fafafa}main{max-width:60rem;margin:0 auto;padding:1.5rem}h1{margin:.2rem 0}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{margin:1rem 0 .3rem;
font-size:1rem}a{color:#1b5e9a}.meta{color:#555;font-size:.9rem}.definition{font-size:1.1rem}
blockquote{margin:.4rem 0;padding:.3rem .8rem;border-left:3px solid #bbb;background:#fff;
font-style:italic}ul.names{columns:2}ul.evidence>li{margin-bottom:1rem}table{border-collapse:
collapse;width:100%;background:#fff}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:
left;vertical-align:top}svg{width:100%;height:auto;background:#fff;border:1px solid #ddd}
svg text{font-size:13px;fill:#222}svg text.centre{font-weight:600}footer{margin-top:2rem}
"""
