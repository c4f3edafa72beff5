"""Automatic persisted queries (the protocol of Apollo Client's persisted-query link) and the
safelist of reviewed operations.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": …}` without `query`;
a known hash runs its query, an unknown one answers `PersistedQueryNotFound`
(`PERSISTED_QUERY_NOT_FOUND`), and the client sends the query with its hash once, which
registers it. Hashes resolve to the very text that was registered, so a hash-only request and
the full one share a response cache entry and an ETag.

The safelist is a folder of `.graphql` files, parsed and validated against the schema at
start-up (a bad file stops the server with file:line:column). Apollo hashes `print(document)`
after its cache added `__typename` to every selection set, so each file is registered under the
hash of its graphql-js printing with and without those `__typename`s (graphql-core's `print_ast`
prints as graphql-js does). With `safelist_only`, nothing else runs, and nothing new registers.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from server.http.media import GRAPHQL_RESPONSE
from server.http.response_cache import LRUCache
from server.settings import Settings

VERSION = 1
_HASH = re.compile(r"[0-9a-fA-F]{64}")
_TYPENAME = FieldNode(name=NameNode(value="__typename"), directives=(), arguments=())


class PersistedQueryError(Exception):
    """A request refused by the persisted-query protocol or the safelist, before execution.

    `well_formed` errors follow the endpoint's rule for requests that were not executed (400 for
    `application/graphql-response+json`, 200 for `application/json`); the others (a bad hash, an
    unsupported version) are malformed requests, 400 for both."""

    def __init__(self, message: str, code: str, *, well_formed: bool = True) -> None:
        super().__init__(message)
        self.message, self.code, self.well_formed = message, code, well_formed

    def status(self, media: str | None) -> int:
        return 400 if media == GRAPHQL_RESPONSE or not self.well_formed else 200


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _AddTypename(Visitor):
    """Apollo Client's `addTypenameToDocument`: `__typename` at the end of every selection set
    except an operation's own, and except sets that already select it (or any `__` field)."""

    def enter_selection_set(
        self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any
    ) -> SelectionSetNode | None:
        if isinstance(parent, OperationDefinitionNode):
            return None
        fields = [s for s in node.selections if isinstance(s, FieldNode)]
        if any(f.name.value.startswith("__") for f in fields):
            return None
        if isinstance(parent, FieldNode) and any(
            d.name.value == "export" for d in parent.directives or ()
        ):
            return None
        return SelectionSetNode(selections=(*node.selections, _TYPENAME))


def printings(document: DocumentNode) -> tuple[str, ...]:
    """The texts a client may send for `document`: as printed, and as Apollo Client prints it
    after adding `__typename`s."""
    printed = print_ast(document)
    with_typename = print_ast(visit(document, _AddTypename()))
    return (printed,) if with_typename == printed else (printed, with_typename)


@dataclass(frozen=True)
class SafelistProblem:
    """Why one safelist file cannot be served, and where."""

    path: str
    line: int
    column: int
    message: str

    def render(self) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        return f"{where}: error KG-SAFELIST — {self.message}"


