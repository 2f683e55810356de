@suite_orchestrator_postgres
Feature: cynode serve on PostgreSQL: clear start-up errors, a password kept out of sight, outages survived

  The server runs on PostgreSQL (pg8000) with the same models and migrations as on SQLite. When the database
  cannot be reached at start, the server says so in one line and exits; when it goes away later, the server
  answers 503 until it is back, and then recovers by itself. The scenarios are skipped, with the reason, where no
  PostgreSQL server answers.

  @req_scaleout_0001 @spec_db_startup
  Scenario: a server whose database cannot be reached exits at once with one line and no password
    When cynode serve starts with a PostgreSQL URL holding password "url-pw-8c1f" on a port where nothing listens
    Then it exits with code 2 within 10 seconds
    And its output is one line starting "Error: database unreachable (postgresql://root:***@127.0.0.1:"
    And its output does not contain "url-pw-8c1f"

  @req_scaleout_0001 @spec_db_password
  Scenario: the database password is read from a file and shows nowhere
    Given a file holding a fresh database password
    When a server starts on PostgreSQL with that password file
    Then the server is ready
    And no process's command line holds the password
    And the server log does not hold the password

  @req_scaleout_0001 @spec_db_outage
  Scenario: a server survives its database going away and comes back by itself
    Given a server on PostgreSQL through a network that can be cut
    And the admin is signed in
    When the network to the database is cut
    Then "/readyz" answers 503 "database unavailable"
    And "GET /v1/tasks" answers 503 problem+json "database unavailable" with a Retry-After header
    And the server log holds no traceback
    When the network to the database is restored
    Then within 10 seconds "/readyz" answers 200
    And the admin can sign in again
    And a command task "echo hi" runs to "completed"

  @req_scaleout_0001 @spec_db_outage
  Scenario: a job that ends while the database is away fails once its lease runs out, without a traceback
    Given a server on PostgreSQL through a network that can be cut, with job leases of 3 seconds
    And the admin is signed in
    And a command task "sleep 2" is running
    When the network to the database is cut
    And 4 seconds pass
    And the network to the database is restored
    Then within 15 seconds the task is "failed"
    And its job's error says "stopped renewing its lease"
    And the server log holds no traceback
