"""The task graph: property tests against independent oracles, plus the exact error messages."""

from __future__ import annotations

import graphlib
import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cloudswarm.core import task_graph as tg
from cloudswarm.core.models import TaskStatus, transition
from cloudswarm.errors import Conflict, InvalidTransition, NotFound, UserError

S = TaskStatus


@st.composite
def dags(draw, min_size: int = 1, max_size: int = 14) -> dict[str, frozenset[str]]:
    """A random DAG: node i may only wait on nodes created before it, under shuffled ids."""
    n = draw(st.integers(min_size, max_size))
    ids = draw(st.permutations([f"t{i}" for i in range(n)]))
    graph = {}
    for i, task in enumerate(ids):
        graph[task] = frozenset(draw(st.sets(st.sampled_from(ids[:i]))) if i else ())
    return graph


@st.composite
def digraphs(draw) -> dict[str, frozenset[str]]:
    """Any directed graph, cycles and self-loops included."""
    ids = [f"t{i}" for i in range(draw(st.integers(1, 9)))]
    return {t: frozenset(draw(st.sets(st.sampled_from(ids), max_size=4))) for t in ids}


def reachable(graph, start: str) -> set[str]:
    """The tasks ``start`` waits on, directly or not."""
    seen, todo = set(), list(graph[start])
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return seen


def assert_real_cycle(graph, path) -> None:
    assert path[0] == path[-1], path
    assert len(path) >= 2
    for a, b in itertools.pairwise(path):
        assert b in graph[a], f"{a} -> {b} is not an edge of the graph"
    # A simple cycle: no task repeats before closing the loop.
    assert len(set(path[:-1])) == len(path) - 1


# ---------------------------------------------------------------------------- cycles


@given(dags())
def test_random_dags_are_never_reported_cyclic(graph):
    assert tg.find_cycle(graph) is None
    for task, deps in graph.items():
        tg.check_new_dependencies(graph, task, deps)  # must not raise


@given(digraphs())
def test_find_cycle_agrees_with_graphlib(graph):
    cycle = tg.find_cycle(graph)
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
        acyclic = True
    except graphlib.CycleError:
        acyclic = False
    assert (cycle is None) == acyclic
    if cycle is not None:
        assert_real_cycle(graph, cycle)


@given(dags(min_size=2), st.data())
def test_a_back_edge_is_always_reported_with_a_real_cycle(graph, data):
    waiters = sorted(t for t in graph if graph[t])
    assume(waiters)
    a = data.draw(st.sampled_from(waiters))
    b = data.draw(st.sampled_from(sorted(reachable(graph, a))))
    # a waits on b; making b wait on a closes a loop through both.
    new_deps = graph[b] | {a}
    with pytest.raises(tg.DependencyCycle) as info:
        tg.check_new_dependencies(graph, b, new_deps)
    changed = {**graph, b: new_deps}
    path = info.value.path
    assert path[0] == path[-1] == b
    assert_real_cycle(changed, path)
    assert " -> ".join(path) in str(info.value)
    assert_real_cycle(changed, tg.find_cycle(changed))


def test_cycle_message_names_the_path():
    graph = {"t1": {"t2"}, "t2": set()}
    with pytest.raises(tg.DependencyCycle) as info:
        tg.check_new_dependencies(graph, "t2", ["t1"])
    assert info.value.path == ("t2", "t1", "t2")
    assert "t2 -> t1 -> t2" in str(info.value)
    assert info.value.code == "dependency_cycle"
    assert isinstance(info.value, UserError)


def test_shortest_cycle_is_reported():
    # t4 waits on t3 directly and, the long way, through t2 and t1.
    graph = {"t1": set(), "t2": {"t1"}, "t3": {"t2"}, "t4": {"t3", "t1"}, "t5": set()}
    with pytest.raises(tg.DependencyCycle) as info:
        tg.check_new_dependencies(graph, "t1", ["t5", "t4"])
    assert info.value.path == ("t1", "t4", "t1")


def test_self_dependency_is_a_cycle_too():
    with pytest.raises(tg.DependencyCycle, match="t1 -> t1"):
        tg.check_new_dependencies({"t1": set()}, "t1", ["t1"])


def test_find_cycle_survives_a_chain_longer_than_the_recursion_limit():
    n = 5000
    chain = {f"t{i}": {f"t{i - 1}"} if i else set() for i in range(n)}
    assert tg.find_cycle(chain) is None
    chain["t0"] = {f"t{n - 1}"}
    assert len(tg.find_cycle(chain)) == n + 1


# ---------------------------------------------------------------------------- validation


def test_validate_dedupes_and_keeps_order():
    assert tg.validate_blocked_by("t3", ["t2", "t1", "t2"], {"t1", "t2"}) == ("t2", "t1")
    assert tg.validate_blocked_by("t3", [], set()) == ()


def test_unknown_ids_are_named():
    with pytest.raises(NotFound) as info:
        tg.validate_blocked_by("t3", ["t1", "nope", "t2", "gone"], {"t1", "t2"})
    message = str(info.value)
    assert "nope, gone" in message
    assert "t1" not in message.split("unknown task ids:")[1].split(";")[0]
    assert "list_tasks" in message
    assert isinstance(info.value, UserError)


def test_self_dependency_is_rejected_before_unknown_ids():
    with pytest.raises(UserError) as info:
        tg.validate_blocked_by("t1", ["t1"], {"t1"})
    assert info.value.code == "self_dependency"
    assert "t1 cannot be blocked by itself" in str(info.value)


