"""Load Turtle files strictly, one file at a time.

Each file is parsed on its own (its prefixes, its blank nodes) by Oxigraph's W3C-conformant parser,
which rejects what rdflib lets through (spaces in IRIs, for one), after the size limits are
checked. Its triples become rdflib terms, which the rest of the core uses; where each subject is
described (file and line) is found by a lexical scan only when a diagnostic needs it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Identifier, Node

from server.diagnostics import Diagnostic, Severity
from server.load.evidence_shorthand import expand_evidence, may_hold_evidence
from server.rdf.namespaces import CANONICAL_ID_NAMESPACE, PREFIXES
from server.settings import Settings
from server.turtle.scan import Comment, ScanResult, scan

FOLDERS = ("ontology", "shapes", "kg")
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_REST = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#rest")
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
_BOM = b"\xef\xbb\xbf"
_OX_ERROR = re.compile(r"^Parser error[^:]*:\s*")
_OX_START = re.compile(r"^Parser error (?:between|at) line (\d+) column (\d+)")
_UNDECLARED = re.compile(r"The prefix (\S*): has not been declared")

Triple = tuple[Node, Node, Node]


@dataclass(frozen=True)
class SourceFile:
    """One Turtle file as loaded: its kind, content hash and triples.

    Where its subjects start, its prefixes and its comments come from a lexical scan that runs
    only when someone asks (a diagnostic to locate, a file to format): loading never pays for it.
    """

    path: str
    kind: str
    sha256: str
    triples: tuple[Triple, ...]
    location: Path
    base_iri: str
    # Subjects the text does not name, with the line to report them at: the assertions expanded
    # from evidence blocks (server/load/evidence_shorthand.py), at the statement holding the block.
    placed: tuple[tuple[str, int], ...] = ()
    # Whether the text may hold such blocks: a byte test at parse time, so loading a large graph
    # does not look through every triple for them.
    may_hold_evidence: bool = False
    # The text it was parsed from when that was not the disk's (an editor's unsaved buffer, given
    # to load() as an overlay by `clinic-kg lsp`): lines are then found in that text.
    text: str | None = field(default=None, compare=False, repr=False)

    def read_text(self) -> str:
        """The file's text: the overlay it was parsed from, else the file on disk."""
        if self.text is not None:
            return self.text
        return self.location.read_text(encoding="utf-8")

    @cached_property
    def scanned(self) -> ScanResult:
        try:
            text = self.read_text()
        except (OSError, UnicodeDecodeError):  # changed since it was loaded: nothing to locate
            text = ""
        return scan(text, base_iri=self.base_iri)

    @property
    def subject_lines(self) -> Mapping[str, int]:
        lines = self.scanned.first_line_of()
        lines.update(self.placed)
        return lines

    @property
    def prefixes(self) -> tuple[tuple[str, str], ...]:
        return self.scanned.prefixes

    @property
    def comments(self) -> tuple[Comment, ...]:
        return self.scanned.comments


