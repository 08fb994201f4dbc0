"""The typed views of core/shapes.py against the records, and ``Any`` against the ports.

The views are what the ports hand the core; the records (core/models.py) are the one definition
of each document. A view names exactly its record's fields, holds only JSON, and nothing that
crosses a port is typed ``Any``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, ForwardRef, TypeVar, Union, get_args, get_origin

import pytest
import typing_extensions

from cloudswarm.core import decisions, models, ports, records, shapes, tools, turn

# Every name the annotations of the ports may use, for resolving them.
NAMESPACE: dict[str, Any] = {}
for module in (shapes, records, decisions, ports, tools, turn, typing):
    NAMESPACE.update(vars(module))

VIEWS: dict[type, type[models.Record]] = {
    shapes.AgentDoc: models.Agent,
    shapes.SwarmDoc: models.Swarm,
    shapes.KillDoc: models.KillSwitch,
    shapes.TaskDoc: models.Task,
    shapes.MessageDoc: models.Message,
    shapes.ArtifactDoc: models.Artifact,
    shapes.ApprovalDoc: models.Approval,
    shapes.EffectDoc: models.Effect,
    shapes.BudgetShardDoc: models.BudgetShard,
    shapes.DayShardDoc: models.DayShard,
}


def _hints(obj: Any) -> dict[str, Any]:
    return typing.get_type_hints(obj, globalns=NAMESPACE, localns=NAMESPACE)


@pytest.mark.parametrize("view", list(VIEWS), ids=lambda v: v.__name__)
def test_a_view_names_exactly_its_records_fields(view):
    record = VIEWS[view]
    # "id": the document's id, which the stores add to what they hand over.
    assert set(view.__annotations__) - {"id"} == set(record.doc_fields())


def test_the_lease_view_is_the_lease_record():
    assert set(shapes.LeaseDoc.__annotations__) == {
        f.name for f in dataclasses.fields(models.Lease)
    }


def _json_only(t: Any, where: str, seen: set[int]) -> None:
    if isinstance(t, ForwardRef):
        assert t.__forward_arg__ == "JSON", f"{where}: {t}"
        return
    if t in (str, int, float, bool, type(None), dt.datetime):
        return
    if typing.is_typeddict(t):
        if id(t) in seen:
            return
        seen.add(id(t))
        for name, hint in _hints(t).items():
            _json_only(hint, f"{where}.{name}", seen)
        return
    origin = get_origin(t)
    if origin in (Union, types.UnionType, list, Sequence):
        for arg in get_args(t):
            _json_only(arg, where, seen)
        return
    if origin in (dict, Mapping):
        key, value = get_args(t)
        assert key is str, f"{where}: keys of {t}"
        _json_only(value, where, seen)
        return
    raise AssertionError(f"{where}: {t!r} is not JSON")


@pytest.mark.parametrize("view", get_args(shapes.Shape), ids=lambda v: v.__name__)
def test_a_view_holds_only_json(view):
    _json_only(view, view.__name__, set())


def _no_any(t: Any, where: str, seen: set[int]) -> None:
    """Fail where ``Any`` is reachable from ``t``: its arguments, a TypedDict's fields, a core
    dataclass's fields, a core Protocol's methods and properties."""
    assert t is not Any, f"{where} is Any"
    if isinstance(t, ForwardRef):
        t = eval(t.__forward_arg__, NAMESPACE)  # the recursive JSON alias
    if id(t) in seen:
        return
    seen.add(id(t))
    if isinstance(t, TypeVar):
        for bound in (t.__bound__, getattr(t, "__default__", None)):
            if bound is not None and bound is not typing_extensions.NoDefault:
                _no_any(bound, f"{where} ({t})", seen)
        return
    for arg in get_args(t):
        if arg is not Ellipsis and not isinstance(arg, list):
            _no_any(arg, where, seen)
        elif isinstance(arg, list):  # Callable's parameters
            for a in arg:
                _no_any(a, where, seen)
    origin = get_origin(t) or t
    if not inspect.isclass(origin) or not origin.__module__.startswith("cloudswarm.core"):
        return
    if typing.is_typeddict(origin) or dataclasses.is_dataclass(origin):
        for name, hint in _hints(origin).items():
            _no_any(hint, f"{where}.{name}", seen)
    if getattr(origin, "_is_protocol", False) or origin in (decisions.Found,):
        members = {
            name: member
            for klass in reversed(origin.__mro__)
            if klass.__module__.startswith("cloudswarm.core")
            for name, member in vars(klass).items()
        }
        for name, member in members.items():
            if name.startswith("_") and name != "__getitem__":
                continue
            fn = member.fget if isinstance(member, property) else member
            if inspect.isfunction(fn):
                for arg, hint in _hints(fn).items():
                    _no_any(hint, f"{origin.__name__}.{name}({arg})", seen)


PORTS = [
    *(p for p in vars(ports).values() if inspect.isclass(p) and getattr(p, "_is_protocol", 0)),
    decisions.Reader,
    decisions.Executor,
    decisions.Found,
    decisions.Decision,
    decisions.Write,
    decisions.Applied,
    records.LeaseResult,
    records.EffectResult,
    tools.ToolContext,
    turn.Deps,
]


@pytest.mark.parametrize("port", PORTS, ids=lambda p: p.__name__)
def test_nothing_that_crosses_a_port_is_any(port):
    _no_any(port, port.__name__, set())


def test_the_any_check_finds_any():
    @dataclasses.dataclass
    class Leaky:
        value: dict[str, Any]

    Leaky.__module__ = "cloudswarm.core.leaky"
    with pytest.raises(AssertionError, match=r"Leaky\.value is Any"):
        _no_any(Leaky, "Leaky", set())
