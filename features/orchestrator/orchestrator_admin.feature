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


  # --- skills ---------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------

  @req_audit @spec_gateway_15 @spec_gateway_4_5 @spec_issue_10
  Scenario: A user lists only their own events; an admin lists anyone's
    Given "aud-hank" is signed in
    And "aud-ivy" is signed in
    When "aud-hank" creates a task with '{"prompt":"audit me"}'
    And "aud-ivy" creates a task with '{"prompt":"and me"}'
    And "aud-hank" sends GET "/v1/audit?resource_type=task"
    Then every listed audit event has the actor "aud-hank"
    And the listed audit events are "task.create"
    When "aud-hank" sends GET "/v1/audit?actor_id=${ID:aud-ivy}"
    Then no audit event is listed
    When "admin" sends GET "/v1/audit?actor_id=${ID:aud-ivy}&resource_type=task"
    Then every listed audit event has the actor "aud-ivy"
    And the listed audit events are "task.create"

  @req_audit @spec_gateway_15 @spec_gateway_3_4 @spec_issue_10
  Scenario: A non-admin's 403 is a denied event with their actor id and address, visible to the admin
    Given "aud-jack" is signed in
    When "aud-jack" sends POST "/v1/users"
    Then the response is a problem with status 403 and detail "Admin required"
    When "admin" sends GET "/v1/audit?action=access_denied&actor_id=${ID:aud-jack}"
    Then the newest listed audit event is a "deny" of "access_denied" on "auth" by "aud-jack" from "127.0.0.1"
    When "aud-jack" sends GET "/v1/audit?action=access_denied"
    Then the newest listed audit event is a "deny" of "access_denied" on "auth" by "aud-jack" from "127.0.0.1"

  @req_audit @spec_gateway_15 @spec_gateway_3_4 @spec_issue_10
  Scenario: A failed login of an unknown user is recorded without an actor and only admins see it
    Given "aud-kate" is signed in
    When I send POST "/v1/auth/login" with body '{"handle":"aud-nobody","password":"not-the-password"}'
    Then the response is a problem with status 401 and detail "Invalid credentials"
    When "admin" sends GET "/v1/audit?action=login_failure&limit=1"
    Then the newest listed audit event has no actor and the reason "user not found"
    When "aud-kate" reads that audit event
    Then the response is a problem with status 404 and detail "Audit event not found"
    When "admin" reads that audit event
    Then the response status is 200

  @req_audit @spec_gateway_15 @spec_gateway_2_1 @spec_issue_10
  Scenario: Bad filters are 400, unknown events 404, and nothing writes events
    Given "aud-leo" is signed in
    When "aud-leo" sends these requests:
      | method | path                                   |
      | GET    | /v1/audit?since=yesterday              |
      | GET    | /v1/audit?until=2026-11-30             |
      | GET    | /v1/audit?since=2026-11-30T08:00:00    |
      | GET    | /v1/audit?limit=0                      |
    Then every audit response is a 400 problem naming "since, until, since, limit"
    When "aud-leo" sends GET "/v1/audit/00000000-0000-0000-0000-000000000000"
    Then the response is a problem with status 404 and detail "Audit event not found"
    When "admin" sends these requests:
      | method | path                                            |
      | DELETE | /v1/audit/00000000-0000-0000-0000-000000000000 |
      | PUT    | /v1/audit/00000000-0000-0000-0000-000000000000 |
      | PATCH  | /v1/audit                                       |
      | POST   | /v1/audit                                       |
    Then every response is a problem with status 405 and detail "Method not allowed"


