"""The web UI reads only fields the records have (core/models.py).

web/src/documents.json declares, per kind of document, the fields the views read and the
variable names each file gives such a document. Checked here, from the source text:
- every declared field is a field of its record;
- every `<name>.<member>` (or `<name>?.<member>`) in a declaring file is a declared field, an
  addition of live.js (`id`, `_swarm`) or a member of a live hook's state (`doc`, `docs`, `error`);
- every snake_case member read anywhere in web/src is a field of some record (nested records
  included: usage, budget, allowance, lease) or declared as not a document field.
What this cannot see: a field read through destructuring (`const {goal} = swarm`) or by
subscript (`swarm[key]`), and a document held in a variable the file does not declare; the third
check still catches any such read of a snake_case name the records lack.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from cloudswarm.core import models

WEB = Path(__file__).resolve().parents[2] / "web" / "src"
DECLARED = json.loads((WEB / "documents.json").read_text())
RECORD_OF = {r.KIND: r for r in models.RECORDS}
NESTED = (models.Budget, models.Usage, models.Axes, models.Lease, models.TurnCall, models.TurnTool)
SOURCES = sorted(p for p in WEB.rglob("*.js*") if ".test." not in p.name and p.suffix != ".json")


def _code(path: Path) -> str:
    """The file without its comments (a comment naming a field reads nothing)."""
    text = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
    return re.sub(r"(?<![:'\"`])//[^\n]*", "", text)


def _members(code: str, name: str) -> set[str]:
    return set(re.findall(rf"(?<![\w$.]){re.escape(name)}\??\.([A-Za-z_$][\w$]*)", code))


@pytest.mark.parametrize("kind", sorted(DECLARED["kinds"]))
def test_declared_fields_are_fields_of_the_record(kind):
    record = RECORD_OF[kind]
    unknown = set(DECLARED["kinds"][kind]["fields"]) - record.doc_fields()
    assert not unknown, f"the UI reads {sorted(unknown)} of a {kind}, which its record lacks"


@pytest.mark.parametrize("kind", sorted(DECLARED["kinds"]))
def test_views_read_only_declared_fields(kind):
    spec = DECLARED["kinds"][kind]
    allowed = set(spec["fields"]) | set(DECLARED["added_by_live_js"]) | set(DECLARED["live_state"])
    for file, names in spec["names"].items():
        code = _code(WEB / file)
        for name in names:
            read = _members(code, name)
            assert read, f"{file} reads nothing from `{name}`: remove it from documents.json"
            extra = read - allowed
            assert not extra, (
                f"{file} reads {sorted(extra)} of a {kind} (`{name}`): declare the field in "
                "web/src/documents.json if its record has it"
            )


def test_every_snake_case_read_is_a_record_field():
    known = set().union(*(r.doc_fields() for r in models.RECORDS))
    known |= {f.name for n in NESTED for f in dataclasses.fields(n)}
    known |= set(DECLARED["not_documents"]["names"])
    for path in SOURCES:
        snake = {
            m
            for m in re.findall(r"\??\.([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b", _code(path))
            if not re.fullmatch(r"[a-z0-9_]+\.(js|jsx|json|md|py)", m)
        }
        unknown = snake - known
        assert not unknown, f"{path.relative_to(WEB)} reads {sorted(unknown)}: no record has it"


def test_the_checks_see_what_they_check():
    # A read of a field no record has, in each form the views use, is caught.
    code = "x(a.status); a?.usage; b.owner_id; (task).title"
    assert _members(code, "a") == {"status", "usage"}
    assert _members(code, "b") == {"owner_id"}
    assert _members("data.a.status", "a") == set()  # a member of something else
    assert _code(Path(WEB / "live.js")).count("onSnapshot") >= 2
