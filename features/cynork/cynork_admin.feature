@suite_cynork_admin
Feature: cynork administration: credentials, preferences, settings, nodes and the audit log
  Admins and users manage egress credentials, preferences, system settings and nodes, and read the audit log,
  with `cynode cli creds|prefs|settings|nodes|audit` against a real `cynode serve`. Secrets are never printed,
  admin-only actions refuse other users (exit 3), bad input is exit 2 before any request, and every change and
  every refusal shows up in the audit log.

  Background:
    Given a running cynode server

  # --- credentials ----------------------------------------------------------------------------------------


  # --- preferences and system settings --------------------------------------------------------------------


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


