"""features/cynork/cynork_admin.feature: credentials, preferences, settings, nodes and audit through the real CLI.

Each part's steps live in tests/bdd/admin_<part>_steps.py (the skills steps too, for the audit scenario that uses every
part); the shared steps (servers, running the CLI, output checks) in conftest.py.
"""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.admin_audit_steps import *
from tests.bdd.admin_creds_steps import *
from tests.bdd.admin_nodes_steps import *
from tests.bdd.admin_prefs_steps import *
from tests.bdd.admin_skills_steps import *

scenarios("cynork/cynork_admin.feature")
