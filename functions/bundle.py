"""The source bundle Cloud Functions (2nd gen) deploys: one reproducible zip for all entry points.

The zip holds what the Python buildpack expects at its root::

    main.py            functions/main.py (every entry point; other functions/*.py modules too)
    requirements.txt   the runtime dependencies and everything they pull in, pinned from
                       requirements.lock
    cloudswarm/        the package from shared/cloudswarm, data files (resources.json,
                       prices.json) included

Reproducible: entries sorted, timestamps and permissions fixed, so the same sources give the same
bytes and the same SHA-256. Terraform names the uploaded object after that hash, so an unchanged
bundle redeploys nothing and a changed one redeploys every function.

    python functions/bundle.py [--out dist/functions]        (what `make bundle` runs)
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata as md
import json
import stat
import sys
import tomllib
import zipfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
ZIP_NAME = "functions.zip"
# The earliest time a zip entry can carry; any fixed value makes the bytes reproducible.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = (stat.S_IFREG | 0o644) << 16
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo", ".egg-info"}
SKIP_NAMES = {".DS_Store"}
# functions/ files that are tooling, not function code.
NOT_FUNCTION_CODE = {"bundle.py"}


class BundleError(Exception):
    """The bundle cannot be built; the message says what to fix."""


@dataclass(frozen=True)
class Bundle:
    path: Path
    sha256: str
    files: tuple[str, ...]
    requirements: str


def target_environment(python_version: str) -> dict[str, str]:
    """Marker values of the Cloud Functions runtime (Linux x86-64, CPython), not of this machine."""
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python_version}.0",
        "os_name": "posix",
        "platform_machine": "x86_64",
        "platform_python_implementation": "CPython",
        "platform_system": "Linux",
        "python_full_version": f"{python_version}.0",
        "python_version": python_version,
        "sys_platform": "linux",
    }


def read_lock(path: Path) -> dict[str, str]:
    """requirements.lock as {canonical name: 'Name==version'}."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].split(";", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        if "==" not in line:
            raise BundleError(f"{path.name}: {raw!r} is not pinned with '=='; run `make lock`")
        name, version = (part.strip() for part in line.split("==", 1))
        pins[canonicalize_name(name)] = f"{name}=={version}"
    return pins


def runtime_requirements(root: Path = ROOT, python_version: str = "3.11") -> str:
    """Pinned requirements.txt for [project].dependencies and all they need on the runtime.

    The dependency graph comes from the metadata installed in this environment (`make setup`
    installs exactly requirements.lock), with markers evaluated for the Cloud Functions runtime.
    """
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    pins = read_lock(root / "requirements.lock")
    env = target_environment(python_version)

    needed: dict[str, str] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    queue = deque(Requirement(r) for r in project["dependencies"])
    while queue:
        req = queue.popleft()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        if name not in pins:
            raise BundleError(
                f"{req.name} is needed at run time but requirements.lock does not pin it: "
                "run `make lock`"
            )
        pinned_version = pins[name].split("==", 1)[1]
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            raise BundleError(
                f"{req.name} is not installed here, so its dependencies are unknown: "
                "run `make setup`"
            ) from None
        if dist.version != pinned_version:
            raise BundleError(
                f"{req.name} {dist.version} is installed but requirements.lock pins "
                f"{pinned_version}: run `make setup`"
            )
        needed[name] = pins[name]
        extras = ["", *sorted(req.extras)]
        for spec in dist.requires or []:
            sub = Requirement(spec)
            if sub.marker is None or any(sub.marker.evaluate({**env, "extra": e}) for e in extras):
                queue.append(sub)

    header = (
        "# Generated by functions/bundle.py from pyproject.toml and requirements.lock: "
        "do not edit.\n"
    )
    return header + "".join(f"{needed[n]}\n" for n in sorted(needed))


def entry_points(main_py: Path) -> set[str]:
    """Names of the top-level functions main.py defines."""
    tree = ast.parse(main_py.read_text(), filename=str(main_py))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def _skipped(rel: Path) -> bool:
    return (
        any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts)
        or rel.suffix in SKIP_SUFFIXES
        or rel.name in SKIP_NAMES
    )


def collect(root: Path = ROOT, python_version: str = "3.11") -> dict[str, bytes]:
    """Every bundle entry as {archive name: bytes}."""
    functions_dir = root / "functions"
    package_dir = root / "shared" / "cloudswarm"
    main_py = functions_dir / "main.py"
    if not main_py.is_file():
        raise BundleError(f"{main_py.relative_to(root)} is missing: it holds the entry points")

    declared = json.loads((package_dir / "resources.json").read_text())["functions"]
    missing = sorted(set(declared) - entry_points(main_py))
    if missing:
        raise BundleError(
            f"resources.json declares functions that functions/main.py does not define: "
            f"{', '.join(missing)}"
        )

    files: dict[str, bytes] = {}
    for path in sorted(functions_dir.glob("*.py")):
        if path.name not in NOT_FUNCTION_CODE and not _skipped(path.relative_to(functions_dir)):
            files[path.name] = path.read_bytes()
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if path.is_file() and not _skipped(rel):
            files[f"cloudswarm/{rel.as_posix()}"] = path.read_bytes()
    files["requirements.txt"] = runtime_requirements(root, python_version).encode()
    return files


def write_zip(path: Path, files: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr holds Unix permissions
            info.external_attr = FILE_MODE
            zf.writestr(info, files[name], compresslevel=9)
    tmp.replace(path)


def build(
    out_dir: Path = ROOT / "dist" / "functions", root: Path = ROOT, python_version: str = "3.11"
) -> Bundle:
    """Write OUT_DIR/functions.zip and OUT_DIR/functions.zip.sha256; return what was built."""
    files = collect(root, python_version)
    path = Path(out_dir) / ZIP_NAME
    write_zip(path, files)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(ZIP_NAME + ".sha256").write_text(f"{digest}  {ZIP_NAME}\n")
    return Bundle(path, digest, tuple(sorted(files)), files["requirements.txt"].decode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "dist" / "functions", help="output directory"
    )
    parser.add_argument(
        "--python", default="3.11", help="Python version of the Cloud Functions runtime"
    )
    args = parser.parse_args(argv)
    try:
        bundle = build(args.out, python_version=args.python)
    except BundleError as e:
        print(f"bundle: {e}", file=sys.stderr)
        return 1
    print(f"{bundle.path} sha256={bundle.sha256} ({len(bundle.files)} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
