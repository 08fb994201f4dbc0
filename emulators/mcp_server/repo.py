"""The repository and issue tracker the local MCP server serves: issues, files on branches,
commits and pull requests, in memory, seeded with one open issue and a bug to fix."""

from __future__ import annotations

import copy
import difflib
import hashlib
import threading
from typing import Any

SEED: dict[str, Any] = {
    "issues": {
        1: {
            "number": 1,
            "title": "greet() drops the exclamation mark",
            "body": "greet('Ada') returns 'Hello, Ada' but the docs promise 'Hello, Ada!'. "
            "See src/greet.py.",
            "state": "open",
        }
    },
    "branches": {
        "main": {
            "README.md": "# hello\n\nA tiny greeting library.\n",
            "src/greet.py": "def greet(name):\n    return f'Hello, {name}'\n",
        }
    },
}
WRITES = frozenset({"create_branch", "write_file", "create_pull_request"})


class Repo:
    """One repository; every method is a tool (its docstring is the tool's description)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with getattr(self, "lock", threading.Lock()):
            self.issues: dict[int, dict[str, Any]] = copy.deepcopy(SEED["issues"])
            self.branches: dict[str, dict[str, str]] = copy.deepcopy(SEED["branches"])
            self.commits: list[dict[str, Any]] = []
            self.pulls: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "issues": list(self.issues.values()),
                "branches": {b: sorted(f) for b, f in self.branches.items()},
                "commits": list(self.commits),
                "pull_requests": list(self.pulls),
            }

    def list_issues(self, state: str = "open") -> list[dict[str, Any]]:
        with self.lock:
            return [i for i in self.issues.values() if state in ("all", i["state"])]

    def get_issue(self, number: int) -> dict[str, Any]:
        with self.lock:
            if number not in self.issues:
                raise ValueError(f"no issue #{number}")
            return dict(self.issues[number])

    def list_files(self, branch: str = "main") -> list[str]:
        with self.lock:
            return sorted(self._branch(branch))

    def read_file(self, path: str, branch: str = "main") -> str:
        with self.lock:
            files = self._branch(branch)
            if path not in files:
                raise ValueError(f"no file {path} on {branch}")
            return files[path]

    def create_branch(self, name: str, base: str = "main") -> dict[str, str]:
        with self.lock:
            if name in self.branches:
                raise ValueError(f"branch {name} exists")
            self.branches[name] = dict(self._branch(base))
            return {"branch": name, "from": base}

    def write_file(self, branch: str, path: str, content: str, message: str) -> dict[str, Any]:
        with self.lock:
            files = self._branch(branch)
            files[path] = content
            sha = hashlib.sha1(f"{len(self.commits)}{branch}{path}{content}".encode()).hexdigest()
            commit = {"sha": sha[:12], "branch": branch, "path": path, "message": message}
            self.commits.append(commit)
            return commit

    def diff(self, head: str, base: str = "main") -> str:
        with self.lock:
            a, b = self._branch(base), self._branch(head)
            out: list[str] = []
            for path in sorted(set(a) | set(b)):
                out += difflib.unified_diff(
                    a.get(path, "").splitlines(True),
                    b.get(path, "").splitlines(True),
                    f"a/{path}",
                    f"b/{path}",
                )
            return "".join(out)

    def create_pull_request(
        self, title: str, head: str, base: str = "main", body: str = ""
    ) -> dict[str, Any]:
        with self.lock:
            self._branch(head)
            self._branch(base)
            pr = {
                "number": len(self.pulls) + 1,
                "title": title,
                "head": head,
                "base": base,
                "body": body,
                "state": "open",
            }
            self.pulls.append(pr)
            return pr

    def list_pull_requests(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.pulls)

    def _branch(self, name: str) -> dict[str, str]:
        if name not in self.branches:
            raise ValueError(f"no branch {name}")
        return self.branches[name]
