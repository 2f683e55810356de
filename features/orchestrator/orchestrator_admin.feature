@suite_orchestrator_admin
Feature: Gateway administration routes: credentials, preferences, settings, nodes, skills and audit
  The admin surface over HTTP (spec/gateway.md §9, §11-§15) against a real `cynode serve`: each route with its
  success shape, the non-admin 403 case and a bad-input case; every error is problem+json (skill policy
  rejections excepted, as specified) and every change and refusal is an audit event.

  Background:
    Given a running cynode server

  # --- credentials ----------------------------------------------------------------------------------------

  @req_credentials @spec_gateway_14 @spec_gateway_2 @spec_issue_10
  Scenario: a credential is created and read back as metadata under /v1/credentials and /v1/creds
    Given "cr-ann" is signed in
    When "cr-ann" creates the credential "gh-token" for "github" with a fresh secret
    Then the response status is 201
    And the response is the metadata of credential "gh-token" of "cr-ann"
    When "cr-ann" sends GET "/v1/creds/{credential}" about the credential
    Then the response status is 200
    And the response is the metadata of credential "gh-token" of "cr-ann"
    When "cr-ann" sends GET "/v1/credentials?provider=github&active=true" about the credential
    Then the response lists exactly the credentials "gh-token"
    When "cr-ann" sends POST "/v1/creds/{credential}/rotate" about the credential with '{"secret": "rotated-value"}'
    Then the response status is 200
    And the response JSON field "rotated" is true
    When "cr-ann" sends PATCH "/v1/credentials/{credential}" about the credential with '{"is_active": false}'
    Then the response JSON field "disabled" is true
    When "cr-ann" sends PATCH "/v1/credentials/{credential}" about the credential with '{"is_active": true}'
    Then the response is a problem with status 403 and detail "Admin required to enable a credential again"

  @req_credentials @spec_gateway_14 @spec_gateway_1 @spec_issue_10
  Scenario: bad input is a 400, a duplicate a 409, and someone else's credential a 404
    Given "cr-ben" is signed in
    And "cr-bob" is signed in
    When "cr-ben" creates the credential "k" for "openai" with a fresh secret and '{"secret": ""}'
    Then the response is a problem with status 400 and detail "secret is required and must not be empty"
    When "cr-ben" creates the credential "bad name" for "openai" with a fresh secret
    Then the response is a problem with status 400 and detail starting with "credential_name must be"
    When "cr-ben" creates the credential "k" for "openai" with a fresh secret
    Then the response status is 201
    When "cr-ben" creates the credential "k" for "openai" with a fresh secret
    Then the response status is 409
    When "cr-bob" sends GET "/v1/credentials/{credential}" about the credential
    Then the response is a problem with status 404 and detail "Credential not found"
    When "cr-bob" sends POST "/v1/creds/{credential}/disable" about the credential
    Then the response is a problem with status 404 and detail "Credential not found"

  @req_credentials @spec_gateway_14 @spec_gateway_15 @spec_issue_10
  Scenario: group credentials are for admins: a user gets 403
    Given "cr-cat" is signed in
    When "cr-cat" creates the credential "team" for "github" with a fresh secret and '{"owner_type": "group", "owner_id": "6d1f0b3a-0000-4000-8000-000000000001"}'
    Then the response is a problem with status 403 and detail "Admin required for group credentials"
    When "admin" creates the credential "team" for "github" with a fresh secret and '{"owner_type": "group", "owner_id": "6d1f0b3a-0000-4000-8000-000000000001"}'
    Then the response status is 201
    When "cr-cat" sends GET "/v1/creds/{credential}" about the credential
    Then the response status is 404

  @req_credentials @req_sandbox_isolation @spec_gateway_14 @spec_gateway_4_5 @spec_issue_10
  Scenario: only the owner's job receives the secret, and it lands nowhere in the data dir or the server log
    Given "cr-dan" is signed in
    And "cr-eve" is signed in
    When "cr-dan" creates the credential "deploy.key" for "github" with a fresh secret
    And "cr-dan" creates a task running 'printenv CYNODE_CRED_DEPLOY_KEY | sha256sum' with the credential "deploy.key"
    Then the task ends "completed"
    And the task's stdout is the SHA-256 of the secret as the job saw it
    When "cr-eve" creates a task running 'printenv' with the credential "{credential}"
    Then the response is a problem with status 400 and detail starting with "credential '"
    And no file in the server's data dir and no line of its log holds a secret of the scenario


  # --- preferences and system settings --------------------------------------------------------------------


  # --- nodes ----------------------------------------------------------------------------------------------


  # --- skills ---------------------------------------------------------------------------------------------


  # --- audit ----------------------------------------------------------------------------------------------


