"""features/orchestrator/orchestrator_postgres.feature: start-up errors, the password file and a database outage,
against a real server on a real PostgreSQL (through a TCP proxy that can be cut)."""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.postgres_steps import *

scenarios("orchestrator/orchestrator_postgres.feature")
