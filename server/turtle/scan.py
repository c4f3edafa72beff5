"""A fast lexical pass over a Turtle file, before the real parser sees it.

It finds what a parser does not tell us: the line where each subject's description starts, the
comments (rdflib and Oxigraph drop them), and the declared prefixes. It also enforces the size
limits (literal length, nesting depth) so a hostile file is refused before it is parsed. The
parser (Oxigraph) stays the authority on syntax; this pass never accepts what it rejects.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from urllib.parse import urljoin

# A long string first, then a short one, so `"""` is never read as an empty string plus `"`.
# Dots inside a prefixed name (`ckg:a..b`) belong to it; only a dot ending one ends a statement.
_TOKEN = re.compile(
    r'''(?P<lstr>"""(?:[^"\\]+|\\.|"(?!""))*"""|\'\'\'(?:[^'\\]+|\\.|'(?!\'\'))*\'\'\')'''
    r"""|(?P<str>"(?:[^"\\\n\r]+|\\.)*"|'(?:[^'\\\n\r]+|\\.)*')"""
    r"|(?P<iri><[^>\n]*>)"
    r"|(?P<comment>\#[^\r\n]*)"
    r"|(?P<open>[\[(])"
    r"|(?P<close>[\])])"
    r"|(?P<dot>\.(?!\.*[^\s\[\]()\";,<#'.]))"
    r"|(?P<punct>[;,])"
    r"|(?P<word>(?:[^\s\[\]()\";,<#'.\\]|\\.|\.+(?=[^\s\[\]()\";,<#'.]))+)"
    r"|(?P<other>\S)",
    re.DOTALL,
)
_PN_ESCAPE = re.compile(r"\\(.)")
# Tokens in a directive, keyword and final dot included: `@prefix p: <iri> .`, `PREFIX p: <iri>`.
_DIRECTIVE_LENGTH = {"@prefix": 4, "@base": 3, "prefix": 3, "base": 2}


@dataclass(frozen=True)
class Statement:
    """A top-level statement: the line it starts on and its subject IRI (None for blank nodes)."""

    line: int
    subject: str | None


@dataclass(frozen=True)
class Comment:
    """A `#` comment: its line, its text, whether it stands on a line of its own, and whether it
    sits inside a statement (between a subject and its final dot) rather than between statements."""

    line: int
    text: str
    standalone: bool
    inside: bool = False


@dataclass(frozen=True)
class ScanProblem:
    line: int
    code: str
    message: str
    hint: str


@dataclass(frozen=True)
class ScanResult:
    statements: tuple[Statement, ...]
    prefixes: tuple[tuple[str, str], ...]
    comments: tuple[Comment, ...]
    problems: tuple[ScanProblem, ...]
    # Lines of IRIs written relative (`<foo>`) with no `@base` before them: resolved against
    # the file's own location, which names the machine's folders.
    relative_iris: tuple[int, ...] = ()

    def first_line_of(self) -> dict[str, int]:
        """Subject IRI -> line where its first description in this file starts."""
        lines: dict[str, int] = {}
        for st in self.statements:
            if st.subject is not None and st.subject not in lines:
                lines[st.subject] = st.line
        return lines


class _Lines:
    def __init__(self, text: str) -> None:
        self._starts = [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect_right(self._starts, offset) + 1


def scan(
    text: str, *, base_iri: str = "", max_literal: int = 1 << 20, max_depth: int = 32
) -> ScanResult:
    """Scan Turtle text; never raises on bad input (the parser reports syntax errors)."""
    lines = _Lines(text)
    statements: list[Statement] = []
    comments: list[Comment] = []
    problems: list[ScanProblem] = []
    prefixes: dict[str, str] = {}
    base = base_iri
    depth = 0
    at_start = True  # the next token begins a statement
    directive: list[str] | None = None  # tokens of a @prefix / PREFIX / @base / BASE directive
    last_token_end_line = 0
    relative: list[int] = []
    declared_base = False

    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "comment":
            line = lines.line(m.start())
            inside = not at_start or directive is not None
            comments.append(Comment(line, tok, last_token_end_line != line, inside))
            continue
        last_token_end_line = lines.line(m.end())
        if kind in ("str", "lstr"):
            size = len(tok.encode("utf-8", "surrogatepass")) - (6 if kind == "lstr" else 2)
            if size > max_literal:
                problems.append(
                    ScanProblem(
                        lines.line(m.start()),
                        "KG-LITERAL-SIZE",
                        f"a literal of {size:,} bytes is larger than the {max_literal:,} allowed",
                        "keep long texts outside the graph, or raise CLINIC_KG_MAX_LITERAL_BYTES",
                    )
                )
                break
        if kind == "iri" and not declared_base and not _SCHEME.match(_unescape(tok[1:-1])):
            relative.append(lines.line(m.start()))
        if directive is not None:
            directive.append(tok)
            if len(directive) >= _DIRECTIVE_LENGTH[directive[0]]:
                declared_base = declared_base or directive[0] in ("@base", "base")
                base = _apply_directive(directive, prefixes, base)
                directive = None
                at_start = True
            continue
        if kind == "open":
            if at_start:
                statements.append(Statement(lines.line(m.start()), None))
                at_start = False
            depth += 1
            if depth > max_depth:
                problems.append(
                    ScanProblem(
                        lines.line(m.start()),
                        "KG-DEPTH",
                        f"blank nodes or lists nested deeper than {max_depth} levels",
                        "give deeply nested nodes IRIs of their own, "
                        "or raise CLINIC_KG_MAX_NESTING_DEPTH",
                    )
                )
                break
            continue
        if kind == "close":
            depth = max(0, depth - 1)
            continue
        if kind == "dot" and depth == 0:
            at_start = True
            continue
        if at_start:
            at_start = False
            lowered = tok.lower()
            if kind == "word" and lowered in ("@prefix", "@base", "prefix", "base"):
                directive = [lowered]
                continue
            statements.append(Statement(lines.line(m.start()), _resolve(kind, tok, prefixes, base)))

    return ScanResult(
        tuple(statements),
        tuple(prefixes.items()),
        tuple(comments),
        tuple(problems),
        tuple(dict.fromkeys(relative)),
    )


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _unescape(written: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), written)


def _iri(written: str, base: str) -> str:
    """An IRIREF's text (between < and >) unescaped and resolved against base (RFC 3986)."""
    iri = _unescape(written)
    if not base or _SCHEME.match(iri):
        return iri  # absolute: urljoin would drop an empty fragment (`ns#` -> `ns`)
    joined = urljoin(base, iri)
    return joined + "#" if iri.endswith("#") and not joined.endswith("#") else joined


def _apply_directive(tokens: list[str], prefixes: dict[str, str], base: str) -> str:
    head = tokens[0]
    try:
        if head in ("@prefix", "prefix"):
            name, iri = tokens[1], tokens[2]
            if name.endswith(":") and iri.startswith("<"):
                prefixes[name[:-1]] = _iri(iri[1:-1], base)
        elif tokens[1].startswith("<"):
            return _iri(tokens[1][1:-1], base)
    except IndexError:
        pass
    return base


def _resolve(kind: str | None, tok: str, prefixes: dict[str, str], base: str) -> str | None:
    if kind == "iri":
        return _iri(tok[1:-1], base)
    if kind == "word" and ":" in tok and not tok.startswith("_:"):
        prefix, _, local = tok.partition(":")
        ns = prefixes.get(prefix)
        if ns is not None:
            return ns + _PN_ESCAPE.sub(r"\1", local)
    return None
