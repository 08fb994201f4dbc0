"""Route modules, one per resource. Importing this package registers every route."""

from cloudswarm.api.routes import (  # noqa: F401  (imported for their registrations)
    agents,
    approvals,
    artifacts,
    auth,
    control,
    feed,
    keys,
    meta,
    swarms,
    tasks,
    templates,
    transcripts,
    webhooks,
)
from cloudswarm.api.routing import ROUTES

ROUTE_TABLE = ROUTES
