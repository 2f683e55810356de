@suite_orchestrator_hardening
Feature: Hardening against hostile jobs and clients

  A job controls every byte and every path under its work dir; a client controls every byte of a request.
  Neither gets anything of the host or of other users out of the server, and neither can wear it down.

  # --- 1. job outputs never reach host files ----------------------------------------------------------------

  # --- 2. the process runner tells the truth and isolates what it can ---------------------------------------

  # --- 3. no request can exhaust the server -----------------------------------------------------------------

  # --- 4. users share the dispatcher fairly -----------------------------------------------------------------

  @req_dispatch_fairness @spec_gateway_10_2
  Scenario: with one worker, another user's first task runs before a user's fifth
    Given a separate cynode server with "CYNODE_WORKERS=1"
    And "alice" is signed in
    And "bob" is signed in
    When "alice" creates 5 script tasks, the odd ones "date +%s.%N; sleep 1" and the even ones "date +%s.%N; sleep 1"
    And "bob" creates a script task:
      """
      date +%s.%N; sleep 1
      """
    And all tasks of the scenario have ended
    Then every task of the scenario is "completed"
    And by the clocks their jobs printed, the tasks started in the order 1, 6, 2, 3, 4, 5

  @req_dispatch_fairness @spec_gateway_10_2
  Scenario: with a running cap of one, a user's jobs wait for each other while another user's job runs beside them
    Given a separate cynode server with "CYNODE_WORKERS=2 CYNODE_MAX_RUNNING_PER_USER=1"
    And "alice" is signed in
    And "bob" is signed in
    When "alice" creates 2 script tasks, the odd ones "date +%s.%N; sleep 1; date +%s.%N" and the even ones "date +%s.%N; sleep 1; date +%s.%N"
    And "bob" creates a script task:
      """
      date +%s.%N; sleep 1; date +%s.%N
      """
    And all tasks of the scenario have ended
    Then every task of the scenario is "completed"
    And by the clocks their jobs printed, tasks 1 and 2 never ran at the same time
    And by the clocks their jobs printed, task 3 ran while task 1 ran

  @req_dispatch_fairness @req_users_admin @spec_gateway_3_4 @spec_gateway_10_4
  Scenario: disabling a user cancels their running and queued tasks and kills the running job at once
    Given a separate cynode server with "CYNODE_WORKERS=1"
    And "alice" is signed in
    When "alice" creates a script task:
      """
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And "alice" creates a script task:
      """
      echo never
      """
    And the admin disables "alice"
    Then the response status is 200
    And within 3 seconds no process of the job is left on the host
    And once "alice" is enabled again and signs in, her tasks 1 and 2 are "canceled" and task 2 never ran

  # --- 5. the serve command line and schema upgrades ---------------------------------------------------------

  @req_schema_upgrades @spec_gateway_3_2 @spec_gateway_10_7
  Scenario: a server started on a database at the previous schema version upgrades it and serves the old tasks
    Given a data dir whose SQLite database is at the previous schema version, with tasks of "alice" in it
    When a cynode server is started on that data dir
    Then "alice" signs in with her old password and lists the tasks "old-queued-2", "old-failed" and "old-done"
    And her old task "old-done" has the stdout "hi\n" and the artifacts "attachments/in.txt" and "out/report.txt"
    And her old queued task "old-queued-2" runs now and ends "completed" with the stdout "a\nb\n"
