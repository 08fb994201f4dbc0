"""`make bundle`: the zip Cloud Functions deploys.

It must hold every entry point with the cloudswarm package, come out byte-identical from the same
sources, and import cleanly in a fresh venv built from nothing but its own requirements.txt, the
way the Cloud Functions build does. That venv needs the package index and ~30 s, so it is cached
under pytest's cache dir, keyed by the hash of the requirements.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from cloudswarm import names

REPO = Path(__file__).resolve().parents[2]
ENTRY_POINTS = {"agent_turn", "swarm_trigger", "task_dispatch", "api"}
DEV_ONLY = {"pytest", "ruff", "hypothesis", "python-hcl2", "drongo", "gcp-storage-emulator"}

_spec = importlib.util.spec_from_file_location(
    "cloudswarm_bundle", REPO / "functions" / "bundle.py"
)
bundle = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = bundle  # dataclasses look their module up while the class is built
_spec.loader.exec_module(bundle)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> bundle.Bundle:
    try:
        return bundle.build(tmp_path_factory.mktemp("bundle"))
    except bundle.BundleError as e:
        pytest.fail(f"make bundle would fail: {e}")


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(built.path) as zf:
        zf.extractall(target)
    return target


def _fake_root(tmp_path: Path, main_py: str) -> Path:
    """A tiny repo with no runtime dependencies, to exercise the bundler's own mechanics."""
    root = tmp_path / "repo"
    (root / "functions").mkdir(parents=True)
    (root / "functions" / "main.py").write_text(main_py)
    package = root / "shared" / "cloudswarm"
    (package / "core").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (package / "core" / "prices.json").write_text("{}")
    (package / "resources.json").write_text(json.dumps({"functions": {"f": {}, "g": {}}}))
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = []\n')
    (root / "requirements.lock").write_text("")
    return root


# ------------------------------------------------------------------------ the bundler itself


def test_same_sources_give_the_same_bytes_and_a_change_gives_new_ones(tmp_path):
    root = _fake_root(tmp_path, "def f(): pass\ndef g(): pass\n")
    first = bundle.build(tmp_path / "a", root=root)
    os.utime(root / "functions" / "main.py", (1, 1))  # mtimes must not matter
    second = bundle.build(tmp_path / "b", root=root)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256 == second.sha256 == hashlib.sha256(first.path.read_bytes()).hexdigest()
    sha_file = first.path.with_name("functions.zip.sha256").read_text()
    assert sha_file == f"{first.sha256}  functions.zip\n"

    (root / "shared" / "cloudswarm" / "core" / "prices.json").write_text('{"changed": 1}')
    assert bundle.build(tmp_path / "c", root=root).sha256 != first.sha256


def test_entries_are_sorted_with_fixed_times_and_permissions(tmp_path):
    root = _fake_root(tmp_path, "def f(): pass\ndef g(): pass\n")
    built = bundle.build(tmp_path / "out", root=root)
    with zipfile.ZipFile(built.path) as zf:
        infos = zf.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.filename for i in infos} == {
        "main.py",
        "requirements.txt",
        "cloudswarm/__init__.py",
        "cloudswarm/core/prices.json",
        "cloudswarm/resources.json",
    }
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_a_declared_function_missing_from_main_fails_the_build(tmp_path):
    root = _fake_root(tmp_path, "def f(): pass\n")
    with pytest.raises(bundle.BundleError, match="does not define: g"):
        bundle.build(tmp_path / "out", root=root)


def test_a_runtime_dependency_missing_from_the_lock_fails_the_build(tmp_path):
    root = _fake_root(tmp_path, "def f(): pass\ndef g(): pass\n")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["pyjwt>=2"]\n')
    with pytest.raises(bundle.BundleError, match="make lock"):
        bundle.build(tmp_path / "out", root=root)


# ------------------------------------------------------------------------- the real bundle


def test_the_bundle_holds_every_entry_point_and_the_whole_package(built):
    files = set(built.files)
    assert {"main.py", "requirements.txt"} <= files
    assert "bundle.py" not in files
    package = REPO / "shared" / "cloudswarm"
    for path in package.rglob("*"):
        rel = path.relative_to(package)
        if path.is_file() and "__pycache__" not in rel.parts and path.suffix != ".pyc":
            assert f"cloudswarm/{rel.as_posix()}" in files, rel
    assert not [f for f in files if "__pycache__" in f or f.endswith(".pyc")]
    assert {"cloudswarm/resources.json", "cloudswarm/core/prices.json"} <= files
    assert set(names.resources()["functions"]) >= ENTRY_POINTS


