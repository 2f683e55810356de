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
  Scenario: a credential created from stdin is listed and shown as metadata, never its secret
    Given a new user is logged in to the CLI for credentials
    When I run cynork "creds create --provider github --name gh-token --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    And stdout matches "credential_id={uuid}"
    And stderr is empty
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

  @req_credentials @spec_cli_7_7 @spec_issue_10
  Scenario: rotate takes a new secret; disable asks first, and -y disables at once
    Given a new user is logged in to the CLI for credentials
    When I run cynork "creds create --provider openai --name key --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    When I run cynork "creds rotate {credential} --secret-from-stdin" with a fresh secret on stdin
    Then the exit code is 0
    And stdout is exactly "credential_id={credential} rotated=true\n" for the credential
    When I run cynork "creds disable {credential}" about the credential with stdin "n\n"
    Then the exit code is 0
    And stdout is empty
    And the server saw no request from that run
    When I run cynork "-o json creds disable {credential} -y" about the credential
    Then the exit code is 0
    And the JSON field "disabled" is true
    When I run cynork "creds list --active false" about the credential
    Then stdout is the credential table with the one row "{credential}\topenai\tkey\tuser\t{me}\tfalse"

  @req_credentials @req_sandbox_isolation @spec_cli_7_7 @spec_gateway_14 @spec_issue_10
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


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


