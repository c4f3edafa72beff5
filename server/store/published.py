"""Where a published dataset lives in a SPARQL 1.1 store: the contract `publish` writes and the
SPARQL-backed Store reads.

- Version `v` (the 16-hex `Snapshot.version`) is ONE named graph `<{base}dataset/version/{v}>`
  holding exactly the validated dataset triples as `clinic-kg export` writes them with the ontology
  (no shapes), with the served IRIs (`<{base}id/<slug>>`).
- The named graph `<{base}dataset/current>` (the pointer graph) holds exactly one
  `<{base}dataset> ckg:currentVersion <{base}dataset/version/{v}>` triple, plus, per published
  version, `<{base}dataset/version/{v}> dcterms:created "…"^^xsd:dateTime` (so versions can be
  ordered for pruning). The pointer graph is replaced in one operation, only after the version graph
  is uploaded and verified.

`ckg:currentVersion` is not declared in ontology/: it is store bookkeeping, not knowledge, and
lives only in the pointer graph.
"""

from __future__ import annotations

import re

from server.rdf.namespaces import CKG, DCTERMS

CURRENT_VERSION = str(CKG) + "currentVersion"
CREATED = str(DCTERMS) + "created"

_VERSION = re.compile(r"[0-9a-f]{16}")


def dataset_iri(base_iri: str) -> str:
    """The subject of the pointer triple: `<base>dataset`."""
    return f"{base_iri}dataset"


def version_graph(base_iri: str, version: str) -> str:
    """The named graph holding dataset version `version`."""
    return f"{base_iri}dataset/version/{version}"


def pointer_graph(base_iri: str) -> str:
    """The named graph naming the current version (and when each version was published)."""
    return f"{base_iri}dataset/current"


def version_of(graph_iri: str, base_iri: str) -> str | None:
    """The version a version graph IRI names, or None when it is not one under `base_iri`."""
    prefix = version_graph(base_iri, "")
    if not graph_iri.startswith(prefix):
        return None
    version = graph_iri[len(prefix) :]
    return version if _VERSION.fullmatch(version) else None
