"""Start a new clinic page: its text copy and a page file with one commented example of every kind
of statement (`clinic-kg new page`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from rdflib import Literal, URIRef
from rdflib.namespace import RDF, SKOS

from server.load.loader import load
from server.rdf.namespaces import CANONICAL_ID_NAMESPACE, CKG, SCHEMA
from server.turtle.terms import PrefixMap
from server.turtle.writer import TurtleWriter

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG = 100
PLACEHOLDER = "TODO-"
_UNSAFE_IRI = re.compile(r'[\s<>"{}|^`\\]')


class ScaffoldError(ValueError):
    """Why the page cannot be started (a usage error: nothing was written)."""


@dataclass(frozen=True)
class NewPage:
    """What `new page` wrote, relative to the project root, and what the steward does next."""

    slug: str
    page_file: str
    text_file: str
    condition: str
    condition_exists: bool

    def next_steps(self) -> tuple[str, ...]:
        steps = [
            f"fill in {self.page_file}: uncomment one example per statement the page makes and "
            f"replace every {PLACEHOLDER}… marker (quotes verbatim from {self.text_file})",
        ]
        if not self.condition_exists:
            steps.append(
                f"describe the condition kg:{self.condition} in "
                f"kg/conditions/{self.condition}.ttl (the example under 'the condition')"
            )
        steps += [
            "describe new symptoms, causes, treatments… in their topic files, as the examples say",
            f"clinic-kg fmt {self.page_file}",
            "clinic-kg validate",
            f"clinic-kg serve --watch, then open /id/{self.slug} and query page facts in GraphQL",
        ]
        return tuple(steps)


def new_page(
    root: Path, slug: str, url: str, title: str, text_file: Path, condition: str | None = None
) -> NewPage:
    """Write kg/sources/<slug>.txt and kg/pages/<slug>.ttl; refuse (ScaffoldError) bad arguments
    and existing files, writing nothing."""
    _check_slug(slug, "page slug")
    if condition is not None:
        _check_slug(condition, "--condition")
    _check_url(url)
    title = title.strip()
    if not title or "\n" in title or "\r" in title:
        raise ScaffoldError("--title must be one non-empty line (the page's title)")
    text = _read_text(text_file)
    page_rel, text_rel = f"kg/pages/{slug}.ttl", f"kg/sources/{slug}.txt"
    for rel in (page_rel, text_rel):
        if (root / rel).exists():
            raise ScaffoldError(f"{rel} already exists; new page never overwrites a file")
    subjects, conditions = _described(root)
    if _iri(slug) in subjects:
        raise ScaffoldError(
            f"kg:{slug} already names something in the graph; choose another slug "
            f"(such as {slug}-page)"
        )
    if condition is not None and _iri(condition) in subjects and _iri(condition) not in conditions:
        raise ScaffoldError(f"--condition kg:{condition} is in the graph but is not a condition")
    target = condition or f"{PLACEHOLDER}condition"
    page = _render(slug, url, title, target)
    (root / "kg" / "sources").mkdir(parents=True, exist_ok=True)
    (root / "kg" / "pages").mkdir(parents=True, exist_ok=True)
    # "x": never replace a file that appeared since the check above.
    with open(root / text_rel, "x", encoding="utf-8", newline="\n") as out:
        out.write(text)
    with open(root / page_rel, "x", encoding="utf-8", newline="\n") as out:
        out.write(page)
    exists = condition is not None and _iri(condition) in conditions
    return NewPage(slug, page_rel, text_rel, target, exists)


def _iri(slug: str) -> str:
    return CANONICAL_ID_NAMESPACE + slug


def _check_slug(value: str, what: str) -> None:
    if len(value) > MAX_SLUG or not SLUG.fullmatch(value):
        raise ScaffoldError(
            f"{what} {value!r} is not a slug: lowercase letters, digits and single hyphens, "
            f"at most {MAX_SLUG} characters (such as sciatica-page)"
        )


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or _UNSAFE_IRI.search(url):
        raise ScaffoldError(
            f"--url {url!r} is not the page's address: give an absolute http(s) URL without "
            'spaces or <>"{}|^`\\ (percent-encode them)'
        )


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScaffoldError(f"--text {path}: cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScaffoldError(
            f"--text {path}: is not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8"
        ) from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ScaffoldError(f"--text {path}: is empty; give the page's text")
    return text if text.endswith("\n") else text + "\n"


def _described(root: Path) -> tuple[set[str], set[str]]:
    """Subjects the project's kg/ files describe, and its conditions (as written in the files)."""
    subjects: set[str] = set()
    conditions: set[str] = set()
    for f in load(root).files:
        if f.kind != "kg":
            continue
        for s, p, o in f.triples:
            subjects.add(str(s))
            if p == RDF.type and o == CKG.Condition:
                conditions.add(str(s))
    return subjects, conditions


def _render(slug: str, url: str, title: str, condition: str) -> str:
    page = URIRef(_iri(slug))
    triples = [
        (page, RDF.type, CKG.WebPage),
        (page, SKOS.prefLabel, Literal(title, lang="en")),
        (page, SCHEMA.url, URIRef(url)),
        (page, CKG.localCopy, Literal(f"sources/{slug}.txt")),
        (page, CKG.publisher, URIRef(_iri("clinic"))),
    ]
    # Written as fmt writes it, so the file's one real statement is canonical from the start.
    [statement] = TurtleWriter(triples, PrefixMap()).statements()
    template = (
        resources.files("server.steward").joinpath("templates", "page.ttl").read_text("utf-8")
    )
    return Template(template).substitute(
        slug=slug, title=title, condition=condition, page=statement.text
    )
