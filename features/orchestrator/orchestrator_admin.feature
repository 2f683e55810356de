@suite_orchestrator_admin
Feature: Gateway administration routes: credentials, preferences, settings, nodes, skills and audit
  The admin surface over HTTP (spec/gateway.md §9, §11-§15) against a real `cynode serve`: each route with its
  success shape, the non-admin 403 case and a bad-input case; every error is problem+json (skill policy
  rejections excepted, as specified) and every change and refusal is an audit event.

  Background:
    Given a running cynode server

  # --- credentials ----------------------------------------------------------------------------------------


  # --- preferences and system settings --------------------------------------------------------------------
  @req_prefs @spec_gateway_11 @spec_gateway_15
  Scenario: a user sets, reads, lists, merges and deletes their own preferences
    Given "pref-ann" is signed in
    When "pref-ann" sends POST "/v1/prefs" with the JSON '{"scope_type": "user", "key": "output.summary_style", "value": "concise", "reason": "short please"}'
    Then the response status is 200
    And the response JSON has exactly the keys "scope_type, scope_id, key, value, value_type, version, updated_at, updated_by, ok"
    And the response JSON "scope_id" is "${ID:pref-ann}"
    And the response JSON "value_type" is "string"
    And the response JSON "version" is 1
    And the audit log has a "preference.set" event by "pref-ann" on "preference" "user:${ID:pref-ann}:output.summary_style" with decision "allow"
    When "pref-ann" sends PUT "/v1/prefs/output.summary_style" with the JSON '{"scope_type": "project", "scope_id": "{project:pref-ann}", "value": "bullets"}'
    Then the response status is 200
    When "pref-ann" sends GET "/v1/prefs/effective?project_id={project:pref-ann}" naming default projects
    Then the response status is 200
    And the response JSON "effective" is {"output.summary_style": "bullets"}
    And the response JSON "sources/0/scope_type" is "project"
    When "pref-ann" sends GET "/v1/prefs?scope_type=user"
    Then the response JSON "preferences/0/value" is "concise"
    When "pref-ann" sends DELETE "/v1/prefs/output.summary_style?scope_type=user"
    Then the response status is 200
    And the response JSON "deleted" is true
    When "pref-ann" sends GET "/v1/prefs/output.summary_style?scope_type=user"
    Then the response is a problem with status 404 and detail "Preference not found"

  @req_prefs @spec_gateway_11 @spec_gateway_15
  Scenario: only an admin writes the system scope; the refusal is audited
    Given "pref-ben" is signed in
    When "pref-ben" sends POST "/v1/prefs" with the JSON '{"scope_type": "system", "key": "language.preferred", "value": "en"}'
    Then the response is a problem with status 403 and detail "Admin required"
    And the audit log has a "access_denied" event by "pref-ben" on "preference" "" with decision "deny"
    When "admin" sends POST "/v1/prefs" with the JSON '{"scope_type": "system", "key": "language.preferred", "value": "en"}'
    Then the response status is 200
    And the response JSON "scope_id" is null
    And the audit log has a "preference.set" event by "admin" on "preference" "system::language.preferred" with decision "allow"
    When "pref-ben" sends GET "/v1/prefs/language.preferred?scope_type=system"
    Then the response JSON "value" is "en"

  @req_prefs @spec_gateway_11
  Scenario: a value_type that does not match the value is a 400, another user's scope a 403
    Given "pref-cat" is signed in
    When "pref-cat" sends POST "/v1/prefs" with the JSON '{"scope_type": "user", "key": "standards.markdown.line_length", "value": "100", "value_type": "number"}'
    Then the response is a problem with status 400 and detail "value_type 'number' does not match the value, which is of type 'string'"
    When "pref-cat" sends POST "/v1/prefs" with the JSON '{"scope_type": "user", "scope_id": "${ID:admin}", "key": "k", "value": 1}'
    Then the response is a problem with status 403 and detail "Not your preferences"

  @req_prefs @spec_gateway_11
  Scenario: a stale expected_version is a 409 and changes nothing
    Given "pref-dan" is signed in
    When "pref-dan" sends PUT "/v1/prefs/code.language.rank_ordered" with the JSON '{"scope_type": "user", "value": ["python"]}'
    And "pref-dan" sends PUT "/v1/prefs/code.language.rank_ordered" with the JSON '{"scope_type": "user", "value": ["go"], "expected_version": 1}'
    Then the response JSON "version" is 2
    When "pref-dan" sends PUT "/v1/prefs/code.language.rank_ordered" with the JSON '{"scope_type": "user", "value": ["rust"], "expected_version": 1}'
    Then the response is a problem with status 409 and detail "version conflict"
    When "pref-dan" sends GET "/v1/prefs/code.language.rank_ordered?scope_type=user"
    Then the response JSON "value" is ["go"]

  @req_settings @spec_gateway_12 @spec_gateway_15
  Scenario: everyone reads system settings, only admins write them, and both are audited
    Given "pref-eve" is signed in
    When "admin" sends PUT "/v1/settings/agents.project_manager.model.selection.execution_mode" with the JSON '{"value": "force_local", "reason": "no egress"}'
    Then the response status is 200
    And the response JSON "ok" is true
    And the audit log has a "setting.set" event by "admin" on "system_setting" "agents.project_manager.model.selection.execution_mode" with decision "allow"
    When "pref-eve" sends GET "/v1/settings/agents.project_manager.model.selection.execution_mode"
    Then the response JSON "value" is "force_local"
    When "pref-eve" sends PUT "/v1/settings/agents.project_manager.model.selection.execution_mode" with the JSON '{"value": "auto"}'
    Then the response is a problem with status 403 and detail "Admin required"
    And the audit log has a "access_denied" event by "pref-eve" on "system_setting" "agents.project_manager.model.selection.execution_mode" with decision "deny"
    When "admin" sends PUT "/v1/settings/agents.project_manager.model.selection.execution_mode" with the JSON '{"value": "sometimes"}'
    Then the response is a problem with status 400 and detail "agents.project_manager.model.selection.execution_mode must be one of: auto, force_local, force_external"


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- skills ---------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


