"""The ``cloudswarm`` command line: a client of the HTTP API (local stack or a deployment)."""
