"""The compact evidence block, expanded when a project is loaded.

A steward may write the evidence for a relation on its subject, in place:

    kg:back-pain-page-condition ckg:hasSymptom kg:leg-pain ;
        ckg:evidence [ ckg:for kg:leg-pain ; ckg:quote "…" ; prov:wasDerivedFrom kg:page ] .

Once every file is parsed (the relation may be stated in another file than its evidence), each
block becomes the standard form: a ckg:Assertion named `kg:<subject>-<relation>-<object>-<page>`
(a slug like every id: `kg:sciatica-has-symptom-leg-pain-sciatica-page`; the page is the block's
prov:wasDerivedFrom, so two pages may state the same relation) with
rdf:subject, rdf:predicate, rdf:object and the block's other properties (quote, source, cause
role). The block itself is removed, so SHACL, the checks, the snapshot, export and diff only ever
see ordinary assertions. The relation is the one evidence-requiring relation (ckg:requiresEvidence
in the ontology) from the subject to the object, or the block's `rdf:predicate` when there are
two. Parsing a single file (fmt) never expands: the files keep the shorthand as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from operator import itemgetter
from typing import TYPE_CHECKING

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import PROV, RDF, RDFS
from rdflib.term import Node

from server.diagnostics import Diagnostic, Severity
from server.rdf.namespaces import CKG, closest_curie, curie

if TYPE_CHECKING:  # loader imports this module: the class is only needed for the annotations
    from server.load.loader import SourceFile, Triple

EVIDENCE: URIRef = CKG.evidence
FOR: URIRef = CKG["for"]
_DERIVED_FROM: URIRef = PROV.wasDerivedFrom
_REQUIRES_EVIDENCE: URIRef = CKG.requiresEvidence
_TYPE: URIRef = RDF.type
_SUBJECT: URIRef = RDF.subject
_PREDICATE: URIRef = RDF.predicate
_OBJECT: URIRef = RDF.object
_ASSERTION: URIRef = CKG.Assertion
# The namespace entity IRIs have in the files, which is what the lexical scan reads.
_WRITTEN_NAMESPACE = "https://clinic-kg.example/id/"
_BLOCK_FORM = '[ ckg:for kg:<object> ; ckg:quote "…" ; prov:wasDerivedFrom kg:<page> ]'


@dataclass(frozen=True)
class Expansion:
    """The files with every block that could be expanded in standard form, and why the others
    could not (file:line, a KG-EVIDENCE-… code, a hint)."""

    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class _Block:
    file: int  # index of the file holding it
    holder: Node  # the subject the block is written on
    node: Node  # the ckg:evidence value (a blank node when well-formed)


def expand_evidence(files: Sequence[SourceFile], id_namespace: str) -> Expansion:
    """Expand every evidence block of the kg/ files; files without one are returned unchanged."""
    found = [
        (i, f)
        for i, f in enumerate(files)
        if f.kind == "kg" and f.may_hold_evidence and _mentions(f.triples, EVIDENCE)
    ]
    if not found:
        return Expansion(tuple(files), ())
    blocks: list[_Block] = []
    body: dict[Node, list[tuple[Node, Node]]] = {}
    uses: dict[Node, int] = {}
    for i, f in found:
        for s, p, o in f.triples:
            if p == EVIDENCE:
                blocks.append(_Block(i, s, o))
                uses[o] = uses.get(o, 0) + 1
        wanted = {b.node for b in blocks if b.file == i and isinstance(b.node, BNode)}
        for s, p, o in f.triples:
            if s in wanted:
                body.setdefault(s, []).append((p, o))
    graph = _Graph(
        files, {(b.holder, o) for b in blocks for p, o in body.get(b.node, ()) if p == FOR}
    )
    out = _Expander(files, id_namespace, graph)
    for block in blocks:
        out.expand(block, body.get(block.node, []), uses.get(block.node, 0))
    return Expansion(out.result(), tuple(out.diagnostics))


def may_hold_evidence(raw: bytes) -> bool:
    """Whether a file's bytes may spell ckg:evidence (its name, or an IRI with escapes)."""
    return b"evidence" in raw or b"\\u" in raw or b"\\U" in raw


def _mentions(triples: Sequence[Triple], predicate: URIRef) -> bool:
    # str.__eq__ in C: rdflib's own __eq__ and __hash__ are Python-level and slow per triple.
    return any(map(str(predicate).__eq__, map(itemgetter(1), triples)))


