"""The indexes a snapshot derives from its entities' links and its facts' subjects (who refers
to an entity, the facts about it, the ids by IRI), built from every record or patched for the
records a reload read again (server/store/snapshot.py `patch_snapshot`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

from server.model.records import Entity, Fact, Relation
from server.model.registry import BROADER
from server.store.grouping import copied, patch_groups, resorted, spliced
from server.store.label_index import label_order


def patched_iris(
    by_iri: Mapping[str, str],
    gone: Iterable[Entity | Relation],
    entities: Mapping[str, Entity],
    relations: Mapping[str, Relation],
    came: Mapping[str, Entity],
    came_r: Mapping[str, Relation],
) -> Mapping[str, str]:
    """`by_iri` without the IRIs of the records gone and with those of the records come."""
    patched = copied(by_iri)
    gone = list(gone)
    for r in gone:
        if patched.get(r.iri) == r.id:
            del patched[r.iri]
    patched.update((e.iri, e.id) for e in came.values())
    patched.update((r.iri, r.id) for r in came_r.values())
    for r in gone:  # an IRI another record with the same id still has
        if r.iri not in patched:
            for table in (relations, entities):
                kept = table.get(r.id)
                if kept is not None and kept.iri == r.iri:
                    patched[r.iri] = r.id
                    break
    return MappingProxyType(patched)


def patched_referrers(
    referrers: Mapping[str, tuple[tuple[str, str], ...]],
    gone: Mapping[str, Entity],
    came: Mapping[str, Entity],
    entities: Mapping[str, Entity],
) -> Mapping[str, tuple[tuple[str, str], ...]]:
    """`_referrers` patched: the links of the entities gone left out, those come put in place."""
    touched = {t for e in (*gone.values(), *came.values()) for _, ts in _links(e) for t in ts}
    dropped = gone.keys() | came.keys()
    ordered = sorted(came.values(), key=label_order)

    def remake(t: str, had: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        blocks = [
            (label_order(e), [(e.id, p) for p, ts in _links(e) for x in ts if x == t])
            for e in ordered
        ]
        return spliced(
            had,
            dropped,
            lambda x: x[0],
            [(k, b) for k, b in blocks if b],
            lambda x: label_order(entities[x[0]]),
        )

    return patch_groups(referrers, touched, remake)


def patched_facts_about(
    about: Mapping[str, tuple[Fact, ...]],
    old_relations: Mapping[str, Relation],
    relations: Mapping[str, Relation],
    gone: Mapping[str, Entity],
    came: Mapping[str, Entity],
    gone_r: Mapping[str, Relation],
    came_r: Mapping[str, Relation],
) -> Mapping[str, tuple[Fact, ...]]:
    """`_facts_about` patched for the facts changed and those about a relation changed."""
    was = {i: e for i, e in gone.items() if isinstance(e, Fact)}
    now = {i: e for i, e in came.items() if isinstance(e, Fact)}
    for rid in gone_r.keys() | came_r.keys():
        for f in about.get(rid, ()):
            if f.id not in gone and f.id not in came:  # unchanged, its keys may not be
                was[f.id] = now[f.id] = f
    was_keys = {i: _about_keys(f, old_relations) for i, f in was.items()}
    now_keys = {i: _about_keys(f, relations) for i, f in now.items()}
    touched = {k for keys in (*was_keys.values(), *now_keys.values()) for k in keys}
    return patch_groups(
        about,
        touched,
        lambda k, had: resorted(
            had,
            [was[i] for i, keys in was_keys.items() if k in keys],
            [now[i] for i, keys in now_keys.items() if k in keys],
            label_order,
        ),
    )


def referrers(entities: Sequence[Entity]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e in entities:
        for predicate, targets in _links(e):
            for target in targets:
                found[target].append((e.id, predicate))
    return found


def _links(e: Entity) -> list[tuple[str, tuple[str, ...]]]:
    return [*e.links, (BROADER, e.broader)]


def facts_about(
    entities: Sequence[Entity], relations: Mapping[str, Relation]
) -> dict[str, list[Fact]]:
    """A fact about a relation is also about both ends of it (fibrosis, and the condition)."""
    found: dict[str, list[Fact]] = defaultdict(list)
    for e in entities:
        if isinstance(e, Fact):
            for key in _about_keys(e, relations):
                found[key].append(e)
    return found


def _about_keys(fact: Fact, relations: Mapping[str, Relation]) -> dict[str, None]:
    keys: dict[str, None] = dict.fromkeys(fact.about)
    for rid in fact.about_relations:
        keys[rid] = None
        rel = relations.get(rid)
        if rel:
            keys[rel.subject] = None
            keys[rel.object] = None
    return keys
