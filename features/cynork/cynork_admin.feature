@suite_cynork_admin
Feature: cynork administration: credentials, preferences, settings, nodes and the audit log
  Admins and users manage egress credentials, preferences, system settings and nodes, and read the audit log,
  with `cynode cli creds|prefs|settings|nodes|audit` against a real `cynode serve`. Secrets are never printed,
  admin-only actions refuse other users (exit 3), bad input is exit 2 before any request, and every change and
  every refusal shows up in the audit log.

  Background:
    Given a running cynode server

  # --- credentials ----------------------------------------------------------------------------------------

  @req_credentials @spec_cli_7_7 @spec_issue_10
  Scenario: a credential created from stdin is listed and shown as metadata, never its secret, and a second one of the same name is a conflict
    Given a new user is logged in to the CLI for credentials
    When I run cynork "creds create --provider github --name gh-token --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    And stdout matches "credential_id={uuid}"
    And stderr is empty
    And the audit log has a "credential.create" event on "credential" "{credential}" by me with decision "allow"
    When I run cynork "creds list --provider github" about the credential
    Then the exit code is 0
    And stdout is the credential table with the one row "{credential}\tgithub\tgh-token\tuser\t{me}\ttrue"
    And no output of that run shows a secret
    When I run cynork "-o json creds get {credential}" about the credential
    Then the exit code is 0
    And the JSON field "name" is "gh-token"
    And the JSON field "active" is true
    And no output of that run shows a secret
    When I run cynork "creds create --provider github --name gh-token --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 5
    And no audit event by me holds a secret of the scenario

  @req_credentials @spec_cli_7_7 @spec_issue_10
  Scenario: rotate takes a new secret; disable asks first, and -y disables at once; both are audited
    Given a new user is logged in to the CLI for credentials
    When I run cynork "creds create --provider openai --name key --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    When I run cynork "creds rotate {credential} --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    And stdout is exactly "credential_id={credential} rotated=true\n" for the credential
    And the audit log has a "credential.rotate" event on "credential" "{credential}" by me with decision "allow"
    When I run cynork "creds disable {credential}" about the credential with stdin "n\n"
    Then the exit code is 0
    And stdout is empty
    And the server saw no request from that run
    When I run cynork "-o json creds disable {credential} -y" about the credential
    Then the exit code is 0
    And the JSON field "disabled" is true
    And the audit log has a "credential.disable" event on "credential" "{credential}" by me with decision "allow"
    When I run cynork "creds list --active false" about the credential
    Then stdout is the credential table with the one row "{credential}\topenai\tkey\tuser\t{me}\tfalse"
    And no audit event by me holds a secret of the scenario

  @req_credentials @req_sandbox_isolation @spec_cli_7_7 @spec_gateway_14 @spec_issue_10 @pyz
  Scenario: my job receives my credential as CYNODE_CRED_<NAME>; another user's task naming it is refused
    Given a new user is logged in to the CLI for credentials
    And a new user is logged in to the CLI for credentials in profile "other"
    When I run cynork "creds create --provider github --name gh-token --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    When I run cynork "task create --command 'printenv CYNODE_CRED_GH_TOKEN | sha256sum' --cred gh-token --result"
    Then the exit code is 0
    And stdout holds the SHA-256 of the secret as the job saw it
    When I run cynork "task create --command 'printenv CYNODE_CRED_GH_TOKEN' --cred gh-token" as "other"
    Then the exit code is 6
    And stderr is exactly "Error: 400 Bad Request: credential 'gh-token': you have no active credential with this name or id"
    When I run cynork "task create --command true --cred {credential}" about the credential as "other"
    Then the exit code is 6

  @req_credentials @spec_cli_7_7 @spec_cli_3 @spec_issue_10
  Scenario Outline: bad secret input is a usage error before any request (<case>)
    Given a new user is logged in to the CLI for credentials
    When I run cynork "<args>" with stdin "<stdin>"
    Then the exit code is 2
    And stderr starts with "Error: <error>"
    And the server saw no request from that run

    Examples:
      | case             | args                                                                               | stdin | error                                         |
      | empty secret     | creds create --provider p --name n --secret-from-stdin                             | \n    | the secret must not be empty                  |
      | both sources     | creds create --provider p --name n --secret-from-stdin --secret-file /etc/hostname | x     |                                               |
      | unreadable file  | creds create --provider p --name n --secret-file /nonexistent/secret               |       | secret file "/nonexistent/secret"             |
      | group without id | creds create --provider p --name n --owner-type group --secret-from-stdin          | x     | --owner-id is required for a group credential |
      | bad owner type   | creds create --provider p --name n --owner-type team --secret-from-stdin           | x     | owner-type must be user or group              |


  # --- preferences and system settings --------------------------------------------------------------------
  @req_prefs @spec_cli_7_8 @spec_gateway_11 @pyz
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
  Scenario: settings are read by everyone and written by admins only; the refusal is audited
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
    And the audit log has an "access_denied" event on "system_setting" with no resource id by "pref-gus" with decision "deny" and details {"method": "POST", "path": "/v1/settings", "reason": "Admin required"}
    When I run cynork "settings delete --key agents.project_manager.model.selection.prefer_orchestrator_host" as "adm"
    Then stdout is exactly "deleted=true"


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
  Scenario: an admin drains the node: a new task waits in the queue, and enable runs it at once; both are audited
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
    And the audit log's "node" events by "admin" are exactly "node.drain, node.enable", oldest first, on "{node:local}" with decision "allow" and details including {"node_slug": "local"}

  @req_admin_nodes @spec_issue_10 @spec_cli_7_10 @spec_cli_3
  Scenario: a user who is not an admin cannot change a node (exit 3, audited) and the node stays as it was
    Given the admin has created user "node-user" with password "node-user-pass-9"
    And I am logged in as "node-user"
    When I run cynork "nodes disable local -y"
    Then the exit code is 3
    And stdout is empty
    And stderr is one line starting with "Error: 403 Forbidden: Admin required"
    And the audit log has an "access_denied" event on "node" "local" by "node-user" with decision "deny" and details {"method": "POST", "path": "/v1/nodes/local/disable", "reason": "Admin required"}
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
      | nodes list --limit 0                       | 2    | Error: --limit must be a whole number from 1 to 200  |
      | nodes prefetch-image local 'alpine latest' | 6    | Error: 400 Bad Request: image_ref must be            |
      | nodes drain no-such-node -y                | 4    | Error: 404 Not Found: Node not found                 |


  # --- audit ----------------------------------------------------------------------------------------------

  @req_audit @spec_cli_7_12 @spec_gateway_15 @spec_issue_10
  Scenario: a user's login, task create and cancel are in their audit log and not in another user's
    Given the admin has created user "aud-alice" with password "alice-pass-1"
    And the admin has created user "aud-bob" with password "bob-pass-12"
    And I am logged in as "aud-alice"
    And I am logged in as "aud-bob" in profile "bob"
    When I run cynork "task create --command 'sleep 30' --name aud-sleeper"
    And I run cynork "task cancel aud-sleeper --yes"
    And I run cynork "audit list"
    Then the exit code is 0
    And the audit table's first line is the header
    And the audit table lists "task.cancel, task.create, login_success" by "aud-alice", newest first
    When I run cynork "audit list" as "bob"
    Then the exit code is 0
    And the audit table lists only events by "aud-bob"

  @req_audit @spec_cli_7_12 @spec_gateway_15 @spec_issue_10
  Scenario: audit list --resource-type and --actor-id narrow the admin's list to one user's auth events, where their refused attempt is a deny, as in their own list
    Given the admin has created user "aud-carol" with password "carol-pass-1"
    And I am logged in as "aud-carol"
    And I am logged in as "admin" in profile "admin"
    When I run cynork "users create aud-never --password-stdin" with stdin "never-pass-1\n"
    Then the exit code is 3
    When the admin runs cynork "audit list --resource-type auth" for the events of "aud-carol"
    Then the exit code is 0
    And the audit table lists "access_denied, login_success" by "aud-carol", newest first
    And the newest listed event's decision is "deny"
    When I run cynork "audit list --resource-type auth"
    Then the audit table lists "access_denied, login_success" by "aud-carol", newest first

  @req_audit @spec_cli_7_12 @spec_cli_3 @spec_issue_10
  Scenario Outline: a --since or --until that is not an RFC 3339 time is a usage error before any request
    Given I am logged in as "admin"
    When I run cynork "audit list <flag> <value>"
    Then the exit code is 2
    And stdout is empty
    And stderr starts with "Error: <flag> must be an RFC 3339 time"
    And the server saw no request from that run

    Examples:
      | flag    | value               |
      | --since | yesterday           |
      | --until | 2026-11-30          |
      | --since | 2026-11-30T08:00:00 |

  @req_audit @spec_cli_7_12 @spec_gateway_15 @spec_issue_10
  Scenario: another user's audit event is not found
    Given the admin has created user "aud-erin" with password "erin-pass-12"
    And the admin has created user "aud-frank" with password "frank-pass-1"
    And I am logged in as "aud-frank" in profile "frank"
    And I am logged in as "aud-erin"
    When I run cynork "audit get" on the newest audit event of "aud-frank"
    Then the exit code is 4
    And stderr is exactly "Error: 404 Not Found: Audit event not found"
    When I run cynork "audit get" on the newest audit event of "aud-erin"
    Then the exit code is 0
    And stdout has one key=value line per field of that event, in the gateway's order

  @req_audit @spec_cli_7_12 @spec_cli_2_2 @spec_issue_10
  Scenario: audit list and get in JSON are the gateway's event objects
    Given the admin has created user "aud-gwen" with password "gwen-pass-12"
    And I am logged in as "aud-gwen"
    When I run cynork "-o json audit list --limit 1"
    Then the exit code is 0
    And the JSON output has exactly the keys "events, next_cursor"
    And the JSON event 1 has exactly the keys "event_id, ts, actor_id, actor_handle, action, resource_type, resource_id, decision, success, ip_address, user_agent"
    And the JSON event 1 has the action "login_success" by "aud-gwen"
    When I run cynork "-o json audit get" on the newest audit event of "aud-gwen"
    Then the exit code is 0
    And the JSON output has exactly the keys "event_id, ts, actor_id, actor_handle, action, resource_type, resource_id, decision, success, ip_address, user_agent"

  @req_audit @req_credentials @req_prefs @req_settings @req_skills @req_admin_nodes @spec_cli_7_12 @spec_gateway_15 @spec_issue_10 @pyz
  Scenario: what a user and an admin do through the CLI on every admin surface is in the admin's audit list, allowed or denied, and the user lists only their own
    Given a separate cynode server
    And the admin has created user "aud-mia" with password "mia-pass-123"
    And I am logged in as "aud-mia"
    And I am logged in as "admin" in profile "admin"
    And the skill file "notes.md" holding "# Notes\n"
    When I run cynork "creds create --provider github --name gh-token --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    When I run cynork "prefs set --scope-type user --key standards.markdown.line_length --value 100"
    Then the exit code is 0
    When I run cynork "settings set --key agents.project_manager.model.selection.prefer_orchestrator_host --value true"
    Then the exit code is 3
    When I run cynork "skills load notes.md --name Notes"
    Then the exit code is 0
    And stdout shows a new skill id
    When I run cynork "nodes drain local -y"
    Then the exit code is 3
    When I run cynork "settings set --key agents.project_manager.model.selection.prefer_orchestrator_host --value true" as "admin"
    Then the exit code is 0
    When I run cynork "-o json audit list" as "admin"
    Then the exit code is 0
    And the JSON audit events on anything but "auth" are, oldest first, each sent by cynork from 127.0.0.1:
      | actor   | action            | resource_type  | resource_id                                                     | decision |
      | aud-mia | credential.create | credential     | {credential}                                                    | allow    |
      | aud-mia | preference.set    | preference     | user:${ID:aud-mia}:standards.markdown.line_length               | allow    |
      | aud-mia | access_denied     | system_setting |                                                                 | deny     |
      | aud-mia | skill.load        | skill          | {skill_id}                                                      | allow    |
      | aud-mia | access_denied     | node           | local                                                           | deny     |
      | admin   | setting.set       | system_setting | agents.project_manager.model.selection.prefer_orchestrator_host | allow    |
    When I run cynork "audit list"
    Then the exit code is 0
    And the audit table lists "access_denied, skill.load, access_denied, preference.set, credential.create, login_success" by "aud-mia", newest first
    And no audit event by "aud-mia" holds a secret of the scenario
