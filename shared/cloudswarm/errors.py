"""One exception tree for the whole project.

Adapters translate library errors into these at the edge (``raise ... from e``) so the core and
the handlers decide on kinds, never on library types.
"""


class CloudSwarmError(Exception):
    """Base of every error this project raises on purpose."""


class TransientError(CloudSwarmError):
    """Worth retrying later: overload, rate limit, timeout, 5xx, contention.

    ``retry_after`` is the server's hint in seconds, when it gave one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class NotDelivered(TransientError):
    """A request that certainly never reached its server (it could not connect): sending it
    again cannot do anything twice."""


class PermanentError(CloudSwarmError):
    """Retrying cannot help: bad request, auth refused, missing permission."""


class ConfigError(CloudSwarmError):
    """The deployment or the environment is wrong; the message says how to fix it."""


class UserError(CloudSwarmError):
    """The caller (a human, a system or a model) asked for something invalid.

    Nothing was changed. ``code`` is a short stable identifier for clients.
    """

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class NotFound(UserError):
    code = "not_found"


class Conflict(UserError):
    """The request clashes with the current state (a claimed task, a stale version)."""

    code = "conflict"


class Forbidden(UserError):
    """The actor's role does not allow this."""

    code = "forbidden"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Halted(CloudSwarmError):
    """Work stopped on purpose: the kill switch, a pause, or a stopped agent. Nothing is lost."""
