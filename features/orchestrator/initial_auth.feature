@suite_orchestrator
Feature: Gateway health, initial authentication and user administration over HTTP
  The User API Gateway answers health checks, issues and revokes opaque tokens, limits login attempts and
  request sizes, reports every error as problem+json, logs each request without secrets, and stops cleanly.
  Every request here is a real HTTP request to a real `cynode serve`; every error response is also checked
  for the problem+json shape (Content-Type, `type`, `title`, and `status` equal to the HTTP status).

  Background:
    Given a running cynode server

  # --- health -----------------------------------------------------------------------------------------------

  @req_gateway_health @spec_gateway_1_2
  Scenario: liveness and readiness
    When I send GET "/healthz"
    Then the response status is 200
    And the response body is "ok"
    And the response Content-Type starts with "text/plain"
    When I send GET "/readyz"
    Then the response status is 200
    And the response body starts with "ready"

  # --- login ------------------------------------------------------------------------------------------------

  @req_gateway_auth @spec_gateway_3_4
  Scenario: a successful login returns an opaque token pair
    When I send POST "/v1/auth/login" with body '{"handle": "admin", "password": "${ADMIN_PASSWORD}"}'
    Then the response status is 200
    And the response JSON has exactly the keys "access_token, refresh_token, token_type, expires_in"
    And the response JSON field "token_type" is "Bearer"
    And the response JSON field "expires_in" is 900
    And the access and refresh tokens are different non-empty strings
    When I send GET "/v1/users/me" with the access token from that login
    Then the response status is 200
    And the response JSON field "handle" is "admin"
    And the response JSON field "is_admin" is true
    And the response JSON field "is_active" is true

  @req_gateway_auth @req_gateway_errors @spec_gateway_1 @spec_gateway_3_4
  Scenario Outline: malformed login requests are 400 problems
    When I send POST "/v1/auth/login" with body '<body>'
    Then the response is a problem with status 400 and detail "<detail>"

    Examples:
      | body                               | detail                   |
      | {"handle": "admin", "password":    | Invalid request body     |
      | ["admin", "password"]              | Invalid request body     |
      | not json at all                    | Invalid request body     |
      | {"handle": "admin"}                | password is required     |
      | {"password": "whatever-1"}         | handle is required       |
      | {"handle": "", "password": "x"}    | handle is required       |
      | {"handle": 7, "password": "x"}     | handle must be a string  |

  @req_gateway_auth @spec_gateway_3_4
  Scenario: a wrong password and an unknown handle get the same answer
    When I send POST "/v1/auth/login" with body '{"handle": "admin", "password": "wrong-password-1"}'
    Then the response is a problem with status 401 and detail "Invalid credentials"
    And I remember the problem body
    When I send POST "/v1/auth/login" with body '{"handle": "nobody-at-all", "password": "wrong-password-1"}'
    Then the response is a problem with status 401 and detail "Invalid credentials"
    And the problem body equals the remembered one apart from "instance"

  # --- bearer tokens ------------------------------------------------------------------------------------------

  @req_gateway_auth @spec_gateway_3_3
  Scenario Outline: requests without a usable bearer token are 401 problems
    When I send GET "/v1/users/me" with the Authorization header "<header>"
    Then the response is a problem with status 401 and detail "<detail>"

    Examples:
      | header                | detail                       |
      | (none)                | Missing authorization header |
      | Bearer                | Missing authorization header |
      | Basic YWRtaW46eHl6    | Missing authorization header |
      | Bearer not-a-token    | Invalid or expired token     |
      | bearer garbage.garbage | Invalid or expired token    |

  @req_gateway_auth @spec_gateway_3_3
  Scenario: a refresh token is not an access token
    Given "admin" has logged in over HTTP as session "first"
    When I send GET "/v1/users/me" with the refresh token of session "first"
    Then the response is a problem with status 401 and detail "Invalid or expired token"

  @req_gateway_auth @spec_gateway_3_4
  Scenario: refresh rotates the token pair
    Given "admin" has logged in over HTTP as session "first"
    When I refresh session "first" into session "second"
    Then the response status is 200
    And the response JSON has exactly the keys "access_token, refresh_token, token_type, expires_in"
    And session "second" has different tokens from session "first"
    And the access token of session "second" is accepted
    And the access token of session "first" is rejected

  @req_gateway_auth @spec_gateway_3_4
  Scenario: presenting a used refresh token again revokes the whole login
    Given "admin" has logged in over HTTP as session "first"
    And I have refreshed session "first" into session "second"
    When I refresh session "first" into session "stolen"
    Then the response is a problem with status 401 and detail "Invalid refresh token"
    And the access token of session "second" is rejected
    When I refresh session "second" into session "third"
    Then the response is a problem with status 401 and detail "Invalid refresh token"

  @req_gateway_auth @spec_gateway_3_4
  Scenario Outline: bad refresh requests
    When I send POST "/v1/auth/refresh" with body '<body>'
    Then the response is a problem with status <status> and detail "<detail>"

    Examples:
      | body                                | status | detail                        |
      | {"refresh_token": "made-up-token"}  | 401    | Invalid refresh token         |
      | {}                                  | 400    | refresh_token is required     |
      | {"refresh_token":                   | 400    | Invalid request body          |

  @req_gateway_auth @spec_gateway_3_4
  Scenario: logout revokes the login at once and leaves other logins alone
    Given "admin" has logged in over HTTP as session "laptop"
    And "admin" has logged in over HTTP as session "phone"
    When I send POST "/v1/auth/logout" with the access token of session "laptop" and body '{}'
    Then the response status is 204
    And the response body is empty
    And the access token of session "laptop" is rejected
    And the access token of session "phone" is accepted
    When I refresh session "laptop" into session "again"
    Then the response is a problem with status 401 and detail "Invalid refresh token"

  @req_gateway_auth @spec_gateway_3_4
  Scenario: logout accepts an empty body and needs a token
    Given "admin" has logged in over HTTP as session "first"
    When I send POST "/v1/auth/logout" with the access token of session "first" and body ''
    Then the response status is 204
    And the access token of session "first" is rejected
    When I send POST "/v1/auth/logout" with body '{}'
    Then the response is a problem with status 401 and detail "Missing authorization header"

  # --- limits -------------------------------------------------------------------------------------------------

  @req_gateway_rate_limit @spec_gateway_3_4
  Scenario: too many login attempts from one address get 429 with Retry-After
    Given a separate cynode server with "CYNODE_LOGIN_LIMIT_PER_IP=3"
    When I send 3 login requests with body '{"handle": "admin"}'
    Then each of them was answered with status 400
    When I send POST "/v1/auth/login" with body '{"handle": "admin", "password": "${ADMIN_PASSWORD}"}'
    Then the response is a problem with status 429 and detail "Too many login attempts"
    And the response has a Retry-After header of 1 to 60 seconds

  @req_gateway_rate_limit @spec_gateway_3_4
  Scenario: too many failed logins for one handle get 429, other handles are unaffected
    Given a separate cynode server with "CYNODE_LOGIN_LIMIT_PER_HANDLE=2"
    When I send 2 login requests with body '{"handle": "admin", "password": "wrong-password-1"}'
    Then each of them was answered with status 401
    When I send POST "/v1/auth/login" with body '{"handle": "admin", "password": "${ADMIN_PASSWORD}"}'
    Then the response is a problem with status 429 and detail "Too many login attempts"
    And the response has a Retry-After header of 1 to 60 seconds
    When I send POST "/v1/auth/login" with body '{"handle": "somebody-else", "password": "wrong-password-1"}'
    Then the response is a problem with status 401 and detail "Invalid credentials"

  @req_gateway_limits @spec_gateway_1
  Scenario: a request body over the limit is a 413 problem
    Given a separate cynode server with "CYNODE_MAX_BODY_BYTES=1024"
    When I send POST "/v1/auth/login" with a JSON body of 1025 bytes
    Then the response is a problem with status 413
    When I send POST "/v1/auth/login" with a chunked JSON body of 2048 bytes
    Then the response is a problem with status 413
    When I send POST "/v1/auth/login" with a JSON body of 1024 bytes
    Then the response is a problem with status 400 and detail "handle is required"

  # --- routing errors -----------------------------------------------------------------------------------------

  @req_gateway_errors @spec_gateway_1 @spec_gateway_1_1
  Scenario: an unknown path is a 404 problem
    When I send GET "/v1/no-such-thing"
    Then the response is a problem with status 404

  @req_gateway_errors @spec_gateway_1 @spec_gateway_1_1
  Scenario Outline: a known path with the wrong method is a 405 problem naming the allowed methods
    When I send <method> "<path>"
    Then the response is a problem with status 405
    And the response header "Allow" lists "<allowed>"

    Examples:
      | method | path             | allowed |
      | GET    | /v1/auth/login   | POST    |
      | DELETE | /healthz         | GET     |
      | PUT    | /v1/users/me     | GET     |

  # --- user administration ------------------------------------------------------------------------------------

  @req_gateway_users @spec_gateway_3_4
  Scenario: an admin creates a user who can then log in
    Given "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users" with the access token of session "admin" and body '{"handle": "nina", "password": "nina-password-1"}'
    Then the response status is 201
    And the response JSON field "handle" is "nina"
    And the response JSON field "is_admin" is false
    And the response JSON field "is_active" is true
    And the response JSON field "id" holds a UUID
    And the response JSON field "created_at" holds an RFC 3339 UTC timestamp
    When I send POST "/v1/auth/login" with body '{"handle": "nina", "password": "nina-password-1"}'
    Then the response status is 200

  @req_gateway_users @spec_gateway_3_4
  Scenario: a user who is not an admin gets 403 on user administration
    Given the admin has created user "olga" with password "olga-password-1"
    And "olga" has logged in over HTTP as session "olga"
    When I send POST "/v1/users" with the access token of session "olga" and body '{"handle": "olgas-friend", "password": "friend-password-1"}'
    Then the response is a problem with status 403 and detail "Admin required"
    When I send GET "/v1/users" with the access token of session "olga"
    Then the response is a problem with status 403 and detail "Admin required"
    When I send POST "/v1/users/${ID:olga}/revoke_sessions" with the access token of session "olga" and body ''
    Then the response is a problem with status 403 and detail "Admin required"

  @req_gateway_users @spec_gateway_3_4
  Scenario: creating a user whose handle is taken is a 409 problem
    Given "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users" with the access token of session "admin" and body '{"handle": "admin", "password": "another-password-1"}'
    Then the response is a problem with status 409 and detail "handle 'admin' is taken"

  @req_gateway_users @spec_gateway_3_1 @spec_gateway_3_4
  Scenario Outline: reserved or invalid handles and short passwords are 400 problems
    Given "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users" with the access token of session "admin" and body '<body>'
    Then the response is a problem with status 400 and detail starting with "<detail>"

    Examples:
      | body                                                            | detail                     |
      | {"handle": "system", "password": "long-enough-1"}               | handle must be             |
      | {"handle": "SYSTEM", "password": "long-enough-1"}               | handle must be             |
      | {"handle": "two words", "password": "long-enough-1"}            | handle must be             |
      | {"handle": "-leading-dash", "password": "long-enough-1"}        | handle must be             |
      | {"handle": "paul", "password": "short"}                         | password must be at least 8 |
      | {"handle": "paul", "password": "long-enough-1", "is_admin": 1}  | is_admin must be a boolean |
      | {"password": "long-enough-1"}                                   | handle is required         |

  @req_gateway_users @spec_gateway_2_1 @spec_gateway_3_4
  Scenario: an admin lists users, and a bad limit is a 400 problem
    Given the admin has created user "ursula" with password "ursula-password-1"
    And "admin" has logged in over HTTP as session "admin"
    When I send GET "/v1/users?limit=200" with the access token of session "admin"
    Then the response status is 200
    And the listed users include "admin" and "ursula"
    When I send GET "/v1/users?limit=0" with the access token of session "admin"
    Then the response is a problem with status 400 and detail "Invalid limit, offset, or cursor"

  @req_gateway_users @spec_gateway_3_4
  Scenario: revoking a user's sessions makes their tokens fail at once
    Given the admin has created user "quinn" with password "quinn-password-1"
    And "quinn" has logged in over HTTP as session "quinn"
    And "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users/${ID:quinn}/revoke_sessions" with the access token of session "admin" and body ''
    Then the response status is 204
    And the access token of session "quinn" is rejected
    When I refresh session "quinn" into session "quinn-again"
    Then the response is a problem with status 401 and detail "Invalid refresh token"
    When I send POST "/v1/auth/login" with body '{"handle": "quinn", "password": "quinn-password-1"}'
    Then the response status is 200

  @req_gateway_users @spec_gateway_3_4
  Scenario: revoking the sessions of an unknown user is a 404 problem
    Given "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users/00000000-0000-4000-8000-000000000000/revoke_sessions" with the access token of session "admin" and body ''
    Then the response is a problem with status 404 and detail "User not found"

  @req_gateway_users @spec_gateway_3_3 @spec_gateway_3_4
  Scenario: disabling a user ends their login at once
    Given the admin has created user "rita" with password "rita-password-1"
    And "rita" has logged in over HTTP as session "rita"
    And "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users/rita/disable" with the access token of session "admin" and body ''
    Then the response status is 200
    And the response JSON field "is_active" is false
    And the access token of session "rita" is rejected
    When I send POST "/v1/auth/login" with body '{"handle": "rita", "password": "rita-password-1"}'
    Then the response is a problem with status 401 and detail "Invalid credentials"

  @req_gateway_users @spec_gateway_3_4
  Scenario: the last active admin cannot be disabled
    Given a separate cynode server
    And "admin" has logged in over HTTP as session "admin"
    When I send POST "/v1/users/admin/disable" with the access token of session "admin" and body ''
    Then the response is a problem with status 409 and detail "cannot disable the last active admin"
    And the access token of session "admin" is accepted

  # --- bootstrap, request log and shutdown --------------------------------------------------------------------

  @req_gateway_bootstrap @spec_gateway_3_2
  Scenario: without CYNODE_ADMIN_PASSWORD the first start prints a generated admin password once
    Given a separate cynode server without an admin password
    Then the server log shows a generated password for "admin"
    And "admin" can log in over HTTP with the generated password

  @req_gateway_logging @spec_gateway_1
  Scenario: one log line per request, never a password or a token
    Given "admin" has logged in over HTTP as session "first"
    And I have refreshed session "first" into session "second"
    When I send GET "/v1/users/me" with the access token of session "second"
    And I send POST "/v1/auth/logout" with the access token of session "second" and body '{}'
    Then the server log has a line with "method=POST path=/v1/auth/login status=200"
    And the server log has a line with "method=POST path=/v1/auth/refresh status=200"
    And the server log has a line with "method=GET path=/v1/users/me status=200"
    And the server log has a line with "method=POST path=/v1/auth/logout status=204"
    And the server log has exactly one line per request sent in this scenario
    And the server log contains neither the admin password nor any token of this scenario

  @req_gateway_shutdown @spec_gateway_1
  Scenario: SIGTERM stops the server cleanly
    Given a separate cynode server
    When the server receives SIGTERM
    Then the server exits with code 0 within 5 seconds
    And the server no longer accepts connections
