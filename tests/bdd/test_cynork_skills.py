"""features/cynork/cynork_skills.feature: skills through the real CLI and server (steps in admin_skills_steps.py; the
audit checks in admin_audit_steps.py)."""

from pytest_bdd import scenarios

# pylint: disable=wildcard-import,unused-wildcard-import  # step fixtures are module attributes
from tests.bdd.admin_audit_steps import *
from tests.bdd.admin_skills_steps import *

scenarios("cynork/cynork_skills.feature")
