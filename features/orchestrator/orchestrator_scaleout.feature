@suite_orchestrator_scaleout
Feature: Scale-out: gateways and workers sharing one PostgreSQL database and one data dir
  Real `cynode serve --no-dispatch` gateways and `cynode worker` processes (README "Scale-out"), each scenario on a
  private PostgreSQL database (skipped, saying why, when no PostgreSQL answers). Tasks go in through a gateway and
  run on a worker; a worker killed with SIGKILL stops renewing its leases and its jobs end failed, never twice;
  a cancel reaches the worker at once. Every process still alive at the end must exit 0 on SIGTERM with no
  traceback in its log.

  @req_scaleout_0001 @spec_scaleout_gateway @spec_scaleout_workers
  Scenario: a gateway without dispatch and one worker run a task created through the CLI
    Given a scale-out deployment with 1 gateway and 1 worker
    And I am logged in as "admin"
    When I run cynork "task create --command 'echo scaled out' --name so-first --result"
    Then the exit code is 0
    And stdout contains "scaled out"
    And the job of task "so-first" was claimed by worker "so-worker-1"
    When I run cynork "nodes list"
    Then the exit code is 0
    And the node table shows "so-worker-1" as "active" and enabled
    When I send GET "/readyz"
    Then the response status is 200
    And the response body contains "gateway only: jobs run on worker nodes"

  @req_scaleout_0002 @spec_scaleout_workers @spec_scaleout_leases
  Scenario: 1,000 command tasks through 2 gateways on 3 workers, one killed with SIGKILL mid-job: every task ends once
    Given a scale-out deployment with 2 gateways and 3 workers, and job leases of 3 seconds
    When 1000 command tasks, each appending its own line to one file, are created through both gateways from 4 client threads, every 100th sleeping 5 seconds first
    And worker "so-worker-1" is killed with SIGKILL mid-run while it runs a job
    Then every task ends within 240 seconds
    And the jobs the killed worker was running ended failed with the lease error
    And every other task completed
    And the file holds the line of every completed task exactly once and no line twice
    And no job was claimed twice
    And the surviving processes exit 0 on SIGTERM with no traceback in their logs

  @req_scaleout_0003 @spec_scaleout_cancel
  Scenario: a cancel through a gateway kills the job running on a worker at once
    Given a scale-out deployment with 1 gateway and 1 worker
    And a task is running on the worker that writes its pid to a file and sleeps 60 seconds
    When the admin cancels the task through the gateway
    Then the response status is 200
    And the task is "canceled"
    And the job's process is gone within 10 seconds

  @req_scaleout_0004 @spec_scaleout_leases
  Scenario: a worker killed with SIGKILL mid-job and never restarted: the gateway's lease keeper fails its job
    Given a scale-out deployment with 1 gateway and 1 worker, and job leases of 3 seconds
    And a task is running on the worker that writes its pid to a file and sleeps 60 seconds
    When worker "so-worker-1" is killed with SIGKILL
    Then the task is still "running" right after the kill
    And within 15 seconds the task is "failed" with the lease error
    And the surviving processes exit 0 on SIGTERM with no traceback in their logs

  @req_scaleout_0005 @spec_scaleout_workers
  Scenario: a worker refuses SQLite and unknown flags with exit 2
    When I run cynode worker "--database sqlite:////tmp/cynode-worker-refused.db"
    Then the exit code is 2
    And stdout is empty
    And stderr is one line starting with "Error: database: a worker shares a PostgreSQL database with the gateways"
    When I run cynode worker "--bogus"
    Then the exit code is 2
    And stderr starts with "Error: unknown flag: --bogus"

  @req_scaleout_0006 @spec_scaleout_migrate
  Scenario: two gateways and two workers started at once on a fresh database all come up and serve
    Given a scale-out deployment with 2 gateways and 2 workers started at once on a fresh database
    Then every gateway answers /readyz with 200
    And the admin sees the nodes "so-worker-1, so-worker-2" active
    And a command task created through each gateway completes
    And the surviving processes exit 0 on SIGTERM with no traceback in their logs