class _Graph:
    """What expansion asks of the whole project, read in one pass over its triples: the relations
    from each block's subject to its object, the relations that need evidence, and the subjects
    already described (which a generated IRI must not be)."""

    def __init__(self, files: Sequence[SourceFile], pairs: set[tuple[Node, Node]]) -> None:
        self.files = files
        self.links: dict[tuple[Node, Node], set[Node]] = {}
        self.evidenced: set[Node] = set()
        self.subjects: set[Node] = set()
        for f in files:
            if f.kind == "ontology":
                for s, p, o in f.triples:
                    if p == _REQUIRES_EVIDENCE and isinstance(o, Literal) and o.value is True:
                        self.evidenced.add(s)
                continue
            if f.kind != "kg":
                continue
            self.subjects.update(map(itemgetter(0), f.triples))
            for s, p, o in f.triples:
                if (s, o) in pairs:
                    self.links.setdefault((s, o), set()).add(p)

    def linked(self, subject: Node) -> list[str]:
        """The objects the subject links to through relations that need evidence (for a hint;
        read only when a block names none of them)."""
        found = {
            curie(str(o))
            for f in self.files
            if f.kind == "kg"
            for s, p, o in f.triples
            if s == subject and p in self.evidenced
        }
        return sorted(found)

    def fitting(self, subject: Node, obj: Node) -> list[str]:
        """The evidence-requiring relations whose domain the subject's type and whose range the
        object's type fall in (for a hint; read only when a block's relation is missing)."""
        parents: dict[Node, set[Node]] = {}
        domains: dict[Node, set[Node]] = {}
        ranges: dict[Node, set[Node]] = {}
        types: dict[Node, set[Node]] = {subject: set(), obj: set()}
        for f in self.files:
            for s, p, o in f.triples:
                if f.kind == "ontology" and p == RDFS.subClassOf:
                    parents.setdefault(s, set()).add(o)
                elif (
                    f.kind == "ontology" and s in self.evidenced and p in (RDFS.domain, RDFS.range)
                ):
                    (domains if p == RDFS.domain else ranges).setdefault(s, set()).add(o)
                elif f.kind == "kg" and s in types and p == _TYPE:
                    types[s].add(o)

        def above(classes: set[Node]) -> set[Node]:
            seen, stack = set(classes), list(classes)
            while stack:
                for parent in parents.get(stack.pop(), ()):
                    if parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
            return seen

        mine, its = above(types[subject]), above(types[obj])
        return sorted(
            curie(str(p))
            for p in self.evidenced
            if domains.get(p, mine) & mine and ranges.get(p, its) & its
        )


