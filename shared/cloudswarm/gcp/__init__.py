"""Adapters, one per Google Cloud service: the only place the cloud client libraries are used.

Each adapter translates library exceptions into ``cloudswarm.errors`` at its edge, so nothing
above it depends on a library's types. Importing this package imports no client library:
each adapter module pulls in only the one it needs.
"""
