@suite_cynork
Feature: cynork personal API tokens
  As a person setting up CI or a script, I create a long-lived API token with `cynode cli tokens create`, hand it
  to the job as CYNORK_TOKEN (no login, no config file), list my tokens without ever seeing one again, and revoke
  one at once. A token stops working when it is revoked or its user is disabled, cannot mint or revoke tokens, and
  never shows up in the server's log. Every run is a real process against a real `cynode serve`.

  Background:
    Given a running cynode server
    And I am logged in to the CLI as a new user

  @req_api_tokens @spec_issue_10 @pyz
  Scenario: create prints the token once and the token works alone as CYNORK_TOKEN
    When I run cynork "tokens create ci --expires-days 30"
    Then the exit code is 0
    And stdout shows a new API token named "ci"
    And stderr is exactly "Copy the token now: it is not shown again."
    When I run cynork "task create --command true --name from-ci" with my API token and no config
    Then the exit code is 0
    And stdout matches "task_id={uuid} task_name=from-ci"
    When I run cynork "-o json task list" with my API token and no config
    Then the exit code is 0
    And stdout contains "from-ci"
    And the server log never shows my API token

  @req_api_tokens @spec_issue_10
  Scenario: create in JSON gives the route's fields, and the list never shows a token
    When I run cynork "-o json tokens create deploy"
    Then the exit code is 0
    And the JSON output has exactly the keys "token_id, name, token, expires_at"
    And the JSON output is a new API token named "deploy"
    When I run cynork "tokens create nightly --expires-days 365"
    Then stdout shows a new API token named "nightly"
    When I run cynork "tokens list"
    Then the exit code is 0
    And the token table lists "nightly, deploy" and no token value
    When I run cynork "-o json tokens list"
    Then the exit code is 0
    And the JSON token list names "nightly, deploy" and holds no token value

  @req_api_tokens @spec_issue_10
  Scenario: a name is unique among my live tokens
    When I run cynork "tokens create ci"
    Then the exit code is 0
    When I run cynork "tokens create ci"
    Then the exit code is 5
    And stderr is one line starting with "Error: 409 Conflict: you already have a token named 'ci'"

  @req_api_tokens @spec_issue_10
  Scenario: revoke asks first; a declined prompt sends nothing, a yes revokes at once
    When I run cynork "tokens create ci"
    Then stdout shows a new API token named "ci"
    When I run cynork "tokens revoke {token_id}" naming my API token, with stdin "n\n"
    Then the exit code is 0
    And stdout is empty
    And stderr starts with "Revoke token "
    And the server saw no request from that run
    When I run cynork "task list" with my API token and no config
    Then the exit code is 0
    When I run cynork "tokens revoke {token_id}" naming my API token, with stdin "y\n"
    Then the exit code is 0
    And stdout matches "token_id={uuid} revoked=true"
    When I run cynork "task list" with my API token and no config
    Then the exit code is 3
    When I run cynork "tokens revoke {token_id} -y" naming my API token
    Then the exit code is 4

  @req_api_tokens @spec_issue_10
  Scenario: revoke -y asks nothing and the token is refused at once
    When I run cynork "tokens create ci"
    Then stdout shows a new API token named "ci"
    When I run cynork "tokens revoke {token_id} -y" naming my API token
    Then the exit code is 0
    And stdout matches "token_id={uuid} revoked=true"
    And stderr is empty
    When I run cynork "-o json tokens list"
    Then stdout is the JSON value {"tokens": []}
    When I run cynork "task list" with my API token and no config
    Then the exit code is 3
    And stderr is one line starting with "Error: 401 Unauthorized: Invalid or expired token"

  @req_api_tokens @spec_issue_10
  Scenario: a disabled user's token is refused
    When I run cynork "tokens create ci"
    Then stdout shows a new API token named "ci"
    When the admin disables me
    And I run cynork "task list" with my API token and no config
    Then the exit code is 3

  @req_api_tokens @spec_issue_10
  Scenario Outline: --expires-days outside 1..365 is a usage error before any request
    When I run cynork "tokens create ci --expires-days <days>"
    Then the exit code is 2
    And stdout is empty
    And stderr is one line starting with "Error: --expires-days must be a whole number from 1 to 365"
    And the server saw no request from that run

    Examples:
      | days |
      | 0    |
      | 366  |
      | abc  |
      | -5   |

  @req_api_tokens @spec_issue_10
  Scenario: another user cannot revoke my token, nor learn that it exists
    When I run cynork "tokens create ci"
    Then stdout shows a new API token named "ci"
    Given another new user is logged in to the CLI in profile "other"
    When I run cynork "tokens revoke {token_id} -y" naming my API token, as "other"
    Then the exit code is 4
    And stderr is one line starting with "Error: 404 Not Found: Token not found"
    When I run cynork "task list" with my API token and no config
    Then the exit code is 0

  @req_api_tokens @spec_issue_10
  Scenario: an API token cannot create or revoke tokens
    When I run cynork "tokens create ci"
    Then stdout shows a new API token named "ci"
    When I run cynork "tokens create more" with my API token and no config
    Then the exit code is 3
    And stderr is one line starting with "Error: 403 Forbidden: API tokens cannot manage API tokens"
    When I run cynork "tokens list" with my API token and no config
    Then the exit code is 0
    And the token table lists "ci" and no token value
