"""Counts every document write a bench function process commits, by document path.

The bench puts this folder on the functions' PYTHONPATH with CLOUDSWARM_BENCH_WRITES naming a
folder; Python imports ``sitecustomize`` at start-up. Nothing in the product changes: when
Firestore's GAPIC client module is imported, its ``commit`` is wrapped to count each ``Write``
the request carries (a transform rides on its document's write, as Firestore bills it), and a
thread writes the running totals to ``<folder>/<pid>.json`` twice a second (atomically), so
the bench can take the difference over a measuring window. Not counted: the bench's own writes.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import json
import os
import sys
import threading
from collections import Counter

_OUT = os.environ.get("CLOUDSWARM_BENCH_WRITES")
_TARGET = "google.cloud.firestore_v1.services.firestore.client"
_counts: Counter = Counter()
_lock = threading.Lock()


def _path(write) -> str:
    name = write.update.name or write.delete or write.transform.document
    return name.split("/documents/", 1)[-1]


def _wrap(module) -> None:
    cls = module.FirestoreClient
    commit = cls.commit

    def counted(self, request=None, *args, **kwargs):
        response = commit(self, request, *args, **kwargs)
        writes = getattr(request, "writes", None)
        if writes is None and isinstance(request, dict):
            writes = request.get("writes")
        with _lock:
            for w in writes or ():
                try:
                    _counts[_path(w)] += 1
                except AttributeError:  # a dict-shaped write
                    _counts[str(w.get("update", {}).get("name", "?"))] += 1
        return response

    cls.commit = counted


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != _TARGET:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        run = loader.exec_module

        def exec_module(module):
            run(module)
            _wrap(module)

        loader.exec_module = exec_module
        return spec


def _dump() -> None:
    target = os.path.join(_OUT, f"{os.getpid()}.json")
    while True:
        threading.Event().wait(0.5)
        with _lock:
            if not _counts:
                continue
            data = json.dumps(dict(_counts))
        tmp = target + ".tmp"
        with open(tmp, "w") as f:
            f.write(data)
        os.replace(tmp, target)


if _OUT:
    os.makedirs(_OUT, exist_ok=True)
    sys.meta_path.insert(0, _Hook())

    def _start() -> None:
        threading.Thread(target=_dump, name="bench-write-counts", daemon=True).start()

    _start()
    os.register_at_fork(after_in_child=_start)  # gunicorn's workers are forked
