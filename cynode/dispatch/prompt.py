"""Prompt jobs: the prompt goes to the inference backend as one user message."""

from cynode.contract import TaskStatus
from cynode.dispatch.outcome import Outcome
from cynode.store.records import utcnow

INFERENCE_NOT_CONFIGURED = "[inference not configured] set OLLAMA_BASE_URL or INFERENCE_URL"


def run_prompt(_dispatcher, _job, _cancel) -> Outcome:
    now = utcnow()
    return Outcome(TaskStatus.FAILED, exit_code=1, stderr=INFERENCE_NOT_CONFIGURED, started_at=now, ended_at=now)
