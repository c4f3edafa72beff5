"""Enums that name kinds of entity and fact in arguments; each stands for ontology classes and
every class below them, as the registry of the version being served says."""

from __future__ import annotations

from enum import Enum
from typing import cast

import strawberry

from server.store.protocol import Store


@strawberry.enum(description="Kinds of entity, for filtering `search`.")
class NodeType(Enum):
    # Each value names ontology classes; a member stands for them and every class below them, as
    # the ontology of the version being served says (server/model/registry.py).
    CONDITION = strawberry.enum_value(("Condition",), description="Conditions.")
    SYMPTOM = strawberry.enum_value(("Symptom",), description="Signs and symptoms.")
    CAUSE = strawberry.enum_value(("Cause",), description="Causes of conditions.")
    RISK_FACTOR = strawberry.enum_value(("RiskFactor",), description="Risk factors.")
    TREATMENT = strawberry.enum_value(
        ("Treatment",),
        description="Every kind of treatment: therapies, drugs, drug classes and surgical "
        "procedures.",
    )
    THERAPY = strawberry.enum_value(
        ("Therapy",), description="Therapies and procedures of every kind (not drugs)."
    )
    DRUG = strawberry.enum_value(("Drug",), description="Single drugs (brand names included).")
    DRUG_CLASS = strawberry.enum_value(("DrugClass",), description="Drug classes.")
    SURGICAL_PROCEDURE = strawberry.enum_value(
        ("SurgicalProcedure",), description="Surgical procedures."
    )
    DIAGNOSTIC_METHOD = strawberry.enum_value(
        ("DiagnosticMethod",), description="Tests and examinations."
    )
    CLINIC = strawberry.enum_value(("Clinic", "Spa"), description="Clinics and their departments.")
    SOURCE = strawberry.enum_value(("Source", "Curator"), description="Sources.")
    FACT = strawberry.enum_value(("Fact",), description="Statistics and qualitative claims.")


def classes_of(node_type: NodeType) -> tuple[str, ...]:
    """The ontology classes a NodeType stands for (the enum's values, typed)."""
    return cast(tuple[str, ...], node_type.value)


def kinds_of(store: Store, *node_types: NodeType) -> frozenset[str]:
    """Every kind of entity the NodeTypes cover in this version's ontology."""
    return store.registry.kinds_under(c for t in node_types for c in classes_of(t))


@strawberry.enum(description="Kinds of fact, for filtering `facts`.")
class FactKind(Enum):
    STATISTIC = strawberry.enum_value(
        "Statistic", description="Numeric facts: proportions, counts, relative changes."
    )
    QUALITATIVE_CLAIM = strawberry.enum_value(
        "QualitativeClaim", description="Facts without a number (a sentence)."
    )