@dataclass(frozen=True)
class LoadResult:
    """Every file that parsed, the diagnostics of those that did not, and (on first use) one rdflib
    graph per folder."""

    root: Path
    files: tuple[SourceFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    version: str
    id_namespace: str = CANONICAL_ID_NAMESPACE  # where entity IRIs live when served
    # Problems found while loading that leave the rest of the graph whole (an evidence block that
    # cannot be expanded is left out): reported by validation, but SHACL and the checks still run.
    findings: tuple[Diagnostic, ...] = ()

    def _graph(self, kind: str) -> Graph:
        graph = Graph(bind_namespaces="none")
        for prefix, ns in PREFIXES.items():
            graph.bind(prefix, ns)
        for f in self.files:
            if f.kind == kind:
                for triple in f.triples:
                    graph.add(triple)
        return graph

    # rdflib graphs per folder, built on first use: validation works on the triples alone.
    @cached_property
    def data(self) -> Graph:
        return self._graph("kg")

    @cached_property
    def ontology(self) -> Graph:
        return self._graph("ontology")

    @cached_property
    def shapes(self) -> Graph:
        # A reload whose shapes files did not change gets the same triples from the load
        # cache: the graph built from them last time is taken again (~0.04 s at each reload).
        parts = tuple(f.triples for f in self.files if f.kind == "shapes")
        for known, graph in _LAST_SHAPES:
            if len(known) == len(parts) and all(a is b for a, b in zip(known, parts, strict=True)):
                return graph
        graph = self._graph("shapes")
        _LAST_SHAPES[:] = [(parts, graph)]
        return graph

    @property
    def ok(self) -> bool:
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    def paths(self) -> tuple[str, ...]:
        return tuple(f.path for f in self.files)


# The last shapes graph built, with the triples it was built from (kept, so that their
# identities stay theirs). Graphs of shapes are read, never changed, by validation.
_LAST_SHAPES: list[tuple[tuple[tuple[Triple, ...], ...], Graph]] = []


def discover(root: Path, paths: Iterable[Path] = ()) -> list[Path]:
    """The project's ontology/, shapes/ and kg/ Turtle files, plus any extra files or folders."""
    return list(_discovered(root, paths))


def _discovered(root: Path, paths: Iterable[Path] = ()) -> dict[Path, str]:
    """`discover`'s files, each with where it is shown (`display_path`). A file that is no link,
    in one of the project's folders that is no link either, is where it sits: it is not resolved
    (most files, and at a million triples resolving each costs half a second)."""
    found: dict[Path, str] = {}
    real_root = root.resolve()
    plain = real_root == Path(os.path.abspath(root))
    for folder in [root / name for name in FOLDERS] + list(paths):
        if folder.is_dir():
            # rglob does not walk into linked folders: below a plain folder, only a file itself
            # can be a link.
            direct = plain and folder.parent == root and not folder.is_symlink()
            for p in sorted(folder.rglob("*.ttl")):
                if direct and not p.is_symlink():
                    found.setdefault(p, str(p.relative_to(root)))
                else:
                    located = locate(p, root)
                    found.setdefault(located, display_path(located, root))
        else:
            located = locate(folder, root)
            found.setdefault(located, display_path(located, root))
    return found


def locate(path: Path, root: Path) -> Path:
    """Where a file really is, or, for a link that loops or leads out of the project, where it
    sits in the project: load_file then reports the link instead of following it."""
    try:
        real = path.resolve()
    except (RuntimeError, OSError):  # a symlink loop: Python raises RuntimeError
        return Path(os.path.abspath(path))
    if _inside(real, root.resolve()) or not _inside(Path(os.path.abspath(path)), root):
        return real
    return Path(os.path.abspath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or Path(os.path.abspath(folder)) in path.parents


def kind_of(path: Path, root: Path) -> str:
    return _kind(display_path(path, root))


def _kind(shown: str) -> str:
    parts = Path(shown).parts
    return parts[0] if parts and parts[0] in FOLDERS else "kg"


def display_path(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except (ValueError, RuntimeError, OSError):
        pass
    try:  # a link out of the project or in a loop: shown where it sits
        return str(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)))
    except ValueError:
        return str(path)


def rebase(source: SourceFile, id_namespace: str) -> SourceFile:
    """The file's triples with entity IRIs moved from the `kg:` namespace the files use to the
    configured base (CLINIC_KG_BASE_IRI), so a deployment serves IRIs under its own domain."""

    def move(node: Node) -> Node:
        if isinstance(node, URIRef) and node.startswith(CANONICAL_ID_NAMESPACE):
            return URIRef(id_namespace + node[len(CANONICAL_ID_NAMESPACE) :])
        return node

    triples = tuple((move(s), move(p), move(o)) for s, p, o in source.triples)
    return replace(source, triples=triples)


class LoadCache:
    """Files already parsed, by path, reused while their bytes are unchanged.

    What changed is decided by content (a SHA-256 of the bytes), never by mtime and size alone: a
    same-size edit that keeps its mtime (`cp -p`, `rsync -t`) is parsed again. Hashing every file
    on every reload costs a quarter second at a million triples, so, as git does for its index, a
    file whose stat is unchanged since it was hashed is not hashed again: device, inode, size,
    mtime and ctime. No tool sets ctime (a write, `touch -d`, `cp -p`, `rsync -t` all move it),
    so a change leaves the stat different, except within one tick of the file system's clock: a
    file changed less than `RACY_SECONDS` before it was hashed is hashed again each time, until it
    is older. A file that cannot be read is never served from the cache and its read error is never
    kept, so the error shows while the file is unreadable and goes once it is readable. A reload
    after one file is saved re-parses that file only.
    """

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._files: dict[tuple[Path, str], _Cached] = {}
        self._seen: dict[Path, _Cached] = {}  # what get() read, checked again by put()
        self._clock = clock  # wall-clock nanoseconds, as st_mtime_ns and st_ctime_ns count

    def get(self, path: Path, shown: str) -> SourceFile | Diagnostic | None:
        hit = self._files.get((path, shown))
        key = _stat_key(path)
        if hit is not None and key is not None and hit.key == key and hit.settled:
            self._seen.pop(path, None)
            return hit.result
        taken = self._clock()  # before the bytes are read: a later change is after it
        digest = _digest(path)
        if digest is None:
            self._seen.pop(path, None)
            self._files.pop((path, shown), None)
            return None
        seen = _Cached(digest, None, key, taken)
        if hit is not None and hit.digest == digest:
            self._seen.pop(path, None)
            self._files[(path, shown)] = replace(seen, result=hit.result)
            return hit.result
        self._seen[path] = seen  # put() keeps it with what parsing gives
        return None

    def put(self, path: Path, shown: str, result: SourceFile | Diagnostic) -> None:
        seen = self._seen.pop(path, None)
        key, taken = (seen.key, seen.taken) if seen is not None else (None, 0)
        if isinstance(result, SourceFile):
            digest: str | None = result.sha256  # the very bytes that were parsed
            if seen is None or seen.digest != digest:
                key = None  # the bytes moved while being read: hashed again next time
        elif result.code == "KG-NO-FILE" or seen is None or _digest(path) != seen.digest:
            # A read error, or bytes that changed while being parsed: the diagnostic may not
            # describe what the file holds now, so it is found again next time.
            digest = None
        else:
            digest = seen.digest
        if digest is None:
            self._files.pop((path, shown), None)
        else:
            self._files[(path, shown)] = _Cached(digest, result, key, taken)

    def forget_missing(self, present: set[Path]) -> None:
        for key in [k for k in self._files if k[0] not in present]:
            del self._files[key]


# A file changed this close to when it was hashed may change again with the same stat (one tick
# of a coarse file-system clock): its bytes are hashed again until it is older than this.
RACY_SECONDS = 2


@dataclass(frozen=True)
class _Cached:
    """A file's digest, what parsing its bytes gave, and its stat when it was hashed."""

    digest: str
    result: SourceFile | Diagnostic | None
    key: tuple[int, ...] | None  # `_stat_key` just before hashing; None: never trusted
    taken: int  # wall-clock ns when hashing began

    @property
    def settled(self) -> bool:
        """Whether the stat, unchanged, vouches for the bytes (git's "racily clean" rule)."""
        if self.key is None:
            return False
        last_change = max(self.key[3], self.key[4])
        return last_change < self.taken - RACY_SECONDS * 1_000_000_000


def _stat_key(path: Path) -> tuple[int, ...] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _digest(path: Path) -> str | None:
    """The SHA-256 of the file's bytes (streamed: an oversized file is not held in memory),
    or None when it cannot be read."""
    try:
        with path.open("rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except OSError:
        return None


def load(
    root: Path,
    paths: Iterable[Path] = (),
    settings: Settings | None = None,
    cache: LoadCache | None = None,
    overlay: Mapping[Path, str] | None = None,
) -> LoadResult:
    """Parse every file; a file that fails is reported and left out, the others still load.

    overlay maps resolved file paths to text read instead of the disk (an editor's unsaved
    buffers); its paths are loaded too, like extra paths, even when not saved yet.
    """
    settings = settings or Settings()
    id_namespace = settings.id_namespace
    root = root.resolve()
    overlay = overlay or {}
    files: list[SourceFile] = []
    diagnostics: list[Diagnostic] = []
    digest = hashlib.sha256()
    found = _discovered(root, [*paths, *overlay])
    if cache is not None:
        cache.forget_missing(set(found))
    for path, shown in found.items():
        text = overlay.get(path)
        kept = cache if text is None else None  # an overlay is parsed anew, never kept
        loaded = kept.get(path, shown) if kept is not None else None
        if loaded is None:
            loaded = load_file(path, shown, _kind(shown), settings, root=root, text=text)
            if isinstance(loaded, SourceFile) and id_namespace != CANONICAL_ID_NAMESPACE:
                loaded = rebase(loaded, id_namespace)
            if kept is not None:
                kept.put(path, shown, loaded)
        if isinstance(loaded, Diagnostic):
            diagnostics.append(loaded)
            digest.update(f"{shown}\0<invalid>\0".encode())
            continue
        files.append(loaded)
        digest.update(f"{shown}\0{loaded.sha256}\0".encode())
    # Evidence blocks become assertions once every file is read: a block's relation may be
    # stated in another file.
    expanded = expand_evidence(files, id_namespace)
    if id_namespace != CANONICAL_ID_NAMESPACE:  # the IRIs served differ: so does the version
        digest.update(f"base\0{id_namespace}".encode())
    version = digest.hexdigest()[:16]
    return LoadResult(
        root, expanded.files, tuple(diagnostics), version, id_namespace, expanded.diagnostics
    )


def load_file(
    path: Path,
    shown: str,
    kind: str,
    settings: Settings,
    *,
    root: Path | None = None,
    text: str | None = None,
) -> SourceFile | Diagnostic:
    """One file, strictly: what it is (a file, not a link out of `root` or in a loop), size,
    encoding, limits, then Oxigraph's parser. Given text, that is parsed instead of the disk's."""
    refused = _not_a_project_file(path, shown, root)
    if refused is not None:
        return refused
    if text is not None:
        raw = text.encode("utf-8")
        if len(raw) > settings.max_file_bytes:
            return _too_large(shown, len(raw), settings)
    else:
        read = _read(path, shown, settings)
        if isinstance(read, Diagnostic):
            return read
        raw = read
    if raw.startswith(_BOM):
        return _error(
            shown,
            1,
            "KG-ENCODING",
            "starts with a UTF-8 byte order mark (BOM, U+FEFF), an invisible character the "
            "strict Turtle parser refuses",
            "save the file as UTF-8 without BOM (in most editors: Save with encoding → UTF-8, "
            "not 'UTF-8 with BOM'); fmt refuses the file too, it never guesses",
        )
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return _error(
            shown,
            line,
            "KG-ENCODING",
            f"is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
            "save the file as UTF-8 (in most editors: Save with encoding → UTF-8)",
        )
    base_iri = path.resolve().as_uri()
    try:
        triples = tuple(
            _to_rdflib(
                ox.parse(raw, format=ox.RdfFormat.TURTLE, base_iri=base_iri),
                # Blank nodes are local to their file: label them by the file, stably.
                hashlib.sha1(shown.encode()).hexdigest()[:8],
                settings.max_literal_bytes,
            )
        )
    except SyntaxError as exc:
        return _syntax_error(shown, exc, decoded)
    except (_LiteralTooLarge, MemoryError):
        # Oxigraph refuses single tokens over 16 MiB with MemoryError: a literal that large is
        # over our limit too.
        return _limit_error(shown, decoded, base_iri, settings, "KG-LITERAL-SIZE")
    if _nesting_depth(triples) > settings.max_nesting_depth:
        return _limit_error(shown, decoded, base_iri, settings, "KG-DEPTH")
    if not triples:
        return _error(
            shown,
            1,
            "KG-EMPTY",
            "file holds no triples",
            "delete the file, or add the statements it was meant to hold",
        )
    return SourceFile(
        path=shown,
        kind=kind,
        sha256=hashlib.sha256(raw).hexdigest(),
        triples=triples,
        location=path.resolve(),
        base_iri=base_iri,
        may_hold_evidence=may_hold_evidence(raw),
        text=text,
    )


def _read(path: Path, shown: str, settings: Settings) -> bytes | Diagnostic:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            return _not_a_file(shown, st.st_mode)
        if st.st_size > settings.max_file_bytes:
            return _too_large(shown, st.st_size, settings)
        return path.read_bytes()
    except FileNotFoundError:
        return _error(shown, 0, "KG-NO-FILE", "no such file", "check the path")
    except IsADirectoryError:
        return _not_a_file(shown, stat.S_IFDIR)
    except OSError as exc:
        return _error(shown, 0, "KG-NO-FILE", f"cannot be read: {exc.strerror}", "")


def _too_large(shown: str, size: int, settings: Settings) -> Diagnostic:
    return _error(
        shown,
        0,
        "KG-FILE-SIZE",
        f"file is {size:,} bytes, more than the {settings.max_file_bytes:,} allowed",
        "split the file by topic, or raise CLINIC_KG_MAX_FILE_BYTES",
    )


def _not_a_project_file(path: Path, shown: str, root: Path | None) -> Diagnostic | None:
    """A symlink in a loop, or (given the project's root) one leading out of the project."""
    if not path.is_symlink():
        return None
    try:
        real = path.resolve(strict=True)
    except (RuntimeError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            return None  # a dangling link: the read below reports KG-NO-FILE
        return _error(
            shown,
            0,
            "KG-SYMLINK",
            "is a symbolic link that loops (it leads back to itself)",
            f"delete the link, or point it at a Turtle file: `ls -l {shown}` shows its target",
        )
    inside_root = root is not None and _inside(Path(os.path.abspath(path)), root)
    if root is not None and inside_root and not _inside(real, root.resolve()):
        return _error(
            shown,
            0,
            "KG-SYMLINK",
            f"is a symbolic link to {real}, outside the project; it was not read",
            "copy the file into the project instead of linking to it, or delete the link",
        )
    return None


def _not_a_file(shown: str, mode: int) -> Diagnostic:
    what = "a directory" if stat.S_ISDIR(mode) else "not a regular file (a device, pipe or socket)"
    return _error(
        shown,
        0,
        "KG-NOT-A-FILE",
        f"is {what}, where a Turtle file was expected",
        "rename it so its name does not end in .ttl, or move it out of the project",
    )


class _LiteralTooLarge(Exception):
    pass


def _limit_error(shown: str, text: str, base_iri: str, settings: Settings, code: str) -> Diagnostic:
    """Locate a literal or nesting over the limit with the lexical scan, which words the message."""
    scanned = scan(
        text,
        base_iri=base_iri,
        max_literal=settings.max_literal_bytes,
        max_depth=settings.max_nesting_depth,
    )
    for p in scanned.problems:
        if p.code == code:
            return _error(shown, p.line, p.code, p.message, p.hint)
    if code == "KG-DEPTH":
        return _error(
            shown,
            0,
            code,
            f"blank nodes or lists nested deeper than {settings.max_nesting_depth} levels",
            "give deeply nested nodes IRIs of their own, or raise CLINIC_KG_MAX_NESTING_DEPTH",
        )
    return _error(
        shown,
        0,
        code,
        f"a literal is larger than the {settings.max_literal_bytes:,} bytes allowed",
        "keep long texts outside the graph, or raise CLINIC_KG_MAX_LITERAL_BYTES",
    )


def _nesting_depth(triples: tuple[Triple, ...]) -> int:
    """How deep blank nodes nest (`[ [ ] ]`); the links of one list `( … )` count once."""
    parent: dict[Node, tuple[Node, bool]] = {}
    for s, p, o in triples:
        if isinstance(o, BNode) and o not in parent:
            parent[o] = (s, p == _RDF_REST)
    if not parent:
        return 0
    depth: dict[Node, int] = {}
    deepest = 0
    for node in parent:
        chain: list[Node] = []
        current: Node = node
        while current in parent and current not in depth and len(chain) <= len(parent):
            chain.append(current)
            current = parent[current][0]
        base = depth.get(current, 1 if isinstance(current, BNode) else 0)
        for n in reversed(chain):
            base += 0 if parent[n][1] else 1
            depth[n] = base
        deepest = max(deepest, base)
    return deepest


def _to_rdflib(
    quads: Iterator[ox.Triple | ox.Quad], scope: str, max_literal: int
) -> Iterator[Triple]:
    cache: dict[object, Identifier] = {}

    def term(t: object) -> Identifier:
        hit = cache.get(t)
        if hit is not None:
            return hit
        made: Identifier
        if isinstance(t, ox.NamedNode):
            # Oxigraph has already checked the IRI strictly: skip rdflib's slower re-check.
            made = str.__new__(URIRef, t.value)
        elif isinstance(t, ox.BlankNode):
            made = str.__new__(BNode, f"f{scope}b{t.value}")
        elif isinstance(t, ox.Literal):
            value = t.value
            if len(value) * 4 > max_literal and len(value.encode("utf-8")) > max_literal:
                raise _LiteralTooLarge
            dt = t.datatype.value
            if t.language:
                made = Literal(value, lang=t.language)
            elif dt == _XSD_STRING:
                made = Literal(value)
            else:
                # Keep the lexical form as written: rdflib would rewrite "01"^^xsd:integer as
                # "1" and "1"^^xsd:boolean as "true", which are other RDF terms.
                made = Literal(value, datatype=URIRef(dt), normalize=False)
        else:  # RDF-star quoted triples are not Turtle 1.1; the parser never yields them here
            raise TypeError(f"unsupported term {t!r}")
        cache[t] = made
        return made

    for q in quads:
        yield term(q.subject), term(q.predicate), term(q.object)


def _syntax_error(shown: str, exc: SyntaxError, source: str) -> Diagnostic:
    where = _OX_START.match(str(exc))
    message = _OX_ERROR.sub("", str(exc))
    message = re.sub(r"\s*\(line \d+\)$", "", message)
    line = exc.lineno or 0
    if message == "Unexpected end":
        return _unfinished(shown, source, line)
    if message.startswith("Line jumps are not allowed in string literals"):
        return _error(
            shown,
            line,
            "KG-PARSE",
            "Turtle syntax error: a string on this line is not closed before the line ends",
            "close it with the quote it opens with (\" or '); text over several lines goes "
            'between """ and """',
        )
    if message == "Unexpected end of file" and where is not None:
        opened = _unclosed(source, int(where.group(1)), int(where.group(2)))
        if opened is not None:
            return _error(shown, int(where.group(1)), "KG-PARSE", *opened)
    undeclared = _UNDECLARED.search(message)
    if undeclared:
        prefix = undeclared.group(1)
        known = PREFIXES.get(prefix)
        hint = (
            f"add `@prefix {prefix}: <{known}> .` at the top of the file"
            if known
            else f"declare it at the top of the file (`@prefix {prefix}: <...> .`) "
            "or fix its spelling"
        )
        return _error(
            shown, line, "KG-PREFIX", f"prefix {prefix}: is used but never declared", hint
        )
    if "IRI" in message:
        return _error(
            shown,
            line,
            "KG-IRI",
            message if message.startswith("Invalid IRI") else f"invalid IRI: {message}",
            'IRIs may not contain spaces or <>"{}|^`\\ — percent-encode them '
            "or use a prefixed name",
        )
    return _error(
        shown,
        line,
        "KG-PARSE",
        f"Turtle syntax error: {message}",
        "each statement ends with ' .', pairs are separated by ';', objects by ','",
    )


def _unclosed(source: str, line: int, column: int) -> tuple[str, str] | None:
    """What the token that runs to the end of the file is (the parser says only "Unexpected
    end of file", from where it starts): a string or an IRI never closed. None: another."""
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    opening = text[column - 1 : column] if column > 0 else ""
    if opening in ('"', "'") and text[column - 1 : column + 2] == opening * 3:
        return (
            "Turtle syntax error: the long string that starts on this line is never closed",
            f"close it with {opening * 3}",
        )
    if opening in ('"', "'"):
        return (
            "Turtle syntax error: the string that starts on this line is never closed",
            f"close it with {opening} on the same line; text over several lines goes between "
            f"{opening * 3} and {opening * 3}",
        )
    if opening == "<":
        return (
            "Turtle syntax error: the IRI that starts on this line is never closed",
            "close it with '>' (an IRI is on one line, without spaces)",
        )
    return None


def _unfinished(shown: str, source: str, end_line: int) -> Diagnostic:
    """The file ends inside a statement: the parser names the end, the steward needs its start."""
    statements = scan(source).statements
    start = statements[-1].line if statements else end_line
    return _error(
        shown,
        start,
        "KG-PARSE",
        "Turtle syntax error: the file ends inside the statement that starts on this line "
        "(its final ' .' is missing)",
        "end the statement with ' .' after its last object; if a '[' or '(' in it is still "
        "open, close it first",
    )


def _error(path: str, line: int, code: str, message: str, hint: str) -> Diagnostic:
    return Diagnostic(path, line, Severity.ERROR, code, message, hint=hint)
