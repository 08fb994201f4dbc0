"""The Firestore store: one object with every state operation the core and the API use."""

from __future__ import annotations

from google.cloud import firestore

from cloudswarm.gcp import fs
from cloudswarm.gcp.executor import FirestoreExecutor
from cloudswarm.gcp.store_agents import AgentStore
from cloudswarm.gcp.store_artifacts import ArtifactStore
from cloudswarm.gcp.store_effects import EffectStore
from cloudswarm.gcp.store_reads import ReadStore
from cloudswarm.gcp.store_swarm import SwarmStore
from cloudswarm.gcp.store_team import TeamStore


class FirestoreStore(SwarmStore, AgentStore, EffectStore, TeamStore, ArtifactStore, ReadStore):
    def __init__(self, project: str, db: firestore.Client | None = None):
        self.db = db or fs.client(project)
        self.p = fs.Paths(self.db)
        self.executor = FirestoreExecutor(self.db)
