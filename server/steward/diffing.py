"""`clinic-kg diff`'s comparison, as the steward tools use it.

The diff itself is the graph-diff core in server/diff/graph_diff.py, shared with the change feed
(GraphQL `changes`, `GET /changes`); server/steward/revisions.py reads its sides from files,
folders and git revisions. These names are the steward tools' entry point to it.
"""

from __future__ import annotations

from server.diff.graph_diff import (
    BLANK_NODES,
    GraphDiff,
    Side,
    Status,
    SubjectDiff,
    ValueChange,
    diff_sides,
)

__all__ = ["BLANK_NODES", "GraphDiff", "Side", "Status", "SubjectDiff", "ValueChange", "diff_sides"]
