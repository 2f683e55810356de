@suite_orchestrator_hardening
Feature: Hardening against hostile jobs and clients

  A job controls every byte and every path under its work dir; a client controls every byte of a request.
  Neither gets anything of the host or of other users out of the server, and neither can wear it down.

  # --- 1. job outputs never reach host files ----------------------------------------------------------------

  # --- 2. the process runner tells the truth and isolates what it can ---------------------------------------

  # --- 3. no request can exhaust the server -----------------------------------------------------------------

  @req_tasks_artifacts @req_gateway_errors @spec_gateway_1 @spec_gateway_4_5
  Scenario: a multipart body of 150,000 empty parts is refused at the first part past the limit, in bounded memory
    Given a separate cynode server
    When "alice" sends a multipart task of a request part and 150000 empty attachment parts
    Then the response is a problem with status 400 and detail "attachments: at most 16 files"
    And the server's resident memory grew by less than 40 MiB over that

  @req_tasks_artifacts @spec_gateway_4_5
  Scenario: 17 attachments are refused and nothing is kept
    Given a running cynode server
    And "alice" is signed in
    And 17 attachments of 1 byte each
    When "alice" creates a script task with those attachments:
      """
      true
      """
    Then the response is a problem with status 400 and detail "attachments: at most 16 files"
    And "alice" has no new task and the server kept no new artifact files

  @req_gateway_auth @req_gateway_rate_limit @spec_gateway_3_4
  Scenario: failed logins with 2 MB handles are refused before anything keeps them
    Given a separate cynode server
    When 30 failed logins with distinct 2 MB handles are sent
    Then every response is a problem with status 400 and detail "handle: at most 64 characters"
    When 30 failed logins with other distinct 2 MB handles are sent
    Then every response is a problem with status 400 and detail "handle: at most 64 characters"
    And the server's resident memory grew by less than 20 MiB over that

  @req_gateway_auth @req_gateway_rate_limit @spec_gateway_3_4
  Scenario: wrong passwords from one address do not lock the owner out at another
    Given a separate cynode server with "CYNODE_TRUST_PROXY_HEADERS=true CYNODE_LOGIN_LIMIT_PER_HANDLE=3"
    And the admin has created user "carol" with password "carol-password-1"
    When 4 logins as "carol" with a wrong password come from address "203.0.113.9"
    Then the responses had the statuses 401, 401, 401, 429
    When "carol" logs in with the right password from address "198.51.100.7"
    Then the response status is 200
    When "carol" logs in with the right password from address "203.0.113.9"
    Then the response is a problem with status 429 and detail "Too many login attempts"

  @req_tasks_create @req_tasks_commands @spec_gateway_4_5
  Scenario: prompt and commands are size-limited together
    Given a running cynode server
    When "alice" creates a commands task of 100 commands of 30000 bytes each
    Then the response is a problem with status 400 and detail "task input (prompt and commands together) exceeds 1048576 bytes"

  @req_gateway_auth @req_tasks_create @req_gateway_errors @spec_gateway_1 @spec_gateway_3_4 @spec_gateway_4_5
  Scenario Outline: text that cannot be stored is a 400 on login and task create, never a 500
    Given a running cynode server
    When I send POST "/v1/auth/login" with body '{"handle": "<text>", "password": "x"}'
    Then the response is a problem with status 400 and detail starting with "Invalid request body: <problem>"
    When "alice" creates a task with '{"input_mode": "script", "prompt": "true", "task_name": "<text>"}'
    Then the response is a problem with status 400 and detail starting with "Invalid request body: <problem>"
    When "alice" creates a task with '{"input_mode": "script", "prompt": "true", "<text>": 1}'
    Then the response is a problem with status 400 and detail starting with "Invalid request body: <problem>"
    When "alice" creates a multipart task whose request part is '{"input_mode": "script", "prompt": "<text>"}'
    Then the response is a problem with status 400 and detail starting with "request part: Invalid request body: <problem>"

    Examples:
      | text   | problem                    |
      | \ud800 | text must be valid Unicode |
      | \u0000 | NUL characters             |

  @req_tasks_ownership @req_gateway_errors @spec_gateway_1 @spec_gateway_4_6
  Scenario: paths and queries that are not storable text are a 400, never a 500
    Given a running cynode server
    When "alice" sends these requests:
      | method | path                   |
      | GET    | /v1/tasks/%00          |
      | GET    | /v1/tasks/%00/result   |
      | POST   | /v1/tasks/%00/cancel   |
    Then every response is a problem with status 400 and detail "Invalid path: NUL characters (\u0000) are not allowed"
    When "alice" sends GET "/v1/tasks?status=queued%00"
    Then the response is a problem with status 400 and detail "Invalid query string: NUL characters (\u0000) are not allowed"
    When "alice" sends GET "/v1/tasks/%ED%A0%80"
    Then the response is a problem with status 400 and detail "Invalid path: text must be UTF-8"

  @req_gateway_errors @spec_gateway_1
  Scenario: a client cannot forge request-log lines
    Given a running cynode server
    When I send GET "/x%0a2026-01-01%2000:00:00,000%20INFO%20cynode.http%20method=GET%20path=/v1/admin%20status=200"
    Then the response is a problem with status 404
    And the server log has exactly one line per request sent in this scenario
    And the server log has a line with "path=/x\x0a2026-01-01\x2000:00:00,000\x20INFO\x20cynode.http\x20method=GET"
    And no line of the server log starts with "2026-01-01 00:00:00,000"

  @req_tasks_artifacts @req_gateway_errors @spec_gateway_1 @spec_gateway_1_1
  Scenario: bodies over the limits get the same 413 problem as every other error, and are logged
    Given a running cynode server
    And "alice" is signed in
    When "alice" starts a multipart task upload declaring 200 MiB
    Then the response is a problem with status 413 and detail "request body exceeds 178257920 bytes"
    When "alice" sends a JSON task body of 11 MiB
    Then the response is a problem with status 413 and detail "request body exceeds 10485760 bytes"
    And the server log has exactly one line per request sent in this scenario

  # --- 4. users share the dispatcher fairly -----------------------------------------------------------------

  # --- 5. the serve command line and schema upgrades ---------------------------------------------------------
