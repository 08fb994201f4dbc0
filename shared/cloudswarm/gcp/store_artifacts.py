"""The shared workspace's index in Firestore; contents live in GCS, content-addressed."""

from __future__ import annotations

import hashlib

from google.cloud.firestore_v1.base_query import FieldFilter

from cloudswarm.core.records import EffectResult
from cloudswarm.errors import Conflict, NotFound
from cloudswarm.gcp.fs import now, translated
from cloudswarm.gcp.store_swarm import event_doc


def artifact_key(path: str) -> str:
    return hashlib.sha1(path.encode()).hexdigest()


class ArtifactStore:
    """Mixin over ``self.p`` (Paths) and ``self.db``."""

    def write_artifact_body(
        self, sid: str, actor: str, path: str, obj: str, size: int, expected_version: int | None
    ):
        def run(txn) -> EffectResult:
            ref = self.p.artifacts(sid).document(artifact_key(path))
            snap = ref.get(transaction=txn)
            current = snap.get("version") if snap.exists else 0
            if expected_version is None and snap.exists:
                raise Conflict(
                    f"{path} already exists at version {current} (last written by "
                    f"{snap.get('updated_by')}); read it and pass expected_version={current} "
                    "to replace it",
                    code="exists",
                )
            if expected_version is not None and expected_version != current:
                raise Conflict(
                    f"{path} is at version {current}, not {expected_version}: someone else wrote "
                    "it meanwhile; read it again and merge",
                    code="version_conflict",
                )
            version = current + 1
            txn.set(
                ref,
                {
                    "path": path,
                    "version": version,
                    "object": obj,
                    "size": size,
                    "updated_by": actor,
                    "updated_at": now(),
                },
            )
            txn.set(
                self.p.events(sid).document(),
                event_doc(
                    "artifact_written",
                    actor,
                    f"{actor} wrote {path} v{version}",
                    {"path": path, "version": version},
                ),
            )
            return EffectResult({"path": path, "version": version})

        return run

    def get_artifact(self, sid: str, path: str) -> dict:
        with translated("read artifact index"):
            snap = self.p.artifacts(sid).document(artifact_key(path)).get()
        if not snap.exists:
            raise NotFound(f"no artifact at {path}")
        return snap.to_dict()

    def list_artifacts(self, sid: str, prefix: str = "", limit: int = 100) -> list[dict]:
        q = self.p.artifacts(sid)
        if prefix:
            q = q.where(filter=FieldFilter("path", ">=", prefix)).where(
                filter=FieldFilter("path", "<", prefix + "\uf8ff")
            )
        q = q.order_by("path").limit(limit)
        with translated("list artifacts"):
            return [
                {
                    "path": d["path"],
                    "version": d["version"],
                    "size": d["size"],
                    "updated_by": d["updated_by"],
                }
                for d in (s.to_dict() for s in q.stream())
            ]
