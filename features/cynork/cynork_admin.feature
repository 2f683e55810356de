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
  @req_prefs @spec_cli_7_8 @spec_gateway_11
  Scenario: prefs set, get, list, effective and delete in my own scopes
    Given the admin has created user "pref-fay" with password "fay-password-1"
    And I am logged in as "pref-fay"
    When I run cynork "prefs set --scope-type user --key standards.markdown.line_length --value 100 --reason tidy"
    Then the exit code is 0
    And stdout is exactly "ok=true"
    When I run cynork "prefs get --scope-type user --key standards.markdown.line_length"
    Then stdout is exactly "key=standards.markdown.line_length value=100"
    When I run cynork "prefs set --scope-type project --scope-id {project:pref-fay} --key definition_of_done.required_checks --value [1,2]" naming default projects
    Then the exit code is 0
    When I run cynork "-o json prefs effective --project-id {project:pref-fay}" naming default projects
    Then the exit code is 0
    And the JSON output has exactly the keys "effective, sources"
    When I run cynork "prefs effective --project-id {project:pref-fay}" naming default projects
    Then stdout is the JSON value {"definition_of_done.required_checks": [1, 2], "standards.markdown.line_length": 100}
    When I run cynork "prefs list --scope-type user"
    Then stdout is a value table with the rows "standards.markdown.line_length 100"
    When I run cynork "prefs delete --scope-type user --key standards.markdown.line_length"
    Then stdout is exactly "deleted=true"
    When I run cynork "prefs get --scope-type user --key standards.markdown.line_length"
    Then the exit code is 4
    And stderr is exactly "Error: 404 Not Found: Preference not found"

  @req_prefs @spec_cli_7_8 @spec_cli_3
  Scenario: a --value that is not JSON is exit 2 and sends nothing
    Given I am logged in as "admin"
    When I run cynork "prefs set --scope-type user --key output.summary_style --value concise"
    Then the exit code is 2
    And stderr starts with "Error: --value is not valid JSON"
    And the server saw no request from that run

  @req_settings @spec_cli_7_9 @spec_gateway_12
  Scenario: settings are read by everyone and written by admins only
    Given the admin has created user "pref-gus" with password "gus-password-1"
    And I am logged in as "admin" in profile "adm"
    And I am logged in as "pref-gus"
    When I run cynork "settings set --key agents.project_manager.model.selection.prefer_orchestrator_host --value true" as "adm"
    Then the exit code is 0
    And stdout is exactly "ok=true"
    When I run cynork "settings get --key agents.project_manager.model.selection.prefer_orchestrator_host"
    Then stdout is exactly "key=agents.project_manager.model.selection.prefer_orchestrator_host value=true"
    When I run cynork "settings set --key agents.project_manager.model.selection.prefer_orchestrator_host --value false"
    Then the exit code is 3
    And stderr is exactly "Error: 403 Forbidden: Admin required"
    When I run cynork "settings delete --key agents.project_manager.model.selection.prefer_orchestrator_host" as "adm"
    Then stdout is exactly "deleted=true"


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


