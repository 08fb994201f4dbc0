"""``python -m emulators.mcp_server --port 8098``: see server.py."""

import sys

from .server import main

sys.exit(main())
