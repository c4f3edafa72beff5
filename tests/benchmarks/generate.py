"""Synthetic projects for the benchmarks, built from the seed so they conform to the real shapes.

The seed's condition with everything it links to (symptoms, causes, treatments, statistics,
assertions, codes) is copied N times under new IRIs and labels, one file per copy
(`kg/generated/condition-NNNN.ttl`). The seed itself stays as copy 0, so the clinic, the sources
and the pages (kept once, shared by every copy) still point at what they describe, and every quote
stays verbatim in `kg/sources/clinic-page.txt`. When the seed or the shapes change, the copies
follow.

    python -m tests.benchmarks.generate 10k [--out DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Literal
from rdflib.term import Node

from server.load.loader import load

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
KG = "https://clinic-kg.example/id/"
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
# Files every copy shares: the clinic, and the sources its quotes come from. Pages are shared
# too, but not what they say: see seed_parts.
SHARED = ("kg/clinic.ttl", "kg/sources/")
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDF_SUBJECT = "http://www.w3.org/1999/02/22-rdf-syntax-ns#subject"
WEB_PAGE = "https://clinic-kg.example/ontology#WebPage"
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
SIZES = {"seed": 0, "2k": 2_000, "10k": 10_000, "100k": 100_000, "1m": 1_000_000}
PREFIXES = {
    "kg": KG,
    "ckg": "https://clinic-kg.example/ontology#",
    "measure": "https://clinic-kg.example/ontology/measure/",
    "unit": "https://clinic-kg.example/ontology/unit/",
    "qualifier": "https://clinic-kg.example/ontology/qualifier/",
    "category": "https://clinic-kg.example/ontology/treatment-category/",
    "role": "https://clinic-kg.example/ontology/cause-role/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "schema": "https://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
_LOCAL = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bra", "dun", "fel", "gor")


@dataclass(frozen=True)
class Generated:
    """A generated project folder and what is in it."""

    root: Path
    copies: int
    triples: int
    files: int


def seed_parts(repo: Path = REPO) -> tuple[list[Path], list[ox.Triple], set[str]]:
    """The seed's shared files, the triples of every other kg/ file (what gets copied), and the
    IRIs every copy shares: the subjects of the shared files, the pages, and the evidence a page
    gives about a shared subject (the clinic's services)."""
    shared: list[Path] = []
    others: list[ox.Triple] = []
    shared_iris: set[str] = set()
    # The files as the project loads them: compact evidence blocks (blank nodes) expanded into
    # named assertions, which each copy renames like every other subject.
    loaded = {f.path: f for f in load(repo).files if f.kind == "kg"}
    for path in sorted((repo / "kg").rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(repo).as_posix()
        triples = [_to_ox(t) for t in loaded[rel].triples] if path.suffix == ".ttl" else []
        if any(rel == s or rel.startswith(s) for s in SHARED):
            shared.append(path)
            shared_iris.update(str(t.subject.value) for t in triples)
        else:
            others.extend(triples)
    for t in others:
        if t.predicate.value == RDF_TYPE and t.object.value == WEB_PAGE:
            shared_iris.add(t.subject.value)
    for t in others:
        if t.predicate.value == RDF_SUBJECT and t.object.value in shared_iris:
            shared_iris.add(t.subject.value)
    copied = [t for t in others if t.subject.value not in shared_iris]
    return shared, copied, shared_iris


def _to_ox(triple: tuple[Node, Node, Node]) -> ox.Triple:
    def term(t: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if isinstance(t, Literal):
            if t.language:
                return ox.Literal(str(t), language=t.language)
            return ox.Literal(str(t), datatype=ox.NamedNode(str(t.datatype or XSD_STRING)))
        if isinstance(t, BNode):
            return ox.BlankNode(str(t))
        return ox.NamedNode(str(t))

    s, p, o = (term(t) for t in triple)
    return ox.Triple(s, p, o)  # type: ignore[arg-type]


def count_triples(folder: Path) -> int:
    return sum(
        len(list(ox.parse(path=str(p), format=ox.RdfFormat.TURTLE))) for p in folder.rglob("*.ttl")
    )


def _words(rng: random.Random, n: int) -> Iterator[str]:
    """n distinct pseudo-words, seeded (a label prefix per copy: "Kalomi", "Rusane", ...)."""
    seen: set[str] = set()
    while len(seen) < n:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
        if word not in seen:
            seen.add(word)
            yield word


def _rename(triples: list[ox.Triple], word: str, shared_iris: set[str]) -> Iterator[ox.Triple]:
    slug = word.lower()

    def term(t: ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.NamedNode | ox.Literal:
        if isinstance(t, ox.NamedNode) and t.value.startswith(KG) and t.value not in shared_iris:
            return ox.NamedNode(f"{t.value}-{slug}")
        if isinstance(t, ox.BlankNode):  # blocks are expanded on load; keep copies free of them
            raise ValueError("blank nodes in the seed are not supported by the generator")
        return t

    for t in triples:
        obj = t.object
        if t.predicate.value in (PREF_LABEL, ALT_LABEL) and isinstance(obj, ox.Literal):
            obj = ox.Literal(
                f"{word} {obj.value[:1].lower()}{obj.value[1:]}", language=obj.language
            )
        yield ox.Triple(term(t.subject), t.predicate, term(obj))  # type: ignore[arg-type]


def _show(t: object) -> str:
    if isinstance(t, ox.NamedNode):
        for prefix, ns in PREFIXES.items():
            if t.value.startswith(ns) and _LOCAL.match(t.value[len(ns) :]):
                return f"{prefix}:{t.value[len(ns) :]}"
    return str(t)  # N-Triples form, which is valid Turtle


def to_turtle(triples: Iterable[ox.Triple], comment: str) -> str:
    """Turtle with one block per subject (in first-seen order), each starting at column 0."""
    blocks: dict[str, list[str]] = {}
    for t in triples:
        blocks.setdefault(_show(t.subject), []).append(f"{_show(t.predicate)} {_show(t.object)}")
    head = [f"@prefix {p}: <{ns}> ." for p, ns in sorted(PREFIXES.items())]
    body = [f"{s}\n    " + " ;\n    ".join(pos) + " .\n" for s, pos in blocks.items()]
    return "\n".join(head) + f"\n\n# {comment}\n\n" + "\n".join(body)


def generate(out: Path, target_triples: int, seed: int = 20261124, repo: Path = REPO) -> Generated:
    """Write a project of about `target_triples` (data + ontology + shapes) into `out`."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in ("ontology", "shapes"):
        shutil.copytree(repo / name, out / name)
    shared, copied, shared_iris = seed_parts(repo)
    for path in shared:
        dest = out / path.relative_to(repo)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    # Copy 0 is the seed itself, under its own IRIs and labels.
    for path in sorted((repo / "kg").rglob("*.ttl")):
        dest = out / path.relative_to(repo)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)
    base = count_triples(out)
    copies = max(0, round((target_triples - base) / max(1, len(copied))))
    rng = random.Random(seed)
    folder = out / "kg" / "generated"
    folder.mkdir()
    for index, word in enumerate(_words(rng, copies), start=1):
        text = to_turtle(
            _rename(copied, word, shared_iris),
            f"Synthetic copy {index} of the seed condition (benchmarks only), prefix {word!r}.",
        )
        (folder / f"condition-{index:04d}.ttl").write_text(text, encoding="utf-8")
    files = sum(1 for _ in out.rglob("*.ttl"))
    return Generated(out, copies, base + copies * len(copied), files)


def edit_one_file(root: Path) -> Path:
    """Change one label in one generated file (the hot-reload benchmark's edit); returns it."""
    files = sorted((root / "kg" / "generated").glob("*.ttl"))
    path = files[len(files) // 2] if files else root / "kg" / "symptoms.ttl"
    text = path.read_text(encoding="utf-8")
    edited, n = re.subn(r'(skos:prefLabel "[^"]*)"@en', r'\1 (edited)"@en', text, count=1)
    if not n:
        raise ValueError(f"no English preferred label to edit in {path}")
    path.write_text(edited, encoding="utf-8")
    return path


def fingerprint(repo: Path = REPO) -> str:
    """Hash of what a generated project derives from: the seed, the shapes and this generator."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for name in ("ontology", "shapes", "kg"):
        for path in sorted((repo / name).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(repo).as_posix().encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure(size: str, data: Path = DATA) -> Generated:
    """The project for a named size; regenerated unless an up-to-date one is already there."""
    out = data / size
    stamp = out / ".generated"
    current = fingerprint()
    fields = stamp.read_text().split() if stamp.exists() else []
    if len(fields) == 4 and fields[0] == current:
        return Generated(out, int(fields[1]), int(fields[2]), int(fields[3]))
    made = generate(out, SIZES[size])
    stamp.write_text(f"{current} {made.copies} {made.triples} {made.files}\n")
    return made


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", choices=sorted(SIZES))
    parser.add_argument("--out", type=Path, help="folder to write (default tests/benchmarks/data)")
    args = parser.parse_args(argv)
    made = generate(args.out, SIZES[args.size]) if args.out else ensure(args.size)
    print(f"{made.root}: {made.copies} copies, {made.triples} triples, {made.files} files")


if __name__ == "__main__":
    main()
