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
  @req_admin_nodes @spec_issue_10 @spec_cli_7_10
  Scenario: any signed-in user sees the server's own node "local", active, in the table, the line and JSON
    Given the admin has created user "node-viewer" with password "viewer-pass-9"
    And I am logged in as "node-viewer"
    When I run cynork "nodes list"
    Then the exit code is 0
    And the node table shows "local" as "active" and enabled
    When I run cynork "nodes get local"
    Then the exit code is 0
    And the node line shows "local" as "active" and enabled
    When I run cynork "-o json nodes get local"
    Then the exit code is 0
    And the JSON field "node_slug" is "local"
    And the JSON field "drained" is false

  @req_admin_nodes @spec_issue_10 @spec_cli_7_10 @spec_gateway_10_8
  Scenario: an admin drains the node: a new task waits in the queue, and enable runs it at once
    Given a separate cynode server
    And I am logged in as "admin"
    When I run cynork "nodes drain local -y"
    Then the exit code is 0
    And stdout is exactly "node_id=local drained=true"
    When I run cynork "task create --command 'echo resumed' --name after-drain"
    Then the exit code is 0
    And the task "after-drain" is still queued a moment later
    When I run cynork "nodes get local"
    Then the node line shows "local" as "drained" and enabled
    When I run cynork "nodes enable local -y"
    Then the exit code is 0
    And stdout is exactly "node_id=local enabled=true"
    When I run cynork "task result after-drain --wait"
    Then the exit code is 0
    And stdout contains "resumed"

  @req_admin_nodes @spec_issue_10 @spec_cli_7_10 @spec_cli_3
  Scenario: a user who is not an admin cannot change a node (exit 3) and the node stays as it was
    Given the admin has created user "node-user" with password "node-user-pass-9"
    And I am logged in as "node-user"
    When I run cynork "nodes disable local -y"
    Then the exit code is 3
    And stdout is empty
    And stderr is one line starting with "Error: 403 Forbidden: Admin required"
    When I run cynork "nodes refresh-config local"
    Then the exit code is 3
    When I run cynork "nodes get local"
    Then the node line shows "local" as "active" and enabled

  @req_admin_nodes @spec_issue_10 @spec_cli_7_10
  Scenario: disable asks first; a declined prompt sends nothing
    Given I am logged in as "admin"
    When I run cynork "nodes disable local" with stdin "n\n"
    Then the exit code is 0
    And stdout is empty
    And stderr starts with "Disable node local? [y/N] "
    And the server saw no request from that run
    When I run cynork "nodes get local"
    Then the node line shows "local" as "active" and enabled

  @req_admin_nodes @spec_issue_10 @spec_cli_7_10 @spec_cli_3
  Scenario Outline: bad input: a bad flag is exit 2 before any request, a bad image 6, an unknown node 4
    Given I am logged in as "admin"
    When I run cynork "<command>"
    Then the exit code is <code>
    And stdout is empty
    And stderr is one line starting with "<error>"

    Examples:
      | command                                    | code | error                                                |
      | nodes list --limit 0                       | 2    | Error: --limit must be an integer from 1 to 200      |
      | nodes prefetch-image local 'alpine latest' | 6    | Error: 400 Bad Request: image_ref must be            |
      | nodes drain no-such-node -y                | 4    | Error: 404 Not Found: Node not found                 |


  # --- audit ----------------------------------------------------------------------------------------------


