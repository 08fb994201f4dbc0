"""The Firestore executor reruns a transaction that aborted, at a read or at its commit (nothing
was committed), after a pause of random length that doubles per attempt, so two transactions
that abort each other do not meet again at once. The Firestore client is stood in for, and the
pause is recorded rather than slept: what is tested is which failures are run again, how often,
and how long it waits between."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from cloudswarm.errors import TransientError
from cloudswarm.gcp import executor as ex


class _Db:
    def transaction(self, max_attempts: int = 5) -> object:
        assert max_attempts == 1  # the executor retries, with pauses; the client does not
        return object()


def _runs(*failures: BaseException | None):
    """A transactional function that fails as told, one failure per run, then returns."""
    calls: list[int] = []

    def fn(txn: object) -> str:
        calls.append(1)
        failure = failures[len(calls) - 1] if len(calls) <= len(failures) else None
        if failure is not None:
            raise failure
        return "committed"

    return fn, calls


def _exhausted() -> ValueError:
    e = ValueError("Failed to commit transaction in 1 attempts.")
    e.__cause__ = gexc.Aborted("contention")
    return e


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(ex.time, "sleep", slept.append)
    return slept


def _lock_timeout() -> gexc.Aborted:
    return gexc.Aborted("Transaction lock timeout.")


@pytest.mark.parametrize("failure", [_lock_timeout, _exhausted], ids=["read", "commit"])
def test_an_aborted_transaction_runs_again_after_a_short_random_pause(pauses, failure):
    fn, calls = _runs(failure())
    assert ex.FirestoreExecutor(_Db())._transact(fn, "test") == "committed"  # type: ignore[arg-type]
    assert len(calls) == 2
    assert len(pauses) == 1 and 0 <= pauses[0] <= ex.COMMIT_PAUSE_S


def test_aborted_every_time_gives_up_as_transient_with_bounded_pauses(pauses):
    fn, calls = _runs(*[_exhausted()] * ex.TXN_ATTEMPTS)
    with pytest.raises(TransientError, match="Failed to commit"):
        ex.FirestoreExecutor(_Db())._transact(fn, "test")  # type: ignore[arg-type]
    assert len(calls) == ex.TXN_ATTEMPTS
    assert len(pauses) == ex.TXN_ATTEMPTS - 1  # none after the last attempt
    assert all(0 <= p <= ex.COMMIT_PAUSE_S * 2**i for i, p in enumerate(pauses)), pauses


def test_other_failures_are_not_run_again(pauses):
    fn, calls = _runs(gexc.ServiceUnavailable("down"))
    with pytest.raises(TransientError, match="down"):
        ex.FirestoreExecutor(_Db())._transact(fn, "test")  # type: ignore[arg-type]
    assert len(calls) == 1 and pauses == []