# ---------------------------------------------------------------------------- readiness


statuses_st = st.sampled_from(list(TaskStatus))


@given(dags(), st.data())
def test_ready_set_matches_the_definition(graph, data):
    statuses = {t: data.draw(statuses_st) for t in graph}
    brute = set()
    for task, deps in graph.items():
        unclaimed = statuses[task] in (S.BLOCKED, S.READY)
        blockers = [d for d in deps if statuses[d] not in (S.DONE, S.CANCELLED)]
        if unclaimed and len(blockers) == 0:
            brute.add(task)
    assert tg.ready_tasks(graph, statuses) == brute


def test_initial_status():
    statuses = {"a": S.DONE, "b": S.CANCELLED, "c": S.IN_PROGRESS, "d": S.READY}
    assert tg.initial_status([], statuses) == S.READY
    assert tg.initial_status(["a", "b"], statuses) == S.READY
    assert tg.initial_status(["a", "c"], statuses) == S.BLOCKED
    assert tg.initial_status(["d"], statuses) == S.BLOCKED
    assert tg.waiting_on(["a", "c", "d"], statuses) == {"c", "d"}


def test_a_missing_dependency_record_keeps_the_task_blocked():
    assert tg.initial_status(["ghost"], {}) == S.BLOCKED
    assert not tg.is_settled(None)


def test_a_cancelled_dependency_counts_as_settled():
    assert tg.ready_tasks({"a": set(), "b": {"a"}}, {"a": S.CANCELLED, "b": S.BLOCKED}) == {"b"}


@settings(max_examples=200)
@given(dags(), st.data())
def test_settling_in_any_order_makes_every_task_ready_exactly_once(graph, data):
    """Create tasks in dependency order, then repeatedly finish any ready one (done or cancelled)
    and apply ``settle`` incrementally, as the store does."""
    blocks = tg.reverse(graph)
    statuses: dict[str, TaskStatus] = {}
    waiting: dict[str, frozenset[str]] = {}
    became_ready = dict.fromkeys(graph, 0)
    for task in tg_order(graph):
        deps = tg.validate_blocked_by(task, sorted(graph[task]), statuses)
        statuses[task] = tg.initial_status(deps, statuses)
        waiting[task] = tg.waiting_on(deps, statuses)
        became_ready[task] += statuses[task] == S.READY

    while True:
        ready = sorted(t for t, s in statuses.items() if s == S.READY)
        # The incrementally kept state always agrees with the from-scratch computation.
        assert set(ready) == tg.ready_tasks(graph, statuses)
        if not ready:
            break
        task = data.draw(st.sampled_from(ready))
        if data.draw(st.booleans()):
            statuses[task] = transition(statuses[task], S.IN_PROGRESS)
            end = S.DONE
        else:
            end = S.CANCELLED
        statuses[task] = transition(statuses[task], end)
        dependents = {d: tg.Dependent(statuses[d], waiting[d]) for d in blocks[task]}
        effect = tg.settle(task, dependents)
        assert effect.kind == "unblocking"
        waiting.update(effect.waiting_on)
        for d in effect.ready:
            statuses[d] = transition(statuses[d], S.READY)
            became_ready[d] += 1
        # Replaying the same completion changes nothing.
        replay = {d: tg.Dependent(statuses[d], waiting[d]) for d in blocks[task]}
        assert tg.settle(task, replay) == tg.Unblocking(task, {}, ())

    assert all(s in (S.DONE, S.CANCELLED) for s in statuses.values())
    assert became_ready == dict.fromkeys(graph, 1)


def tg_order(graph) -> list[str]:
    return list(graphlib.TopologicalSorter(graph).static_order())


def test_settle_only_readies_blocked_dependents_with_nothing_left():
    effect = tg.settle(
        "a",
        {
            "x": tg.Dependent(S.BLOCKED, {"a"}),
            "y": tg.Dependent(S.BLOCKED, {"a", "b"}),
            "z": tg.Dependent(S.CANCELLED, {"a"}),
            "w": tg.Dependent(S.BLOCKED, {"b"}),
        },
    )
    assert effect.ready == ("x",)
    assert effect.waiting_on == {"x": frozenset(), "y": {"b"}, "z": frozenset()}


def test_reverse():
    assert tg.reverse({"a": set(), "b": {"a"}, "c": {"a", "b"}}) == {
        "a": {"b", "c"},
        "b": {"c"},
        "c": frozenset(),
    }


# ---------------------------------------------------------------------------- rewiring


@pytest.mark.parametrize(
    ("current", "waiting", "expected"),
    [
        (S.READY, {"x"}, S.BLOCKED),
        (S.BLOCKED, set(), S.READY),
        (S.BLOCKED, {"x"}, S.BLOCKED),
        (S.READY, set(), S.READY),
        (S.IN_PROGRESS, set(), S.IN_PROGRESS),
    ],
)
def test_status_with_dependencies(current, waiting, expected):
    assert tg.status_with_dependencies("t1", current, waiting) == expected


def test_a_claimed_task_cannot_gain_an_unfinished_dependency():
    with pytest.raises(Conflict, match=r"t1 is in progress .*\(a, b\)"):
        tg.status_with_dependencies("t1", S.IN_PROGRESS, {"b", "a"})


@pytest.mark.parametrize("final", [S.DONE, S.CANCELLED])
def test_finished_tasks_keep_their_dependencies(final):
    with pytest.raises(InvalidTransition, match=f"t1 is {final.value}"):
        tg.status_with_dependencies("t1", final, set())
