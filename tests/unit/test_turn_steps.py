"""The turn's decisions, without running one: next_step keeps the write-ahead order and the
lease's fence, whatever state the turn is in."""

from __future__ import annotations

import pytest

from cloudswarm.core import turn
from tests.unit.turn_fakes import settings

S = settings()  # lease 120 s (fence at 108 s), wall 60 s
CALL = {"type": "tool_use", "id": "toolu_1", "name": "list_tasks", "input": {}}


def state(**kw) -> turn.TurnState:
    t = turn.TurnState("s1", "lead", "turn1", {"id": "lead"}, {}, [], 0, 0.0)
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def answer(*calls: dict, stop: str = "tool_use") -> turn.Answer:
    return turn.Answer(tuple(calls), stop, usage={"input_tokens": 1}, spent={"usd": 0.1})


def test_a_fresh_turn_calls_the_model():
    assert next_kind(state(), 0) == "call_model"


def test_an_answer_is_saved_before_its_tool_calls_run():
    # Even with tool calls still owed, an unsaved answer goes to the log first.
    t = state(answer=answer(CALL), pending=[CALL])
    assert turn.next_step(t, 1, S) == turn.SaveAnswer()


def test_an_answer_past_the_fence_is_dropped_and_the_turn_continues():
    t = state(answer=answer(CALL))
    assert turn.next_step(t, S.lease_fence_s + 1, S) == turn.DropAnswer()
    t = state(dropped=True)
    assert turn.next_step(t, S.lease_fence_s + 1, S) == turn.End(
        "continued", "lease nearly expired"
    )


def test_owed_tool_calls_run_only_inside_the_fence():
    t = state(pending=[CALL])
    assert turn.next_step(t, S.lease_fence_s - 1, S) == turn.RunTools((CALL,))
    assert turn.next_step(t, S.lease_fence_s + 1, S) == turn.End(
        "continued", "lease nearly expired"
    )


def test_owed_tool_calls_run_even_past_the_wall_time():
    # The wall limit stops further model calls, not the results the log already owes.
    t = state(pending=[CALL])
    assert next_kind(t, S.turn_wall_s + 1) == "run_tools"


def test_past_the_wall_time_no_model_call_starts():
    assert turn.next_step(state(), S.turn_wall_s + 1, S) == turn.End(
        "continued", "turn time limit reached"
    )


def test_an_answer_that_asks_for_no_tool_ends_the_turn():
    assert turn.next_step(state(finished="end_turn"), 1, S) == turn.End("done", "end_turn")


@pytest.mark.parametrize("unsaved", [True, False])
def test_a_tool_that_ends_the_turn_has_its_results_saved_first(unsaved):
    t = state(ended_by_tool=True, unsaved=unsaved)
    expected = turn.SaveResults() if unsaved else turn.End("done", "a tool ended the turn")
    assert turn.next_step(t, 1, S) == expected


def test_every_step_has_a_kind():
    kinds = {
        turn.CallModel().kind,
        turn.SaveAnswer().kind,
        turn.DropAnswer().kind,
        turn.RunTools(()).kind,
        turn.SaveResults().kind,
        turn.End("done", "").kind,
    }
    assert len(kinds) == 6


def next_kind(t: turn.TurnState, elapsed: float) -> str:
    return turn.next_step(t, elapsed, S).kind
