"""Where a subject is described: file and line, for every diagnostic about the graph."""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import BNode
from rdflib.term import Node

from server.load.loader import LoadResult, SourceFile
from server.rdf.namespaces import RDF_TYPE


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    subject: Node


class SourceMap:
    """Answers "where is (subject, predicate) written?" for a loaded project.

    Built only when there is something to report, so a clean validation never pays for it.
    """

    def __init__(self, loaded: LoadResult) -> None:
        self._files = loaded.files
        self._by_pair: dict[tuple[Node, Node], int] = {}
        self._by_subject: dict[Node, int] = {}
        self._typed_in: dict[Node, int] = {}
        self._parent: dict[BNode, Node] = {}
        for index, f in enumerate(loaded.files):
            for s, p, o in f.triples:
                self._by_pair.setdefault((s, p), index)
                self._by_subject.setdefault(s, index)
                if p == RDF_TYPE:
                    self._typed_in.setdefault(s, index)
                if isinstance(o, BNode):
                    self._parent.setdefault(o, s)

    def owner(self, node: Node) -> Node:
        """The named subject a blank node hangs from (its description is where to look)."""
        seen: set[Node] = set()
        while isinstance(node, BNode) and node in self._parent and node not in seen:
            seen.add(node)
            node = self._parent[node]
        return node

    def locate(self, subject: Node, predicate: Node | None = None) -> Location:
        subject = self.owner(subject)
        index = None
        if predicate is not None:
            index = self._by_pair.get((subject, predicate))
        if index is None:
            index = self._typed_in.get(subject, self._by_subject.get(subject))
        if index is None:
            return Location("", 0, subject)
        f: SourceFile = self._files[index]
        return Location(f.path, f.subject_lines.get(str(subject), 1), subject)
