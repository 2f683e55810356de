"""Steps for the skills part of the admin features (features/cynork/cynork_admin.feature,
features/orchestrator/orchestrator_admin.feature). The shared steps live in conftest.py."""
