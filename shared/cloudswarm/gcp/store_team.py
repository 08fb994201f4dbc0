"""Team-level operations in Firestore: spawning teammates, approvals, finishing the swarm.

The rules are in ``cloudswarm.core.team``; the tools run them once per tool_use id through
``store.effect``, the API through these methods.
"""

from __future__ import annotations

from typing import Any

from cloudswarm.core import decisions, paths, team
from cloudswarm.gcp.fs import now, translated


class TeamStore:
    """Mixin over ``self.executor`` (and ``self.apply``, see ``FirestoreStore``)."""

    def decide_approval(
        self, sid: str, approval_id: str, *, approve: bool, actor: str, comment: str = ""
    ) -> dict[str, Any]:
        """A human's decision: recorded once, and delivered to the agent's inbox."""
        rule = team.decide_approval(
            sid, approval_id, approve=approve, actor=actor, comment=comment, at=now()
        )
        return dict(self.apply(rule, what="decide approval").result)

    # -- team templates an admin created (core/templates.py) --------------------------------

    def put_template(self, doc: dict[str, Any], actor: str) -> None:
        """Create or replace the template ``doc["name"]`` (already checked)."""
        fields = {**doc, "created_by": actor, "updated_at": decisions.SERVER_TIME}
        write = decisions.set_doc(paths.template(doc["name"]), fields)
        self.executor.write([write], what="put template")

    def get_template(self, name: str) -> dict[str, Any] | None:
        found = self.executor.get(paths.template(name))
        return dict(found) if found is not None else None

    def list_templates(self, limit: int = 100) -> list[dict[str, Any]]:
        with translated("list templates"):
            snaps = self.db.collection("templates").limit(limit).stream()
            return [s.to_dict() for s in snaps]
