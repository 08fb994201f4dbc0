"""Tool side effects and the task board's queries in Firestore.

The board's rules live in ``cloudswarm.core.board``; ``effect`` carries one out for a tool call,
exactly once per tool_use id (``FirestoreExecutor.run_effect``: the marker
``effects/{tool_use_id}`` and the rule's writes commit in one transaction, and a replay returns
the stored result), and ``apply`` for a human's request, whose refusal is raised as its error.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core import documents
from cloudswarm.core.decisions import Decision, Rule
from cloudswarm.core.documents import task_view
from cloudswarm.core.records import EffectResult
from cloudswarm.core.shapes import TaskDoc
from cloudswarm.gcp.executor import firestore_fields
from cloudswarm.gcp.fs import translated


def message_doc(sender: str, to: str, body: str, kind: str = "message", **extra: Any) -> dict:
    """``core.documents.message_doc`` for writers that use the client directly (the bench's
    fixtures, the service's operator messages)."""
    return firestore_fields(documents.message_doc(sender, to, body, kind, **extra))


class EffectStore:
    """Mixin over ``self.p`` (Paths), ``self.db`` and ``self.executor``."""

    def effect(self, sid: str, tool_use_id: str, tool: str, rule: Rule) -> EffectResult:
        """A core rule as a tool call's effect, once per tool_use id (see core/decisions.py)."""
        return self.executor.run_effect(sid, tool_use_id, tool, rule)

    def apply(self, rule: Rule, *, what: str) -> Decision:
        """A core rule in a transaction of its own, for a human's request: no effect marker
        (nothing replays it), and a refusal raises as its error, keeping its HTTP status. The
        caller rings the decision's ``ring``."""
        return self.executor.run(rule, what=what).decision()

    def list_tasks(
        self, sid: str, *, status: str | None, owner: str | None, limit: int
    ) -> list[TaskDoc]:
        q = self.p.tasks(sid)
        if status:
            q = q.where(filter=FieldFilter("status", "==", status))
        if owner:
            q = q.where(filter=FieldFilter("owner", "==", owner))
        q = q.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        with translated("list tasks"):
            return [task_view(s.id, s.to_dict()) for s in q.stream()]

    def count_tasks(self, sid: str) -> dict[str, int]:
        sw = self.get_swarm(sid)
        return {"total": sw.get("task_count", 0), "done": sw.get("tasks_done", 0)}
