"""features/orchestrator/orchestrator_scaleout.feature: gateways and workers on one PostgreSQL database, as real
processes. The steps live in tests/bdd/scaleout_steps.py (the processes in tests/bdd/scaleout.py); the shared steps in
conftest.py and the node table step in admin_nodes_steps.py."""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.admin_nodes_steps import *
from tests.bdd.scaleout_steps import *

scenarios("orchestrator/orchestrator_scaleout.feature")
