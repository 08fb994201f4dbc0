"""The pure domain: no I/O, no cloud or model SDK imports (enforced by ruff TID251)."""
