"""Steps for features/cynork/cynork_tasks.feature: the CLI's task commands against a real server running jobs.

The steps live in tests.bdd.cynork_task_steps; prompt tasks use the fake inference backend of
tests.bdd.prompt_steps. The shared steps (servers, running the CLI, output checks) live in conftest.py.
"""

from pytest_bdd import scenarios

# pylint: disable-next=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.cynork_task_steps import *
# pylint: disable-next=wildcard-import,unused-wildcard-import
from tests.bdd.prompt_steps import *
from tests.bdd.cynork_task_steps import _clean_up  # pylint: disable=unused-import  # fixtures, found by name
from tests.bdd.prompt_steps import _fake_inference  # pylint: disable=unused-import

scenarios("cynork/cynork_tasks.feature")
