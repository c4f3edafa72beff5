"""The HTML page of one entity, for people: what it is, how it is linked, and the evidence.

Self-contained (inline CSS and SVG, no scripts, no external resources) and built from the graph
`linked_data.describe()` returns. Every piece of text from the graph goes through html.escape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SKOS
from rdflib.term import Node

from .namespaces import CKG, SCHEMA, curie

# Shown in their own sections (or not at all), never in the generic relation lists.
_SPECIAL = {
    RDF.type, SKOS.prefLabel, SKOS.altLabel, SKOS.definition, RDFS.label, CKG.brandName,
    CKG.code, CKG.hasDefinition, PROV.wasDerivedFrom,
}  # fmt: skip
# Evidence nodes point at what they are about; those links are shown as evidence instead.
_EVIDENCE_LINKS = {RDF.subject, RDF.object, CKG.about}
# The relations of a condition in the order clinicians read them; others follow by label.
_ORDER = [CKG.hasSymptom, CKG.hasCause, CKG.hasRiskFactor, CKG.typicalTest, CKG.possibleTreatment]
_COLOURS = ("#1b6ca8", "#b5452b", "#2e7d32", "#7b4fa0", "#a66a00", "#00838f", "#ad1457", "#546e7a")
MAX_DIAGRAM_NODES = 36
_ARC = math.radians(65)  # half the angle each arc of neighbours spans in the diagram
_MATCH: dict[Node, str] = {
    SKOS.exactMatch: "exact match",
    SKOS.closeMatch: "close match",
    SKOS.broadMatch: "broader",
    SKOS.narrowMatch: "narrower",
    SKOS.relatedMatch: "related",
}


@dataclass(frozen=True)
class Link:
    """A node as shown: its label, and where it resolves on this server (None: not ours)."""

    iri: str
    label: str
    href: str | None


@dataclass(frozen=True)
class _Page:
    graph: Graph
    iri: URIRef
    id_namespace: str
    id_path: str
    language: str

    def label(self, node: Node) -> str:
        for prop in (SKOS.prefLabel, RDFS.label):
            values = [v for v in self.graph.objects(node, prop) if isinstance(v, Literal)]
            for wanted in (self.language, None):
                matching = sorted(str(v) for v in values if v.language == wanted)
                if matching:
                    return matching[0]
            if values:
                return min(str(v) for v in values)
        return curie(str(node))

    def prop_label(self, prop: Node) -> str:
        """A property's label; one from another vocabulary may have none: `wasDerivedFrom` ->
        `was derived from`."""
        label = self.label(prop)
        if label != curie(str(prop)):
            return label
        local = re.split(r"[#/:]", str(prop))[-1]
        return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower() or label

    def link(self, node: Node) -> Link:
        text = str(node)
        href = None
        if isinstance(node, URIRef) and text.startswith(self.id_namespace):
            href = self.id_path + text[len(self.id_namespace) :]
        return Link(text, self.label(node), href)

    def a(self, node: Node) -> str:
        link = self.link(node)
        if link.href is None:
            return f'<span title="{escape(link.iri)}">{escape(link.label)}</span>'
        return f'<a href="{escape(link.href)}">{escape(link.label)}</a>'

    def texts(self, node: Node, prop: URIRef) -> list[str]:
        values = [v for v in self.graph.objects(node, prop) if isinstance(v, Literal)]
        return sorted(str(v) for v in values if v.language in (self.language, None))

    def links(self, nodes: Iterable[Node]) -> list[Node]:
        return sorted(set(nodes), key=lambda n: (self.label(n).casefold(), str(n)))


def render_html(
    graph: Graph,
    iri: URIRef,
    *,
    id_namespace: str,
    id_path: str = "/id/",
    language: str = "en",
    version: str = "",
) -> str:
    """The page for `iri`, from its description (see linked_data.describe)."""
    page = _Page(graph, iri, id_namespace, id_path, language)
    title = page.label(iri)
    types = ", ".join(page.a(t) for t in page.links(graph.objects(iri, RDF.type)))
    body = [
        f"<header><h1>{escape(title)}</h1>",
        f'<p class="meta">{types} · <code>{escape(str(iri))}</code></p></header>',
        _definition(page),
        _names(page),
        _diagram(page),
        _relations(page),
        _evidence(page),
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
    parts = [f"<p class=definition>{escape(t)}</p>" for t in page.texts(page.iri, SKOS.definition)]
    for definition in page.links(page.graph.objects(page.iri, CKG.hasDefinition)):
        authorities = ", ".join(
            page.a(a) for a in page.links(page.graph.objects(definition, CKG.authority))
        )
        for quote in page.texts(definition, CKG.quote):
            parts.append(f"<blockquote>{escape(quote)}</blockquote>")
        sources = ", ".join(
            page.a(s) for s in page.links(page.graph.objects(definition, PROV.wasDerivedFrom))
        )
        parts.append(
            f'<p class="meta">Definition by {authorities or "an unnamed authority"}'
            + (f", as quoted in {sources}" if sources else "")
            + "</p>"
        )
    return "<section><h2>Definition</h2>" + "".join(parts) + "</section>" if parts else ""


def _names(page: _Page) -> str:
    rows = []
    for heading, prop in (("Also known as", SKOS.altLabel), ("Brand names", CKG.brandName)):
        values = page.texts(page.iri, prop)
        if values:
            items = "".join(f"<li>{escape(v)}</li>" for v in values)
            rows.append(f"<h3>{heading}</h3><ul class=names>{items}</ul>")
    return "<section>" + "".join(rows) + "</section>" if rows else ""


def _relations(page: _Page) -> str:
    graph, iri = page.graph, page.iri
    outgoing: dict[Node, list[Node]] = {}
    details: list[tuple[str, str]] = []
    for prop, value in graph.predicate_objects(iri):
        if prop in _SPECIAL:
            continue
        if isinstance(value, Literal):
            details.append((page.prop_label(prop), str(value)))
        else:
            outgoing.setdefault(prop, []).append(value)
    incoming: dict[Node, list[Node]] = {}
    for subject, prop in graph.subject_predicates(iri):
        if prop not in _EVIDENCE_LINKS:
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
    assertions = page.links(
        {a for link in (RDF.subject, RDF.object) for a in graph.subjects(link, iri)}
    )
    facts = page.links(f for about in [iri, *assertions] for f in graph.subjects(CKG.about, about))
    items = []
    for assertion in assertions:
        claim = " ".join(
            page.a(n) if isinstance(n, URIRef) else escape(str(n))
            for link in (RDF.subject, RDF.predicate, RDF.object)
            for n in graph.objects(assertion, link)
        )
        roles = ", ".join(page.a(r) for r in page.links(graph.objects(assertion, CKG.causeRole)))
        items.append(_evidence_item(page, assertion, claim + (f" ({roles})" if roles else "")))
    for fact in facts:
        items.append(_evidence_item(page, fact, page.a(fact)))
    if not items:
        return ""
    return "<section><h2>Evidence</h2><ul class=evidence>" + "".join(items) + "</ul></section>"


def _evidence_item(page: _Page, node: Node, heading: str) -> str:
    quotes = "".join(f"<blockquote>{escape(q)}</blockquote>" for q in page.texts(node, CKG.quote))
    sources = [
        f"Source: {page.a(s)}" for s in page.links(page.graph.objects(node, PROV.wasDerivedFrom))
    ]
    sources += [f"cites {page.a(c)}" for c in page.links(page.graph.objects(node, CKG.citedSource))]
    meta = f'<p class="meta">{" · ".join(sources)}</p>' if sources else ""
    return f"<li><p>{heading}</p>{quotes}{meta}</li>"


def _codes(page: _Page) -> str:
    graph = page.graph
    codes = sorted(
        graph.objects(page.iri, CKG.code),
        key=lambda c: (page.texts(c, SCHEMA.codingSystem), page.texts(c, SCHEMA.codeValue)),
    )
    if not codes:
        return ""
    rows = []
    for code in codes:
        cells = [
            ", ".join(page.texts(code, SCHEMA.codingSystem)),
            ", ".join(page.texts(code, SCHEMA.codeValue)),
            ", ".join(page.texts(code, RDFS.label)),
        ]
        match = ", ".join(
            _MATCH.get(m, page.label(m)) for m in graph.objects(code, CKG.mappingRelation)
        )
        who = ", ".join(page.a(a) for a in page.links(graph.objects(code, PROV.wasAttributedTo)))
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
    sources = page.links(page.graph.objects(page.iri, PROV.wasDerivedFrom))
    if not sources:
        return ""
    items = "".join(f"<li>{page.a(s)}</li>" for s in sources)
    return f"<section><h2>Sources</h2><ul>{items}</ul></section>"


def _diagram(page: _Page) -> str:
    """The entity in the centre, the entities it links to (or that link to it) around it."""
    graph, iri = page.graph, page.iri
    edges: dict[Node, Node] = {}
    for prop, value in graph.predicate_objects(iri):
        if prop not in _SPECIAL and isinstance(value, URIRef) and value != iri:
            edges.setdefault(value, prop)
    for subject, prop in graph.subject_predicates(iri):
        if prop not in _SPECIAL | _EVIDENCE_LINKS and isinstance(subject, URIRef):
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


def _svg_link(page: _Page, node: Node, inner: str) -> str:
    link = page.link(node)
    tip = f"<title>{escape(link.label)}</title>"
    if link.href is None:
        return f"<g>{tip}{inner}</g>"
    return f'<a href="{escape(link.href)}">{tip}{inner}</a>'


def _ordered(page: _Page, by_property: dict[Node, list[Node]]) -> list[Node]:
    known = [p for p in _ORDER if p in by_property]
    rest = sorted(
        (p for p in by_property if p not in _ORDER),
        key=lambda p: (page.prop_label(p).casefold(), str(p)),
    )
    return known + rest


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
