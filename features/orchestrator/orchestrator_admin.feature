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
  @req_admin_nodes @spec_issue_10 @spec_gateway_13
  Scenario: any user lists the nodes and reads one by slug or id; an unknown node is 404
    Given "node-reader" is signed in
    When "node-reader" sends GET "/v1/nodes"
    Then the response status is 200
    And the node list holds "local", active, enabled and not drained, with a heartbeat and a capability summary
    When "node-reader" sends GET "/v1/nodes/local"
    Then the response status is 200
    And the response JSON field "node_slug" is "local"
    When "node-reader" sends GET "/v1/nodes/no-such-node"
    Then the response is a problem with status 404 and detail "Node not found"
    When "node-reader" sends GET "/v1/nodes?limit=0"
    Then the response is a problem with status 400 and detail "Invalid limit, offset, or cursor"

  @req_admin_nodes @spec_issue_10 @spec_gateway_13 @spec_gateway_15
  Scenario: an admin disables, drains and enables the node; each answer has the spec's shape and is audited
    Given a separate cynode server
    And "admin" is signed in
    When "admin" sends POST "/v1/nodes/local/disable"
    Then the response status is 200
    And the response JSON is '{"enabled": false}' with the id of the node "local"
    And the node "local" is "inactive"
    When "admin" sends POST "/v1/nodes/local/drain"
    Then the response JSON is '{"drained": true}' with the id of the node "local"
    And the node "local" is "drained"
    When "admin" sends POST "/v1/nodes/local/enable"
    Then the response JSON is '{"enabled": true}' with the id of the node "local"
    And the node "local" is "active"
    And the audit log has the node events "node.disable, node.drain, node.enable" on "local" by "admin"

  @req_admin_nodes @spec_issue_10 @spec_gateway_13 @spec_gateway_15
  Scenario: a user who is not an admin gets 403 on every node action, and each refusal is audited
    Given a separate cynode server
    And "node-nobody" is signed in
    When "node-nobody" sends these requests:
      | method | path                                |
      | POST   | /v1/nodes/local/enable              |
      | POST   | /v1/nodes/local/disable             |
      | POST   | /v1/nodes/local/drain               |
      | POST   | /v1/nodes/local/refresh-config      |
      | POST   | /v1/nodes/local/prefetch-image      |
    Then every response is a problem with status 403 and detail "Admin required"
    And the node "local" is "active"
    And the audit log has 5 denied node requests by "node-nobody"

  @req_admin_nodes @spec_issue_10 @spec_gateway_13
  Scenario: refresh-config is accepted, and the node applies a new configuration at once
    Given a separate cynode server
    And "admin" is signed in
    When the admin notes the configuration version of the node "local"
    And "admin" sends POST "/v1/nodes/local/refresh-config"
    Then the response status is 202
    And the response JSON is '{"refresh_config_requested": true}' with the id of the node "local"
    And the node "local" soon has a new configuration applied
    And the audit log has the node events "node.refresh_config" on "local" by "admin"

  @req_admin_nodes @spec_issue_10 @spec_gateway_13
  Scenario: prefetch-image records the request (202) and refuses a missing or bad image_ref (400)
    Given "admin" is signed in
    When "admin" sends POST "/v1/nodes/local/prefetch-image" with the JSON body '{"image_ref": "alpine:3.20"}'
    Then the response status is 202
    And the response JSON is '{"image_ref": "alpine:3.20", "prefetch_requested": true}' with the id of the node "local"
    When "admin" sends POST "/v1/nodes/local/prefetch-image" with the JSON body '{}'
    Then the response is a problem with status 400 and detail "image_ref is required"
    When "admin" sends POST "/v1/nodes/local/prefetch-image" with the JSON body '{"image_ref": "two words"}'
    Then the response is a problem with status 400 and detail starting with "image_ref must be"


  # --- skills ---------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