class _Expander:
    def __init__(self, files: Sequence[SourceFile], id_namespace: str, graph: _Graph) -> None:
        self.files = files
        self.namespace = id_namespace
        self.graph = graph
        self.diagnostics: list[Diagnostic] = []
        self.removed: dict[int, set[Triple]] = {}
        self.added: dict[int, list[Triple]] = {}
        self.placed: dict[int, list[tuple[str, tuple[Node, Node]]]] = {}
        self.generated: dict[Node, _Block] = {}

    # ------------------------------------------------------------------ one block

    def expand(self, block: _Block, body: list[tuple[Node, Node]], uses: int) -> None:
        if not isinstance(block.node, BNode) or uses > 1:
            self._refuse_form(block, uses)
            return
        targets = [o for p, o in body if p == FOR]
        obj = targets[0] if len(targets) == 1 else None
        if not isinstance(block.holder, URIRef) or not isinstance(obj, URIRef):
            self._refuse_target(block, targets)
            return
        predicate = self._predicate(block, obj, [o for p, o in body if p == _PREDICATE])
        if predicate is None:
            return
        # The page is part of the name: evidence belongs to the page it was read from.
        pages = [o for p, o in body if p == _DERIVED_FROM and isinstance(o, URIRef)]
        page = f"-{_slug(pages[0], self.namespace)}" if len(pages) == 1 else ""
        iri = URIRef(
            f"{self.namespace}{_slug(block.holder, self.namespace)}-"
            f"{_kebab(_local(predicate))}-{_slug(obj, self.namespace)}{page}"
        )
        if iri in self.graph.subjects or iri in self.generated:
            self._refuse_id(block, obj, iri)
            return
        self.generated[iri] = block
        kept = [(p, o) for p, o in body if p not in (FOR, _PREDICATE)]
        triples: list[Triple] = [
            (iri, _TYPE, _ASSERTION),
            (iri, _SUBJECT, block.holder),
            (iri, _PREDICATE, predicate),
            (iri, _OBJECT, obj),
        ]
        triples += [(iri, p, o) for p, o in kept if (p, o) != (_TYPE, _ASSERTION)]
        self.added.setdefault(block.file, []).extend(triples)
        gone = self.removed.setdefault(block.file, set())
        gone.add((block.holder, EVIDENCE, block.node))
        gone.update((block.node, p, o) for p, o in body)
        self.placed.setdefault(block.file, []).append((str(iri), (block.holder, obj)))

    def _predicate(self, block: _Block, obj: URIRef, given: list[Node]) -> Node | None:
        links = self.graph.links.get((block.holder, obj), set())
        if len(given) > 1:
            self._error(
                block,
                obj,
                "KG-EVIDENCE-TARGET",
                f"the block names {len(given)} relations (rdf:predicate); it is evidence for one",
                "keep one rdf:predicate, or write one block per relation",
            )
            return None
        if given:
            if given[0] in links:
                return given[0]
            have = ", ".join(sorted(curie(str(p)) for p in links)) or "none"
            self._error(
                block,
                obj,
                "KG-EVIDENCE-TARGET",
                f"{curie(str(block.holder))} has no {curie(str(given[0]))} link to "
                f"{curie(str(obj))} (its links to it: {have})",
                f"state `{curie(str(block.holder))} {curie(str(given[0]))} "
                f"{curie(str(obj))}`, or fix rdf:predicate or ckg:for",
            )
            return None
        candidates = sorted((p for p in links if p in self.graph.evidenced), key=str)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            names = " and ".join(curie(str(p)) for p in candidates)
            self._error(
                block,
                obj,
                "KG-EVIDENCE-TARGET",
                f"{curie(str(block.holder))} links to {curie(str(obj))} through {names}, "
                "so the block must say which relation it is evidence for",
                f"add `rdf:predicate {curie(str(candidates[0]))}` (or another of them) "
                "to the block",
            )
            return None
        self._error(
            block,
            obj,
            "KG-EVIDENCE-TARGET",
            f"{curie(str(block.holder))} has no relation that needs evidence to {curie(str(obj))}",
            self._target_hint(block, obj),
        )
        return None

    def _target_hint(self, block: _Block, obj: URIRef) -> str:
        holder = curie(str(block.holder))
        linked = self.graph.linked(block.holder)
        close = closest_curie(curie(str(obj)), linked)
        fix = (
            f"did you mean ckg:for {close}? Otherwise state the relation"
            if close
            else "state the relation"
        )
        fitting = self.graph.fitting(block.holder, obj) or ["ckg:hasSymptom"]
        example = f"`{holder} {fitting[0]} {curie(str(obj))}`"
        if len(fitting) > 1:
            example += f" or another of {', '.join(fitting[1:])}"
        return f"{fix} (for example {example}), in this file or the subject's own"

    # ------------------------------------------------------------------ refusals

    def _refuse_form(self, block: _Block, uses: int) -> None:
        shown = curie(str(block.node)) if isinstance(block.node, URIRef) else repr(str(block.node))
        message = (
            "the same evidence block is given to two subjects; a block belongs to one"
            if uses > 1 and isinstance(block.node, BNode)
            else f"ckg:evidence takes a block {_BLOCK_FORM}, not {shown}"
        )
        self._error(
            block,
            None,
            "KG-EVIDENCE-BLOCK",
            message,
            "write the block in place with [ … ]; evidence that needs an IRI of its own "
            "is written as a ckg:Assertion (rdf:subject, rdf:predicate, rdf:object)",
        )

    def _refuse_target(self, block: _Block, targets: list[Node]) -> None:
        if not isinstance(block.holder, URIRef):
            message = "an evidence block must be written on a named subject, not a blank node"
            hint = "give the subject an IRI (kg:<slug>)"
        elif not targets:
            message = "the evidence block has no ckg:for: which object of the subject is it for?"
            hint = f"add `ckg:for kg:<object>`: {_BLOCK_FORM}"
        elif len(targets) > 1:
            message = f"the evidence block has {len(targets)} ckg:for values; it is for one object"
            hint = "write one block per object, each with its own quote"
        else:
            message = f"ckg:for must name an entity (an IRI), not {str(targets[0])!r}"
            hint = f"use the IRI of the object of the relation: {_BLOCK_FORM}"
        self._error(block, None, "KG-EVIDENCE-TARGET", message, hint)

    def _refuse_id(self, block: _Block, obj: URIRef, iri: URIRef) -> None:
        if iri in self.generated:
            first = self.generated[iri]
            message = (
                f"a second evidence block for the same relation would also become "
                f"{curie(str(iri))} (the first is in {self.files[first.file].path})"
            )
            hint = (
                "keep one block per relation, subject and page; two quotes of one page for the "
                "same relation are written as a ckg:Assertion with an IRI of its own"
            )
        else:
            message = f"the block would become {curie(str(iri))}, which the graph already describes"
            hint = (
                "it is the same evidence twice: keep either the block or the ckg:Assertion "
                f"{curie(str(iri))}, or rename that assertion"
            )
        self._error(block, obj, "KG-EVIDENCE-ID", message, hint)

    def _error(self, block: _Block, obj: Node | None, code: str, message: str, hint: str) -> None:
        # The block is left out of the graph (its relation then lacks evidence, which the checks
        # say too), so SHACL and the checks still run on everything else.
        gone = self.removed.setdefault(block.file, set())
        gone.add((block.holder, EVIDENCE, block.node))
        if isinstance(block.node, BNode):
            gone.update(t for t in self.files[block.file].triples if t[0] == block.node)
        f = self.files[block.file]
        line = _statement_lines(f, [(block.holder, obj)], self.namespace)[0]
        self.diagnostics.append(
            Diagnostic(
                path=f.path,
                line=line,
                severity=Severity.ERROR,
                code=code,
                message=message,
                subject=curie(str(block.holder)) if isinstance(block.holder, URIRef) else "",
                property=curie(str(EVIDENCE)),
                value=curie(str(obj)) if obj is not None else "",
                hint=hint,
            )
        )

    # ------------------------------------------------------------------ the files

    def result(self) -> tuple[SourceFile, ...]:
        out = list(self.files)
        for i in sorted(set(self.added) | set(self.removed)):
            f = self.files[i]
            gone = self.removed.get(i, set())
            added = self.added.get(i, [])
            triples = tuple(t for t in f.triples if t not in gone) + tuple(added)
            placed = self.placed.get(i, [])
            lines = _statement_lines(f, [where for _, where in placed], self.namespace)
            at = tuple((iri, line) for (iri, _), line in zip(placed, lines, strict=True))
            out[i] = replace(f, triples=triples, placed=f.placed + at)
        return tuple(out)


