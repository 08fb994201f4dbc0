"""The local stack: emulators, bootstrap, the local model server.

Kept free of imports: ``tasks_emulator.py`` runs under the Cloud Tasks venv's interpreter, which
has none of the project's dependencies.
"""
