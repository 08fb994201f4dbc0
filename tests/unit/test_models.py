"""The status state machines: the allowed moves written out here as the spec, and the messages."""

from __future__ import annotations

from enum import StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cloudswarm.core.models import (
    TERMINAL_SWARM,
    AgentStatus,
    ApprovalStatus,
    SwarmStatus,
    TaskStatus,
    Usage,
    can_transition,
    transition,
)
from cloudswarm.errors import Conflict, InvalidTransition

# The spec, independent of the tables in models.py: a change there must be made here too.
ALLOWED: dict[type[StrEnum], dict[str, set[str]]] = {
    SwarmStatus: {
        "running": {"paused", "completed", "failed", "killed"},
        "paused": {"running", "killed", "failed"},
        "completed": set(),
        "failed": set(),
        "killed": set(),
    },
    AgentStatus: {
        "idle": {"running", "paused", "stopped", "failed"},
        "running": {"idle", "waiting_approval", "paused", "stopped", "failed"},
        "waiting_approval": {"running", "idle", "paused", "stopped", "failed"},
        "paused": {"idle", "stopped", "failed"},
        "stopped": set(),
        "failed": {"idle"},
    },
    TaskStatus: {
        "blocked": {"ready", "cancelled"},
        "ready": {"in_progress", "blocked", "cancelled"},
        "in_progress": {"done", "ready", "cancelled"},
        "done": set(),
        "cancelled": set(),
    },
    ApprovalStatus: {
        "pending": {"approved", "rejected"},
        "approved": set(),
        "rejected": set(),
    },
}
START = {
    SwarmStatus: [SwarmStatus.RUNNING],
    AgentStatus: [AgentStatus.IDLE],
    TaskStatus: [TaskStatus.BLOCKED, TaskStatus.READY],
    ApprovalStatus: [ApprovalStatus.PENDING],
}
ALL_PAIRS = [(kind(a), kind(b)) for kind in ALLOWED for a in kind for b in kind]


def pair_ids(pair) -> str:
    a, b = pair
    return f"{type(a).__name__}:{a}->{b}"


def test_the_spec_covers_every_status():
    for kind, table in ALLOWED.items():
        assert set(table) == {s.value for s in kind}, kind


@pytest.mark.parametrize("pair", ALL_PAIRS, ids=pair_ids)
def test_can_transition_matches_the_spec(pair):
    current, new = pair
    assert can_transition(current, new) == (new.value in ALLOWED[type(current)][current.value])


@pytest.mark.parametrize("kind", list(ALLOWED))
def test_no_status_moves_to_itself(kind):
    # A repeat (e.g. a replayed completion) must be handled by the caller, not silently allowed.
    for status in kind:
        assert not can_transition(status, status)


@pytest.mark.parametrize("kind", list(ALLOWED))
def test_every_status_is_reachable_from_a_start(kind):
    seen = set(START[kind])
    todo = list(seen)
    while todo:
        current = todo.pop()
        for new in kind:
            if can_transition(current, new) and new not in seen:
                seen.add(new)
                todo.append(new)
    assert seen == set(kind)


def test_terminal_swarm_states_are_exactly_those_without_exits():
    final = {s for s in SwarmStatus if not any(can_transition(s, n) for n in SwarmStatus)}
    assert final == TERMINAL_SWARM


@pytest.mark.parametrize(
    "status",
    [
        *TERMINAL_SWARM,
        AgentStatus.STOPPED,
        TaskStatus.DONE,
        TaskStatus.CANCELLED,
        ApprovalStatus.APPROVED,
        ApprovalStatus.REJECTED,
    ],
)
def test_final_states_say_so(status):
    other = next(s for s in type(status) if s != status)
    with pytest.raises(InvalidTransition) as info:
        transition(status, other)
    assert str(info.value) == f"cannot go from {status} to {other}; allowed: nothing (final)"


def test_failed_agent_can_be_revived_but_not_restarted_directly():
    assert transition(AgentStatus.FAILED, AgentStatus.IDLE) is AgentStatus.IDLE
    with pytest.raises(InvalidTransition, match=r"allowed: idle$"):
        transition(AgentStatus.FAILED, AgentStatus.RUNNING)


def test_message_names_the_record_both_states_and_the_allowed_ones_sorted():
    with pytest.raises(InvalidTransition) as info:
        transition(TaskStatus.BLOCKED, TaskStatus.DONE, what="task t1")
    assert str(info.value) == "task t1 cannot go from blocked to done; allowed: cancelled, ready"
    assert info.value.code == "invalid_transition"
    assert isinstance(info.value, Conflict)


def test_mixing_state_machines_is_a_programming_error():
    with pytest.raises(TypeError, match="cannot move a TaskStatus to a AgentStatus"):
        transition(TaskStatus.READY, AgentStatus.RUNNING)  # type: ignore[type-var]


statuses = st.sampled_from(list(ALLOWED)).flatmap(
    lambda kind: st.tuples(st.sampled_from(list(kind)), st.sampled_from(list(kind)))
)


@given(statuses, st.text(max_size=10))
def test_transition_agrees_with_can_transition(pair, what):
    current, new = pair
    if can_transition(current, new):
        assert transition(current, new, what=what) is new
    else:
        with pytest.raises(InvalidTransition) as info:
            transition(current, new, what=what)
        assert f"cannot go from {current.value} to {new.value}" in str(info.value)
        assert str(info.value).startswith(f"{what} " if what else "cannot")


def test_usage_adds_up_field_by_field():
    a = Usage(1, 2, 3, 4, 0.5)
    b = Usage(10, 20, 30, 40, 0.25)
    assert a + b == Usage(11, 22, 33, 44, 0.75)
    assert (a + b).total_tokens == 110
    assert Usage().total_tokens == 0
