"""Lay out a set of triples as canonical Turtle statements.

Everything inside a statement is ordered by what it says, never by hash or parse order:
predicates by a fixed rank then by name, objects by their written form. Blank nodes referred to
once are written inline as `[ ... ]`, well-formed RDF lists as `( ... )`. Only a blank node that is
shared or sits on a cycle gets a label; then the graph is first relabelled by rdflib's canonical
algorithm, so even those labels do not depend on how the file was parsed.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF
from rdflib.term import Node

from server.turtle.terms import PrefixMap, literal, predicate_key

Triple = tuple[Node, Node, Node]
WIDTH = 100
INDENT = 4
_FIRST, _REST, _NIL, _TYPE = RDF.first, RDF.rest, RDF.nil, RDF.type
# A label placeholder while statements are laid out; NUL never appears raw in written Turtle
# (literals escape it), so replacing placeholders cannot touch a value.
_PLACEHOLDER = re.compile("\x00([^\x00]+)\x00")


@dataclass(frozen=True)
class Statement:
    """One written statement: its subject IRI (None for blank-node blocks) and its text."""

    subject: str | None
    text: str


class TurtleWriter:
    """Writes the triples of one file; `statements()` for a file, `describe()` for one value."""

    def __init__(
        self,
        triples: Iterable[Triple],
        prefixes: PrefixMap,
        width: int = WIDTH,
        canonical_labels: bool = True,
    ) -> None:
        self.prefixes = prefixes
        self.width = width
        self._index(list(triples))
        if self._labelled and canonical_labels:
            # Labels are unavoidable: take them from the canonical relabelling, so that they and
            # every order that depends on them are the same however the input was parsed.
            canonical = to_canonical_graph(Graph().__iadd__(self._triples))
            self._index(list(canonical))

    # ------------------------------------------------------------------ analysis

    def _index(self, triples: list[Triple]) -> None:
        self._triples = triples
        pairs: dict[Node, dict[Node, list[Node]]] = defaultdict(lambda: defaultdict(list))
        refs: Counter[BNode] = Counter()
        parent: dict[BNode, Node] = {}
        for s, p, o in triples:
            pairs[s][p].append(o)
            if isinstance(o, BNode):
                refs[o] += 1
                parent[o] = s
        self._pairs = pairs
        self._refs = refs
        self._parent = parent
        self._flat_memo: dict[Node, str] = {}
        labelled = {b for b, n in refs.items() if n > 1}
        labelled |= self._cycle_breaks(labelled)
        self._labelled = labelled
        self._lists = self._list_heads()

    def _cycle_breaks(self, labelled: set[BNode]) -> set[BNode]:
        """One blank node per cycle of single references, which could never be written inline."""
        breaks: set[BNode] = set()
        for start in sorted(self._parent, key=str):
            if start in labelled or start in breaks or self._refs[start] != 1:
                continue
            path: list[BNode] = [start]
            node = self._parent[start]
            while isinstance(node, BNode) and node not in labelled and node not in breaks:
                if node in path:
                    cycle = path[path.index(node) :]
                    breaks.add(min(cycle, key=str))
                    break
                path.append(node)
                if self._refs[node] != 1:
                    break
                node = self._parent[node]
        return breaks

    def _list_heads(self) -> dict[Node, list[Node]]:
        """Each blank node that starts a well-formed RDF list, with the list's items."""

        def cell(node: Node) -> bool:
            return (
                isinstance(node, BNode)
                and self._refs[node] == 1
                and node not in self._labelled
                and set(self._pairs.get(node, {})) == {_FIRST, _REST}
                and len(self._pairs[node][_FIRST]) == 1
                and len(self._pairs[node][_REST]) == 1
            )

        lists: dict[Node, list[Node]] = {}
        done: set[Node] = set()
        for node in list(self._pairs):
            if node in done or not cell(node):
                continue
            chain: list[BNode] = []
            current: Node = node
            while isinstance(current, BNode) and cell(current) and current not in done:
                done.add(current)
                chain.append(current)
                current = self._pairs[current][_REST][0]
            # The chain ends at rdf:nil, at a list already known, or somewhere that is no list.
            tail = [] if current == _NIL else lists.get(current)
            if tail is None:
                continue
            for cell_node in reversed(chain):
                tail = [self._pairs[cell_node][_FIRST][0], *tail]
                lists[cell_node] = tail
        return lists

    def _inline(self, node: Node) -> bool:
        return isinstance(node, BNode) and self._refs[node] == 1 and node not in self._labelled

    # ------------------------------------------------------------------ statements

    def statements(self, order: Mapping[str, int] | None = None) -> list[Statement]:
        """Every statement of the file: named subjects first, in `order` (IRI -> rank, e.g. the
        line where the file first describes it), then by name; then blank-node blocks."""
        order = order or {}
        named: list[tuple[float, str, URIRef]] = []
        blank: list[tuple[int, str, BNode]] = []
        for subject in self._pairs:
            if isinstance(subject, URIRef):
                spelled = self.prefixes.iri(str(subject))
                named.append((order.get(str(subject), math.inf), spelled, subject))
            elif isinstance(subject, BNode) and not self._inline(subject):
                # Top-level `[ ... ] .` blocks before labelled ones; each group by what it says.
                kind = 0 if self._refs[subject] == 0 else 1
                blank.append((kind, self._block_key(subject), subject))
        out = [Statement(str(s), self._block(s)) for _, _, s in sorted(named)]
        out += [Statement(None, self._block(b)) for _, _, b in sorted(blank)]
        return _relabel(out)

    def _block_key(self, node: BNode) -> str:
        body = " ; ".join(f"{p} {', '.join(objs)}" for p, objs in self._flat_pairs(node))
        return body if self._refs[node] == 0 else self._label(node) + " " + body

    def _block(self, subject: Node) -> str:
        if isinstance(subject, BNode) and self._refs[subject] == 0:
            lines = ["[", *self._po_lines(subject, INDENT, " " * INDENT, ""), "] ."]
            return "\n".join(lines)
        head = (
            self._label(subject) if isinstance(subject, BNode) else self.prefixes.iri(str(subject))
        )
        return "\n".join(self._po_lines(subject, INDENT, head + " ", " ."))

    def _po_lines(self, node: Node, indent: int, first_lead: str, end: str) -> list[str]:
        pairs = self._sorted_pairs(node)
        lines: list[str] = []
        for i, (pred, objects) in enumerate(pairs):
            lead = (first_lead if i == 0 else " " * indent) + pred
            tail = " ;" if i < len(pairs) - 1 else end
            lines += self._object_lines(lead, objects, indent, tail)
        return lines

    def _object_lines(
        self, lead: str, objects: list[Node], indent: int, end: str, fresh: bool = False
    ) -> list[str]:
        """`lead o1, o2, ...` wrapped at the width; continuation lines one step further in."""
        lines: list[str] = []
        current, line_indent = lead, indent
        for j, obj in enumerate(objects):
            tail = "," if j < len(objects) - 1 else end
            sep = "" if fresh else " "
            single = self._single(obj, self.width - indent - INDENT - len(tail))
            if single is not None:
                # The first object stays beside its predicate: a long text fits no line anyway.
                too_long = len(current) + 1 + len(single) + len(tail) > self.width
                if j > 0 and not fresh and too_long:
                    lines.append(current)
                    line_indent = indent + INDENT
                    current, sep = " " * line_indent, ""
                current += sep + single + tail
                fresh = False
                continue
            block = self._multi(obj, line_indent)
            lines.append(current + sep + block[0])
            lines += block[1:-1]
            current, fresh = block[-1] + tail, False
        lines.append(current)
        return lines

    def _single(self, node: Node, room: int) -> str | None:
        """The one-line form, unless the node is a blank node or list better written over lines."""
        if not self._inline(node):
            return self._flat(node)
        if node in self._lists:
            inner = self._lists[node]
        else:
            pairs = self._pairs.get(node, {})
            if len(pairs) > 1 or any(len(objs) > 1 for objs in pairs.values()):
                return None
            inner = [o for objs in pairs.values() for o in objs]
        if any(self._single(o, room) is None for o in inner):
            return None
        text = self._flat(node)
        return text if len(text) <= room else None

    def _multi(self, node: Node, indent: int) -> list[str]:
        inner = indent + INDENT
        assert isinstance(node, BNode)
        if node in self._lists:
            lines = ["("]
            for item in self._lists[node]:
                lines += self._object_lines(" " * inner, [item], inner, "", fresh=True)
            return [*lines, " " * indent + ")"]
        return ["[", *self._po_lines(node, inner, " " * inner, ""), " " * indent + "]"]

    # ------------------------------------------------------------------ one-line forms

    def _sorted_pairs(self, node: Node) -> list[tuple[str, list[Node]]]:
        pairs = self._pairs.get(node, {})
        spelled = {p: ("a" if p == _TYPE else self.prefixes.iri(str(p))) for p in pairs}
        preds = sorted(pairs, key=lambda p: predicate_key(str(p), spelled[p]))
        return [(spelled[p], sorted(set(pairs[p]), key=self._object_key)) for p in preds]

    def _flat_pairs(self, node: Node) -> list[tuple[str, list[str]]]:
        return [(p, [self._flat(o) for o in objs]) for p, objs in self._sorted_pairs(node)]

    def _object_key(self, node: Node) -> tuple[int, str]:
        if isinstance(node, Literal):
            rank = 1
        elif isinstance(node, BNode) and self._inline(node):
            rank = 2 if node in self._lists else 3
        else:
            rank = 0
        return (rank, self._flat(node))

    def _flat(self, node: Node) -> str:
        hit = self._flat_memo.get(node)
        if hit is not None:
            return hit
        if isinstance(node, Literal):
            text = literal(node, self.prefixes)
        elif isinstance(node, URIRef):
            text = "()" if node == _NIL else self.prefixes.iri(str(node))
        elif isinstance(node, BNode) and not self._inline(node):
            text = self._label(node)
        elif isinstance(node, BNode) and node in self._lists:
            items = [self._flat(i) for i in self._lists[node]]
            text = "( " + " ".join(items) + " )" if items else "()"
        elif isinstance(node, BNode):
            flat = self._flat_pairs(node)
            body = " ; ".join(f"{p} {', '.join(objs)}" for p, objs in flat)
            text = f"[ {body} ]" if body else "[]"
        else:  # pragma: no cover - RDF 1.2 triple terms are not loaded
            raise TypeError(f"cannot write {node!r}")
        self._flat_memo[node] = text
        return text

    def _label(self, node: Node) -> str:
        return f"\x00{node}\x00"

    # ------------------------------------------------------------------ values for diff

    def describe(self, node: Node) -> str:
        """One node on one line, every blank node written out (shared ones repeated, a cycle cut
        short as `[ … ]`): the same text for the same content, whatever the blank-node labels."""
        return self._describe(node, ())

    def _describe(self, node: Node, stack: tuple[Node, ...]) -> str:
        if not isinstance(node, BNode):
            return self._flat(node)
        if node in stack:
            return "[ … ]"
        if node in self._lists:
            items = [self._describe(i, (*stack, node)) for i in self._lists[node]]
            return "( " + " ".join(items) + " )"
        parts = []
        for pred, objects in self._sorted_pairs(node):
            values = sorted(self._describe(o, (*stack, node)) for o in objects)
            parts.append(f"{pred} {', '.join(values)}")
        return f"[ {' ; '.join(parts)} ]" if parts else "[]"


def document(triples: Iterable[Triple], prefixes: PrefixMap) -> str:
    """A whole Turtle document without comments: the prefixes it uses, then every statement."""
    statements = TurtleWriter(triples, prefixes).statements()
    chunks = [prefixes.block(), *([st.text] for st in statements)]  # block() after: it lists used
    return "\n\n".join("\n".join(chunk) for chunk in chunks if chunk) + "\n"


def _relabel(statements: list[Statement]) -> list[Statement]:
    """Replace label placeholders by `_:b1`, `_:b2`, ... in order of first appearance."""
    names: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        return names.setdefault(match.group(1), f"_:b{len(names) + 1}")

    return [Statement(s.subject, _PLACEHOLDER.sub(name, s.text)) for s in statements]
