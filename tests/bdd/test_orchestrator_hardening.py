"""Steps for features/orchestrator/orchestrator_hardening.feature: hostile jobs and clients against a real server.

The generic task steps come from tests.bdd.task_steps; each section of the feature has its own step module
(hardening_*_steps), star-imported here because pytest-bdd step definitions are module attributes.
"""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.task_steps import *
from tests.bdd.task_steps import (  # pylint: disable=unused-import  # fixtures, found by name
    _feature_server, _leave_nothing_running, _process_server)

# section 1: job outputs
from tests.bdd.hardening_outputs_steps import *
# section 2: the process runner
from tests.bdd.hardening_runner_steps import *
# section 3: requests
from tests.bdd.hardening_requests_steps import *
# section 4: fair dispatch
from tests.bdd.hardening_store_steps import *
# section 5: serve flags and schema upgrades

FEATURE = "orchestrator/orchestrator_hardening.feature"

scenarios(FEATURE)
