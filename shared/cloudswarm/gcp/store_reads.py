"""Reads the API answers with that the turn never needs: approvals, a task, the switch's audit."""

from __future__ import annotations

from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.errors import NotFound
from cloudswarm.gcp.fs import Paths, translated


class ReadStore:
    p: Paths

    def get_task(self, sid: str, tid: str) -> dict[str, Any]:
        """One task with its id; NotFound if the swarm has no such task."""
        with translated("get task"):
            snap = self.p.task(sid, tid).get()
        if not snap.exists:
            raise NotFound(f"task {tid} does not exist in swarm {sid}")
        return {"id": tid, **snap.to_dict()}

    def list_approvals(self, sid: str, *, status: str | None, limit: int) -> list[dict[str, Any]]:
        """Approval requests with their ids, newest first, optionally of one status."""
        query = self.p.approvals(sid)
        if status:
            query = query.where(filter=FieldFilter("status", "==", status))
        query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        with translated("list approvals"):
            return [{"id": s.id, **s.to_dict()} for s in query.stream()]

    def kill_switch_audit(self, limit: int) -> list[dict[str, Any]]:
        """The kill switch's most recent changes, newest first."""
        audit = (
            self.p.kill_switch()
            .collection("audit")
            .order_by("at", direction=firestore.Query.DESCENDING)
            .limit(limit)
        )
        with translated("read kill switch audit"):
            return [s.to_dict() for s in audit.stream()]