def test_requirements_pin_the_runtime_closure_from_the_lock(built):
    lock = bundle.read_lock(REPO / "requirements.lock")
    lines = [line for line in built.requirements.splitlines() if not line.startswith("#")]
    assert lines, "no requirements"
    pinned = {}
    for line in lines:
        pinned[bundle.canonicalize_name(line.split("==")[0])] = line
    assert all(lock[name] == line for name, line in pinned.items())
    assert "functions-framework" in pinned
    for dep in ("google-cloud-firestore", "anthropic", "pyjwt", "pydantic"):
        assert dep in pinned, dep
    assert not DEV_ONLY & set(pinned), f"dev-only packages in the bundle: {DEV_ONLY & set(pinned)}"


def _bundle_venv(cache_dir: Path, requirements: str) -> Path:
    """A venv with exactly the bundle's requirements, built once per requirements hash."""
    key = hashlib.sha256(f"{sys.version_info[:2]}\n{requirements}".encode()).hexdigest()[:16]
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv = cache_dir / key
    with (cache_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent test runs share one build
        if (venv / ".complete").is_file():
            return venv
        for stale in cache_dir.iterdir():  # venvs of older requirements
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        reqs = venv / "bundle-requirements.txt"
        reqs.write_text(requirements)
        # --no-deps: the pins must be the whole closure on their own, as the lock promises.
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps"]
        subprocess.run(
            [*pip, "--no-compile", "-r", str(reqs)],
            check=True,
            timeout=600,
            env={k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        )
        (venv / ".complete").touch()
    return venv


# What the Cloud Functions runtime does for one target: functions-framework loads main.py from
# the source root. Functions deployed without an Eventarc trigger get FUNCTION_SIGNATURE_TYPE=http,
# so a CloudEvent entry point must declare itself with @functions_framework.cloud_event.
LOAD_TARGET = """
import json, os, sys
import functions_framework
app = functions_framework.create_app(sys.argv[1], "main.py")
import cloudswarm, main
from cloudswarm import names
print(json.dumps({
    "signature": os.environ["FUNCTION_SIGNATURE_TYPE"],
    "callable": callable(getattr(main, sys.argv[1], None)),
    "cloudswarm": cloudswarm.__file__,
    "declared": sorted(names.resources()["functions"]),
}))
"""


@pytest.mark.timeout(900)
def test_every_entry_point_loads_in_a_fresh_venv_from_the_bundle_alone(built, unpacked, request):
    venv = _bundle_venv(
        Path(request.config.cache.mkdir("cloudswarm-bundle-venv")), built.requirements
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "GOOGLE_CLOUD_PROJECT": "bundle-test",
        "CLOUDSWARM_PREFIX": "cloudswarm",
        "CLOUDSWARM_REGION": "us-central1",
        "CLOUDSWARM_DISPATCH_URL": "https://us-central1-bundle-test.cloudfunctions.net/x",
        "CLOUDSWARM_DISPATCH_SA": "x@bundle-test.iam.gserviceaccount.com",
        "FUNCTION_SIGNATURE_TYPE": "http",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    declared = names.resources()["functions"]
    for target, spec in sorted(declared.items()):
        result = subprocess.run(
            [str(venv / "bin" / "python"), "-c", LOAD_TARGET, target],
            cwd=unpacked,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, f"{target} does not load:\n{result.stderr[-4000:]}"
        report = json.loads(result.stdout.strip().splitlines()[-1])
        assert report["callable"], target
        assert Path(report["cloudswarm"]).resolve().is_relative_to(unpacked.resolve())
        assert report["declared"] == sorted(declared)
        want = "cloudevent" if spec["kind"] == "pubsub" else "http"
        assert report["signature"] == want, (
            f"{target} would run as a {report['signature']} function: decorate it with "
            f"@functions_framework.{'cloud_event' if want == 'cloudevent' else 'http'}"
        )