class SafelistError(Exception):
    """The safelist folder holds operations that cannot be served."""

    def __init__(self, problems: list[SafelistProblem]) -> None:
        super().__init__("\n".join(p.render() for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Safelist:
    """Reviewed operations: the text to run for each hash, and every accepted printing."""

    by_hash: Mapping[str, str]
    texts: frozenset[str]
    files: int

    def allows(self, query: str) -> bool:
        """Whether `query` is one of the operations, as printed or as written."""
        if query in self.texts or sha256(query) in self.by_hash:
            return True
        try:
            return print_ast(parse(query)) in self.texts
        except GraphQLError:
            return False


def load_safelist(folder: Path, schema: GraphQLSchema) -> Safelist:
    """Parse and validate every `*.graphql` under `folder`; `SafelistError` lists what is wrong."""
    problems: list[SafelistProblem] = []
    if not folder.is_dir():
        shown = str(folder)
        raise SafelistError([SafelistProblem(shown, 0, 0, "safelist_dir is not a folder")])
    by_hash: dict[str, str] = {}
    texts: set[str] = set()
    files = sorted(folder.rglob("*.graphql"))
    for path in files:
        shown = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            document = parse(text)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(SafelistProblem(shown, 0, 0, f"cannot read the file: {exc}"))
            continue
        except GraphQLError as exc:
            problems.extend(_problems(shown, [exc]))
            continue
        if not any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
            problems.append(SafelistProblem(shown, 1, 1, "the file holds no operation"))
            continue
        errors = validate(schema, document)
        if errors:
            problems.extend(_problems(shown, errors))
            continue
        for printed in printings(document):
            by_hash[sha256(printed)] = printed
            texts.add(printed)
        texts.add(text)
    if not files:
        problems.append(SafelistProblem(str(folder), 0, 0, "no .graphql file in safelist_dir"))
    if problems:
        raise SafelistError(problems)
    return Safelist(by_hash, frozenset(texts), len(files))


def _problems(path: str, errors: list[GraphQLError]) -> list[SafelistProblem]:
    found = []
    for error in errors:
        where = error.locations[0] if error.locations else None
        line, column = (where.line, where.column) if where else (1, 1)
        found.append(SafelistProblem(path, line, column, error.message))
    return found


def check_settings(settings: Settings, schema: GraphQLSchema) -> list[SafelistProblem]:
    """What would stop `PersistedQueries(settings, schema)`: for `clinic-kg serve` to print."""
    try:
        PersistedQueries(settings, schema)
    except SafelistError as exc:
        return exc.problems
    return []


class PersistedQueries:
    """Resolves a request's query text from its `extensions.persistedQuery` and the safelist.

    Registered hashes live in a least-recently-used store of `persisted_queries_bytes`, per
    process; used from the event loop only, like the response cache."""

    def __init__(self, settings: Settings, schema: GraphQLSchema) -> None:
        self.only = settings.safelist_only
        limit = settings.persisted_queries_bytes
        self.store: LRUCache[str, str] = LRUCache(
            sys.maxsize, max_bytes=limit, max_entry_bytes=limit
        )
        self.safelist: Safelist | None = None
        if settings.safelist_dir:
            self.safelist = load_safelist(Path(settings.safelist_dir), schema)
        elif self.only:
            message = "safelist_only is on but safelist_dir is empty: nothing could be served"
            raise SafelistError([SafelistProblem("CLINIC_KG_SAFELIST_DIR", 0, 0, message)])

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str:
        """The query text to execute, or `PersistedQueryError`."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            if query is None:
                raise PersistedQueryError(
                    "missing `query`: send the query, or its hash in `extensions.persistedQuery`",
                    "BAD_REQUEST",
                    well_formed=False,
                )
            self.check_safelisted(query)
            return query
        digest = _hash(persisted)
        if query is None:
            known = self.lookup(digest)
            if known is not None:
                return known
            if self.only:
                raise _not_in_safelist()
            # The exact message and code Apollo Client's link retries on (with the query).
            raise PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        if sha256(query) != digest:
            raise PersistedQueryError(
                "provided sha256Hash does not match the query: the hash is the SHA-256 of the "
                "query text, in lowercase hex",
                "PERSISTED_QUERY_HASH_MISMATCH",
                well_formed=False,
            )
        self.check_safelisted(query)
        if not self.only:
            self.store.put(digest, query)
        return query

    def lookup(self, digest: str) -> str | None:
        if self.safelist is not None and digest in self.safelist.by_hash:
            return self.safelist.by_hash[digest]
        return None if self.only else self.store.get(digest)

    def check_safelisted(self, query: str) -> None:
        if self.only and (self.safelist is None or not self.safelist.allows(query)):
            raise _not_in_safelist()


def _hash(persisted: Any) -> str:
    if not isinstance(persisted, dict):
        raise PersistedQueryError(
            "`extensions.persistedQuery` must be an object {version, sha256Hash}",
            "BAD_REQUEST",
            well_formed=False,
        )
    if persisted.get("version") != VERSION:
        raise PersistedQueryError(
            f"unsupported persisted query version {persisted.get('version')!r}: "
            f"this server speaks version {VERSION}",
            "PERSISTED_QUERY_VERSION_NOT_SUPPORTED",
            well_formed=False,
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise PersistedQueryError(
            "`extensions.persistedQuery.sha256Hash` must be 64 hex digits (SHA-256)",
            "BAD_REQUEST",
            well_formed=False,
        )
    return digest.lower()


def _not_in_safelist() -> PersistedQueryError:
    return PersistedQueryError(
        "this server runs only the operations of its safelist, and this is not one of them",
        "OPERATION_NOT_IN_SAFELIST",
    )
