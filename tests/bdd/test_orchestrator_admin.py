"""features/orchestrator/orchestrator_admin.feature: the admin routes over HTTP against a real server.

Each part's steps live in tests/bdd/admin_<part>_steps.py; the shared steps in conftest.py and task_steps.py.
"""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.admin_audit_steps import *
from tests.bdd.admin_creds_steps import *
from tests.bdd.admin_nodes_steps import *
from tests.bdd.admin_prefs_steps import *
from tests.bdd.admin_skills_steps import *
from tests.bdd.task_steps import *

scenarios("orchestrator/orchestrator_admin.feature")
