"""Steps for features/orchestrator/orchestrator_task_lifecycle.feature: tasks end to end on a real server.

The steps live in tests.bdd.task_steps (shared with the hardening suite) and, for prompt tasks against the fake
inference backend, tests.bdd.prompt_steps.
"""

from pytest_bdd import scenarios

# pylint: disable-next=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.task_steps import *
# pylint: disable-next=wildcard-import,unused-wildcard-import
from tests.bdd.prompt_steps import *
from tests.bdd.prompt_steps import _fake_inference  # pylint: disable=unused-import  # a fixture, found by name
from tests.bdd.task_steps import (  # pylint: disable=unused-import  # fixtures, found by name
    _feature_server, _leave_nothing_running, _process_server)

FEATURE = "orchestrator/orchestrator_task_lifecycle.feature"

scenarios(FEATURE)
