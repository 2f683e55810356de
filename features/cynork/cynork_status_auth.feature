@suite_cynork @pyz
Feature: cynork status, authentication and user administration
  As a person or a script using `cynode cli`, I check the gateway, log in and out, see who I am and, as an
  admin, manage users, with output and exit codes I can rely on. Every run is a real process against a real
  `cynode serve`; no run may ever show a Python traceback.

  Background:
    Given a running cynode server

  # --- status and version ---------------------------------------------------------------------------------

  @req_client_status @spec_cli_7_2
  Scenario: status reports a healthy gateway
    When I run cynork "status"
    Then the exit code is 0
    And stdout is exactly "ok"
    And stderr is empty

  @req_client_status @spec_cli_7_2 @spec_cli_3
  Scenario Outline: status with the gateway down fails with exit 7 and nothing on stdout
    Given the gateway is unreachable
    When I run cynork "<args>"
    Then the exit code is 7
    And stdout is empty
    And stderr is one line starting with "Error: gateway unreachable: cannot reach gateway at "

    Examples:
      | args            |
      | status          |
      | -o json status  |

  @req_client_output @spec_cli_1_1 @spec_cli_7_2
  Scenario Outline: the output flag in every spelling and position
    When I run cynork "<args>"
    Then the exit code is 0
    And stdout is the JSON value {"gateway": "ok"}
    And stderr is empty

    Examples:
      | args                  |
      | -o json status        |
      | --output json status  |
      | --output=json status  |
      | status -o json        |
      | status -ojson         |

  @req_client_output @spec_cli_1
  Scenario: an output format other than table or json is a usage error
    When I run cynork "-o yaml status"
    Then the exit code is 2
    And stdout is empty
    And stderr is exactly "Error: output must be table or json"

  @req_client_version @spec_cli_7_1
  Scenario: version in table and json form, without any gateway
    Given the gateway is unreachable
    When I run cynork "version"
    Then the exit code is 0
    And stdout is exactly "version=${VERSION}"
    When I run cynork "-o json version"
    Then the exit code is 0
    And stdout is the JSON value {"version": "${VERSION}"}

  # --- login, whoami, the stored session ------------------------------------------------------------------

  @req_client_auth @spec_cli_7_3_1
  Scenario: log in with the password on stdin
    When I run cynork "auth login --handle admin --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 0
    And stdout is exactly "logged_in=true handle=admin"
    And stderr is empty

  @req_client_auth @spec_cli_7_3_1 @spec_cli_2_2
  Scenario: log in with json output
    When I run cynork "-o json auth login -u admin --password-stdin" with stdin "${ADMIN_PASSWORD}"
    Then the exit code is 0
    And stdout is the JSON value {"logged_in": true, "handle": "admin"}

  @req_client_auth @spec_cli_7_3_1 @spec_cli_2_1
  Scenario: log in by answering the prompts on a non-terminal stdin
    When I run cynork "auth login" with stdin "  admin \n${ADMIN_PASSWORD}\n"
    Then the exit code is 0
    And stdout is exactly "logged_in=true handle=admin"
    And stderr starts with "Handle: "
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"

  @req_client_auth @spec_cli_7_3_1
  Scenario: an empty handle at the prompt is a usage error
    When I run cynork "auth login" with stdin "\n"
    Then the exit code is 2
    And stdout is empty
    And stderr ends with "Error: handle is required"
    And the server saw no request from that run
    And there is no config file

  @req_client_auth @spec_cli_7_3_3
  Scenario: whoami shows the logged-in user in table and json form
    Given I am logged in as "admin"
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"
    And stderr is empty
    When I run cynork "auth whoami -o json"
    Then the exit code is 0
    And the JSON output has exactly the keys "id, handle"
    And the JSON field "handle" is "admin"
    And the "id" in the JSON output is the id of user "admin"

  @req_client_auth @spec_cli_7_3_3 @spec_cli_5_1
  Scenario: whoami without a token fails with exit 3 and sends nothing
    When I run cynork "auth whoami"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"
    And the server saw no request from that run

  @req_client_config @spec_cli_4_5 @spec_cli_7_3_1
  Scenario: the session persists across invocations in a private config file
    When I run cynork "auth login --handle admin --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 0
    And the config file has mode 0600 in a directory with mode 0700
    And the config file holds only the keys "token, refresh_token"
    And the config file does not contain the admin password
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"

  @req_client_config @spec_cli_4_2 @spec_cli_4_5
  Scenario: logging in keeps the other keys of the config file
    Given the config file contains "gateway_url: ${GATEWAY_URL}\nfavourite_colour: teal\n"
    And the gateway URL is not set in the environment
    When I run cynork "auth login --handle admin --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 0
    And the config file holds a token and a refresh token
    And the config file has "favourite_colour" set to "teal"
    And the config file has mode 0600
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"

  @req_client_auth @spec_cli_7_3_4
  Scenario: auth refresh swaps the stored tokens and the new ones work
    Given I am logged in as "admin"
    And I remember the stored tokens
    When I run cynork "auth refresh"
    Then the exit code is 0
    And stdout is exactly "Token refreshed successfully."
    And the stored token and refresh token have both changed
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"
    When I run cynork "-o json auth refresh"
    Then the exit code is 0
    And stdout is the JSON value {"refreshed": true}

  @req_client_auth @spec_cli_7_3_4
  Scenario: auth refresh without a stored refresh token
    When I run cynork "auth refresh"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: no refresh token: run 'cynode cli auth login' first"

  @req_client_auth @spec_cli_7_3_4
  Scenario: the client refreshes an expired access token by itself
    Given a separate cynode server with "CYNODE_ACCESS_TOKEN_TTL=1"
    And I am logged in as "admin"
    And I remember the stored tokens
    When the access token has expired
    And I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"
    And the server saw exactly these requests from that run: "GET /v1/users/me 401, POST /v1/auth/refresh 200, GET /v1/users/me 200"
    And the stored token and refresh token have both changed

  @req_client_auth @spec_cli_7_3_2
  Scenario: logout forgets the session and the server revokes it
    Given I am logged in as "admin"
    And I remember the stored tokens
    When I run cynork "auth logout"
    Then the exit code is 0
    And stdout is exactly "logged_out=true"
    And the config file holds no token
    When I run cynork "auth whoami"
    Then the exit code is 3
    And stderr is exactly "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"
    When I run cynork "auth whoami" with CYNORK_TOKEN set to the remembered token
    Then the exit code is 3
    And stderr is exactly "Error: 401 Unauthorized: Invalid or expired token"

  @req_client_auth @spec_cli_7_3_2
  Scenario: logout with the gateway down still succeeds and clears the token
    Given I am logged in as "admin"
    And the gateway is unreachable
    When I run cynork "-o json auth logout"
    Then the exit code is 0
    And stdout is the JSON value {"logged_out": true}
    And the config file holds no token

  @req_client_auth @spec_cli_7_3_2
  Scenario: logout when nobody is logged in is a no-op that creates nothing
    When I run cynork "auth logout"
    Then the exit code is 0
    And stdout is exactly "logged_out=true"
    And there is no config file

  @req_client_auth @spec_cli_7_3_1 @spec_cli_3
  Scenario: a wrong password fails with exit 3 and stores nothing
    When I run cynork "auth login --handle admin --password-stdin" with stdin "not-the-password\n"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: 401 Unauthorized: Invalid credentials"
    And there is no config file

  @req_client_auth @spec_cli_7_3_1 @spec_cli_3
  Scenario: a login refused by the rate limit fails with exit 7
    Given a separate cynode server with "CYNODE_LOGIN_LIMIT_PER_HANDLE=1"
    When I run cynork "auth login --handle admin --password-stdin" with stdin "not-the-password\n"
    Then the exit code is 3
    When I run cynork "auth login --handle admin --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 7
    And stdout is empty
    And stderr is exactly "Error: 429 Too Many Requests: Too many login attempts"
    And there is no config file

  @req_client_config @spec_cli_4_1 @spec_cli_3
  Scenario: login and logout fail with exit 8 when there is nowhere to keep the session
    Given neither HOME nor XDG_CONFIG_HOME is set
    When I run cynork "auth login --handle admin --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 8
    And stdout is empty
    And stderr is exactly "Error: cannot resolve config path: set --config or HOME"
    And the server saw no request from that run
    When I run cynork "auth logout"
    Then the exit code is 8
    And stderr is exactly "Error: cannot resolve config path: set --config or HOME"

  @req_client_auth @spec_cli_7_3_1 @spec_cli_3
  Scenario: --password-stdin needs --handle
    When I run cynork "auth login --password-stdin" with stdin "${ADMIN_PASSWORD}\n"
    Then the exit code is 2
    And stdout is empty
    And stderr is exactly "Error: --password-stdin requires --handle"
    And the server saw no request from that run

  @req_client_usage @spec_cli_3 @spec_cli_7_3_1
  Scenario Outline: unknown flags and misplaced flags are usage errors
    When I run cynork "<args>"
    Then the exit code is 2
    And stdout is empty
    And stderr starts with "<error>"
    And the server saw no request from that run

    Examples:
      | args                                 | error                                        |
      | auth login --handle admin --password x | Error: unknown flag: --password            |
      | status --bogus                       | Error: unknown flag: --bogus                 |
      | auth whoami --handle admin           | Error: --handle is not a flag of 'auth whoami' |
      | auth                                 | Error: 'auth' needs a subcommand             |
      | auth bogus                           | Error: unknown command: auth bogus           |
      | bogus                                | Error: unknown command: bogus                |

  @req_client_usage @spec_cli_2_5
  Scenario: help goes to stdout with exit 0, even with a broken config file
    Given the config file contains "gateway_url: [not closed"
    When I run cynork "status --help"
    Then the exit code is 0
    And stdout contains "cynode cli [options] status"
    And stderr is empty

  @req_client_config @spec_cli_4_2 @spec_cli_3
  Scenario Outline: a broken config file is a usage error before any command runs
    Given the config file contains "<content>"
    When I run cynork "<args>"
    Then the exit code is 2
    And stdout is empty
    And stderr is one line starting with "Error: load config: "
    And the server saw no request from that run

    Examples:
      | content                 | args            |
      | gateway_url: [not closed | version        |
      | gateway_url: [not closed | -o json status |
      | gateway_url: [not closed | auth whoami    |
      | - just\n- a list        | version         |
      | token: 42               | auth whoami     |

  # --- json purity -------------------------------------------------------------------------------------------

  @req_client_output @spec_cli_2_1 @spec_cli_2_2
  Scenario: every successful json command prints exactly one JSON value and nothing else
    When I run these cynork commands:
      | args                                                  | stdin               |
      | -o json version                                       |                     |
      | -o json status                                        |                     |
      | -o json auth login --handle admin --password-stdin    | ${ADMIN_PASSWORD}\n |
      | -o json auth whoami                                   |                     |
      | -o json users list                                    |                     |
      | -o json users create json-jane --password-stdin       | jane-password-1\n   |
      | -o json users disable json-jane                       |                     |
      | -o json auth refresh                                  |                     |
      | -o json auth logout                                   |                     |
    Then every run exited 0 with exactly one pretty-printed JSON value on stdout

  @req_client_output @spec_cli_2_1 @spec_cli_3
  Scenario: every failing json command prints nothing on stdout
    Given I am logged in as "admin"
    When I run these cynork commands:
      | args                                                  | stdin               |
      | -o json users create admin --password-stdin           | some-password-1\n   |
      | -o json users create bad/handle --password-stdin      | some-password-1\n   |
      | -o json users disable no-such-user                    |                     |
      | -o json users list --limit 0                          |                     |
      | -o json auth login --handle admin --password-stdin    | wrong-password\n    |
      | -o json auth whoami --bogus                           |                     |
    Then every run failed with nothing on stdout and one "Error: " line on stderr
    And the runs exited with 5, 6, 4, 2, 3, 2

  # --- users ---------------------------------------------------------------------------------------------------

  @req_client_users @spec_cli_7_3_1 @spec_gateway_3_4
  Scenario: an admin creates a second user who can then log in
    Given I am logged in as "admin"
    When I run cynork "users create bob --password-stdin" with stdin "bob-password-1\n"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=bob is_admin=false is_active=true"
    When I run cynork "auth login --handle bob --password-stdin" with stdin "bob-password-1\n" as "bob"
    Then the exit code is 0
    And stdout is exactly "logged_in=true handle=bob"
    When I run cynork "auth whoami" as "bob"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=bob"
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"

  @req_client_users @spec_cli_3 @spec_gateway_3_4
  Scenario: creating a user whose handle is taken or invalid
    Given I am logged in as "admin"
    When I run cynork "users create admin --password-stdin" with stdin "some-password-1\n"
    Then the exit code is 5
    And stderr is exactly "Error: 409 Conflict: handle 'admin' is taken"
    When I run cynork "users create system --password-stdin" with stdin "some-password-1\n"
    Then the exit code is 6
    And stderr starts with "Error: 400 Bad Request: handle must be"
    When I run cynork "users create shorty --password-stdin" with stdin "short\n"
    Then the exit code is 6
    And stderr is exactly "Error: 400 Bad Request: password must be at least 8 characters"

  @req_client_users @spec_cli_3 @spec_gateway_3_4
  Scenario: a user who is not an admin can neither create nor list users
    Given the admin has created user "carol" with password "carol-password-1"
    And I am logged in as "carol"
    When I run cynork "users create mallory --password-stdin" with stdin "mallory-password-1\n"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: 403 Forbidden: Admin required"
    When I run cynork "users list"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: 403 Forbidden: Admin required"

  @req_client_users @spec_cli_2_3 @spec_gateway_3_4
  Scenario: users list shows every user as a tab-separated table
    Given the admin has created user "dave" with password "dave-password-1"
    And I am logged in as "admin"
    When I run cynork "users list"
    Then the exit code is 0
    And the first line of stdout is "id\thandle\tis_admin\tis_active\tcreated_at"
    And stdout has a row "{uuid}\tadmin\ttrue\ttrue\t{timestamp}"
    And stdout has a row "{uuid}\tdave\tfalse\ttrue\t{timestamp}"
    When I run cynork "users list -o json"
    Then the exit code is 0
    And the JSON output has exactly the keys "users, next_cursor"
    And the JSON field "next_cursor" is ""
    And the JSON users include "admin" and "dave"

  @req_client_users @spec_gateway_3_3 @spec_gateway_3_4
  Scenario: disabling a user ends their session at once and stops them logging in
    Given the admin has created user "erin" with password "erin-password-1"
    And I am logged in as "admin"
    And I am logged in as "erin" in profile "erin"
    When I run cynork "users disable erin"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=erin is_admin=false is_active=false"
    When I run cynork "auth whoami" as "erin"
    Then the exit code is 3
    And stderr is exactly "Error: 401 Unauthorized: Invalid or expired token"
    When I run cynork "auth login --handle erin --password-stdin" with stdin "erin-password-1\n" as "erin"
    Then the exit code is 3
    And stderr is exactly "Error: 401 Unauthorized: Invalid credentials"

  # --- token precedence -----------------------------------------------------------------------------------

  @req_client_config @spec_cli_4_3 @spec_cli_5_1
  Scenario: CYNORK_TOKEN wins over the token in the config file
    Given the admin has created user "frank" with password "frank-password-1"
    And I am logged in as "admin"
    And I am logged in as "frank" in profile "frank"
    When I run cynork "auth whoami" with CYNORK_TOKEN set to the token of profile "frank"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=frank"
    When I run cynork "auth whoami" with CYNORK_TOKEN set to "not-a-real-token"
    Then the exit code is 3
    And stderr is exactly "Error: 401 Unauthorized: Invalid or expired token"
    When I run cynork "auth whoami"
    Then the exit code is 0
    And stdout matches "id={uuid} handle=admin"
