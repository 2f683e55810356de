"""Steps for features/orchestrator/orchestrator_task_lifecycle.feature: tasks end to end on a real server.

The steps live in tests.bdd.task_steps (shared with the hardening suite). Known product limits are bound
below with strict xfail marks, so a fix shows up as an XPASS failure.
"""

import pytest
from pytest_bdd import scenario, scenarios

# pylint: disable-next=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.task_steps import *
from tests.bdd.task_steps import (  # pylint: disable=unused-import  # fixtures, found by name
    _feature_server, _leave_nothing_running, _process_server)

FEATURE = "orchestrator/orchestrator_task_lifecycle.feature"


# --- product bugs (see the module docstring) ------------------------------------------------------------------


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "known limit: ProcessRunner runs root's jobs unprivileged in <data_dir>/work/<task>; when an ancestor of the "
    "data dir is private (the default ~/.local/share/cynode under /root), python cannot open its script. The "
    "server names the closed directory in a start-up warning and in /readyz"))
@scenario(FEATURE, "as plain processes, a python script runs when the data dir lies under a private directory")
def test_process_runner_python_under_private_data_dir():
    """Bound here for its xfail mark; the steps are below."""


scenarios(FEATURE)
