"""The one outcome type every job kind ends with, and the result JSON built from it (spec/gateway.md §5)."""

from datetime import datetime

import pytest

from cynode.contract import ResultStatus, TaskStatus
from cynode.dispatch.outcome import Outcome

START, END = datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 9)


def test_a_finished_job_has_the_full_result_shape():
    outcome = Outcome(TaskStatus.COMPLETED, 0, "out", "err", True, False, START, END, extra={"artifacts_error": "x"})
    assert outcome.result("t", "j") == {
        "version": 1, "task_id": "t", "job_id": "j", "status": "completed", "exit_code": 0, "stdout": "out",
        "stderr": "err", "started_at": "2026-01-02T03:04:05Z", "ended_at": "2026-01-02T03:04:09Z",
        "truncated": {"stdout": True, "stderr": False}, "artifacts_error": "x"}
    assert outcome.job_status == "completed"


@pytest.mark.parametrize("status, timed_out, result_status, job_status", [
    (TaskStatus.FAILED, False, ResultStatus.FAILED, "failed"),
    (TaskStatus.FAILED, True, ResultStatus.TIMEOUT, "failed"),
    (TaskStatus.CANCELED, False, ResultStatus.FAILED, "failed"),  # the store keeps a user's cancel `canceled`
])
def test_the_result_status_vocabulary(status, timed_out, result_status, job_status):
    outcome = Outcome(status, started_at=START, ended_at=END, timed_out=timed_out, error="why")
    assert (outcome.result_status, outcome.job_status) == (result_status, job_status)
    assert outcome.result("t", "j")["status"] == result_status.value and outcome.result()["error"] == "why"


def test_a_job_that_never_ran_has_the_short_dispatch_error_form():
    assert Outcome.dispatch_error("gone").result("t", "j") == {"version": 1, "status": "failed", "error": "gone"}


def test_an_unfinished_status_is_no_outcome_and_a_plain_word_is_the_enum():
    with pytest.raises(ValueError, match="cannot end 'running'"):
        Outcome(TaskStatus.RUNNING)
    with pytest.raises(ValueError):
        Outcome("done")
    assert Outcome("completed").status is TaskStatus.COMPLETED
