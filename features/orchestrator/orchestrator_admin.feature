@suite_orchestrator_admin
Feature: Gateway administration routes: credentials, preferences, settings, nodes, skills and audit
  The admin surface over HTTP (spec/gateway.md §9, §11-§15) against a real `cynode serve`: each route with its
  success shape, the non-admin 403 case and a bad-input case; every error is problem+json (skill policy
  rejections excepted, as specified) and every change and refusal is an audit event.

  Background:
    Given a running cynode server

  # --- credentials ----------------------------------------------------------------------------------------


  # --- preferences and system settings --------------------------------------------------------------------


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- skills ---------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


