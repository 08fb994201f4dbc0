"""How Firestore's errors are translated into the project's tree (gcp/fs.py ``translated``)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as gexc

from cloudswarm.errors import PermanentError, TransientError
from cloudswarm.gcp.fs import translated


def _raise(e: Exception) -> None:
    with translated("do it"):
        raise e


@pytest.mark.parametrize(
    "error",
    [
        gexc.ServiceUnavailable("connection refused"),
        gexc.Aborted("contention"),
        gexc.DeadlineExceeded("slow"),
        # A transaction the server dropped while its client was cut off (the emulator's words,
        # seen after an outage, then Firestore's): a new transaction may succeed.
        gexc.InvalidArgument("Transaction is invalid or closed."),
        gexc.InvalidArgument("The referenced transaction has expired or is no longer valid."),
        gexc.FailedPrecondition("Transaction is invalid or closed."),
    ],
)
def test_what_a_retry_may_cure_is_transient(error):
    with pytest.raises(TransientError, match="firestore do it"):
        _raise(error)


@pytest.mark.parametrize(
    "error",
    [
        gexc.InvalidArgument("Property name is too long"),
        gexc.PermissionDenied("no"),
        gexc.Unauthenticated("who"),
    ],
)
def test_what_no_retry_can_cure_is_permanent(error):
    with pytest.raises(PermanentError, match="firestore do it"):
        _raise(error)


def test_a_failed_write_precondition_reaches_its_caller_as_it_is():
    with pytest.raises(gexc.FailedPrecondition):
        _raise(gexc.FailedPrecondition("the stored version does not match the required one"))