# ---------------------------------------------------------------------- names and lines


def _slug(node: Node, namespace: str) -> str:
    text = str(node)
    if text.startswith(namespace):
        return text[len(namespace) :]
    return _local(node)


def _kebab(name: str) -> str:
    """`hasSymptom` -> `has-symptom`: ids are lowercase slugs."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _local(node: Node) -> str:
    return re.split(r"[#/]", str(node).rstrip("#/"))[-1]


def _written(node: Node | None, namespace: str) -> str | None:
    """The IRI as the file spells it (before CLINIC_KG_BASE_IRI moved it), for the scan."""
    if node is None or not isinstance(node, URIRef):
        return None
    text = str(node)
    if namespace != _WRITTEN_NAMESPACE and text.startswith(namespace):
        return _WRITTEN_NAMESPACE + text[len(namespace) :]
    return text


def _statement_lines(
    f: SourceFile, wanted: Iterable[tuple[Node, Node | None]], namespace: str
) -> list[int]:
    """For each (subject, object of ckg:for), the line of the block: where the subject's statement
    names the object after a `ckg:for` (the block's own line in a long statement), else the
    subject's first statement in the file."""
    scanned = f.scanned
    text_lines = _text_lines(f)
    starts = sorted({st.line for st in scanned.statements})
    ends = {
        line: (starts[k + 1] if k + 1 < len(starts) else len(text_lines) + 1)
        for k, line in enumerate(starts)
    }
    spelled = dict(scanned.prefixes)
    out: list[int] = []
    for subject, obj in wanted:
        holder, target = _written(subject, namespace), _written(obj, namespace)
        mine = [st.line for st in scanned.statements if holder is not None and st.subject == holder]
        line = mine[0] if mine else 1
        for start in mine:
            chunk = "\n".join(text_lines[start - 1 : ends[start] - 1])
            at = _names_target(chunk, target, spelled) if target is not None else None
            if at is not None:
                line = start + chunk.count("\n", 0, at)
                break
        out.append(line)
    return out


def _text_lines(f: SourceFile) -> list[str]:
    try:
        return f.read_text().split("\n")
    except (OSError, UnicodeDecodeError):
        return []


_FOR_TOKEN = r"(?<![\w:])(?:{names})\s+(<[^>\s]*>|[^\s;,\[\]()]+)"


def _names_target(chunk: str, target: str, prefixes: dict[str, str]) -> int | None:
    """The offset in `chunk` where a `ckg:for` names `target`, else None."""
    names = [re.escape(f"<{FOR}>")]
    names += [re.escape(f"{name}:for") for name, ns in prefixes.items() if ns == str(CKG)]
    for match in re.finditer(_FOR_TOKEN.format(names="|".join(names)), chunk):
        token = match.group(1)
        if token.startswith("<"):
            if token[1:-1] == target:
                return match.start()
            continue
        name, _, local = token.partition(":")
        if name in prefixes and prefixes[name] + local == target:
            return match.start()
    return None
