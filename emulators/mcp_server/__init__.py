"""A local MCP server for tests and the demo: a small repository and issue tracker."""

from .server import McpRepoServer

__all__ = ["McpRepoServer"]
