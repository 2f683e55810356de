@suite_orchestrator_hardening
Feature: Hardening against hostile jobs and clients

  A job controls every byte and every path under its work dir; a client controls every byte of a request.
  Neither gets anything of the host or of other users out of the server, and neither can wear it down.

  # --- 1. job outputs never reach host files ----------------------------------------------------------------

  @req_tasks_artifacts @req_sandbox_isolation @spec_gateway_4_11 @spec_gateway_5_1
  Scenario Outline: a job whose out folder is a symlink to <target> gets no artifacts, running <runner>
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" creates a script task:
      """
      rm -rf out
      ln -s <target> out
      """
    Then the task ends "completed"
    And the task has no artifacts
    And the server stored no file for the task
    And the job's result says no artifacts were collected because "out is a symbolic link, which is never followed: no artifacts collected"

    Examples:
      | runner             | target     |
      | in bubblewrap      | /etc       |
      | in bubblewrap      | ../..      |
      | in bubblewrap      | /          |
      | in bubblewrap      | {data_dir} |
      | as plain processes | /etc       |
      | as plain processes | ../..      |
      | as plain processes | /          |
      | as plain processes | {data_dir} |

  @req_tasks_artifacts @req_sandbox_isolation @spec_gateway_4_11 @spec_gateway_5_1
  Scenario Outline: symlinks planted deeper in out are listed as skipped and never followed, running <runner>
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" creates a script task:
      """
      mkdir -p out/sub
      echo ok > out/sub/ok.txt
      ln -s /etc out/sub/etc
      ln -s /etc/passwd out/passwd
      ln -s {data_dir} out/data
      """
    Then the task ends "completed"
    And the artifacts of the task are only "out/sub/ok.txt"
    And the job's result lists 3 skipped outputs with the reason "a symbolic link, which is never followed"
    And the job's result lists the skipped output "out/sub/etc" with the reason "a symbolic link, which is never followed"
    And no file the server stored for the task holds "root:"

    Examples:
      | runner             |
      | in bubblewrap      |
      | as plain processes |

  @req_tasks_artifacts @req_sandbox_isolation @spec_gateway_4_11 @spec_gateway_5_1
  Scenario Outline: hard links and sparse files cannot multiply what the server stores, running <runner>
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" creates a script task:
      """
      truncate -s 200M out/a out/b
      for i in 1 2 3 4 5 6 7 8 9; do ln out/a out/l$i; done
      """
    Then the task ends "completed"
    And the artifacts of the task are:
      | name  | size_bytes |
      | out/a | 209715200  |
    And the job's result lists 9 skipped outputs with the reason "the same file as out/a (a hard link): each file is kept once"
    And the job's result lists the skipped output "out/b" with the reason "209715200 bytes, over the 58720256 bytes left of the limit of 268435456 bytes per task"
    And the files the server stored for the task take less than 1 MiB of disk

    Examples:
      | runner             |
      | in bubblewrap      |
      | as plain processes |

  @req_tasks_artifacts @spec_gateway_4_11 @spec_gateway_5_1
  Scenario: a job keeps at most 256 output files and the result lists the rest
    Given the server runs jobs in bubblewrap
    And "alice" is signed in
    When "alice" creates a script task:
      """
      i=1; while [ $i -le 260 ]; do echo $i > out/f$(printf %03d $i); i=$((i+1)); done
      """
    Then the task ends "completed"
    And the task has 256 artifacts
    And the job's result lists 4 skipped outputs with the reason "over the limit of 256 files per task"
    And the job's result lists the skipped output "out/f260" with the reason "over the limit of 256 files per task"

  @req_tasks_artifacts @req_sandbox_isolation @spec_gateway_4_11 @spec_gateway_10_3
  Scenario Outline: a tree 1,200 folders deep neither fails the task nor outlives the retention, running <runner>
    Given a separate cynode server that runs jobs <runner> and keeps no work dirs
    And "alice" is signed in
    When "alice" creates a task with '{"input_mode": "commands", "commands": ["d=out; i=0; while [ $i -lt 1200 ]; do d=$d/d; i=$((i+1)); done; mkdir -p $d && echo deep > $d/f", "echo top > out/top.txt"]}'
    Then the task ends "completed"
    And the artifacts of the task are only "out/top.txt"
    And the job's result lists 1 skipped output with the reason "deeper than 32 folders: not collected"
    And within 10 seconds the task's work dir is gone from the server

    Examples:
      | runner             |
      | in bubblewrap      |
      | as plain processes |

  @req_tasks_artifacts @spec_gateway_4_11 @spec_gateway_1
  Scenario Outline: output names with CR/LF or bytes that are not UTF-8 are listed and download safely, running <runner>
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" creates a script task:
      """
      printf crlf > "$(printf 'out/a\r\nX-Evil: 1.txt')"
      printf latin > "$(printf 'out/b\377.txt')"
      """
    Then the task ends "completed"
    # a name cell is a Python string literal, written with Gherkin's own escaping of backslashes
    And the task's artifacts, their names written as Python strings, download as:
      | name                       | content | filename*                |
      | "out/a\\r\\nX-Evil: 1.txt" | crlf    | a%0D%0AX-Evil%3A%201.txt |
      | "out/b\\\\xff.txt"         | latin   | b%5Cxff.txt              |

    Examples:
      | runner             |
      | in bubblewrap      |
      | as plain processes |

  # --- 2. the process runner tells the truth and isolates what it can ---------------------------------------

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario Outline: as plain processes under a root server, a job reaches no loopback service and no host socket (<target>)
    Given the server runs jobs as plain processes
    And "alice" is signed in
    When "alice" runs the probe job '<command>'
    Then the probe job failed with "<error>" on stderr
    And the same command succeeds on the host

    Examples:
      | target                 | command                                                                        | error                      |
      | the gateway port       | python3 -c "import socket; socket.create_connection(('127.0.0.1', {port}), 1)" | Network is unreachable     |
      | PostgreSQL on loopback | python3 -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)"   | Network is unreachable     |
      | PostgreSQL's socket    | test -S /run/postgresql/.s.PGSQL.5432 \|\| ls /run/postgresql/.s.PGSQL.5432   | No such file or directory  |

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario: as plain processes, what a job leaves in /tmp and /dev/shm is gone when it ends, and its work dir is closed
    Given the server runs jobs as plain processes
    And "alice" is signed in
    When "alice" runs the probe job:
      """
      echo left > /tmp/cynode-left-{marker}
      mkdir -p /tmp/cynode-left-{marker}.d/a && echo left > /tmp/cynode-left-{marker}.d/a/b
      ln -s /etc/passwd /tmp/cynode-left-{marker}.link
      echo left > /dev/shm/cynode-left-{marker}
      echo kept > kept.txt
      """
    Then the probe job completed
    And the host has no file "/tmp/cynode-left-{marker}"
    And the host has no file "/tmp/cynode-left-{marker}.d"
    And the host has no file "/tmp/cynode-left-{marker}.link"
    And the host has no file "/dev/shm/cynode-left-{marker}"
    And the task's work dir on the host belongs to root with mode 0700

  @req_sandbox_isolation @req_tasks_create @spec_gateway_10_3
  Scenario: as plain processes, a root server whose data dir lies under a private directory still runs jobs
    Given a separate cynode server that runs jobs as plain processes with its data dir under a private directory
    And "admin" is signed in
    When "admin" creates a script task:
      """
      #!/usr/bin/env python3
      import os
      print("python ran as", "root" if os.getuid() == 0 else "a job user")
      """
    Then the task ends "completed"
    And the task's stdout is "python ran as a job user\n"
    And the server keeps job work dirs under "/var/lib/cynode/work/", where job users can enter

  @req_sandbox_isolation @spec_gateway_10_3 @spec_gateway_1
  Scenario Outline: a non-root server without bubblewrap refuses to run jobs as itself (<flags>)
    When cynode serve is started by an unprivileged user without bubblewrap with "<flags>"
    Then cynode serve exited with code 2 without listening
    And its error says "would run jobs as the server's own user"
    And its error says "install bubblewrap"
    And its error says "run the server as root"
    And its error says "--sandbox none"

    Examples:
      | flags             |
      |                   |
      | --sandbox auto    |
      | --sandbox process |

  @req_sandbox_isolation @spec_gateway_10_3 @spec_gateway_1
  Scenario: with --sandbox none a non-root server starts, says its jobs are unisolated, and hides its environment
    Given a separate cynode server run by an unprivileged user with "--sandbox none"
    Then the server runs as an unprivileged user
    And the server log has a line with "jobs are unisolated (--sandbox none)"
    When I send GET "/readyz"
    Then the response body starts with "ready; jobs are unisolated (--sandbox none)"
    Given "alice" is signed in
    When "alice" runs the probe job 'cat /proc/{server_pid}/environ'
    Then the probe job failed with "Permission denied" on stderr
    And the job's output shows none of the server's secret values

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

  @req_serve_flags @spec_gateway_10_1 @spec_gateway_1
  Scenario: --workers and --sandbox are flags of cynode serve, shown in the start-up line
    Given a separate cynode server started with the flags "--workers 2 --sandbox none"
    Then the server log has a line with "sandbox=none workers=2"
    When I send GET "/readyz"
    Then the response body starts with "ready; jobs are unisolated (--sandbox none)"

  @req_serve_flags @spec_gateway_10_1
  Scenario: a server started with --workers 0 runs no jobs and says so
    Given a separate cynode server started with the flags "--workers 0"
    When I send GET "/readyz"
    Then the response status is 503
    And the response body is "dispatcher not running"

  @req_serve_flags @spec_gateway_10_1
  Scenario Outline: a bad --workers or --sandbox is a usage error naming the setting (<flags>)
    When cynode serve is started with "<flags>"
    Then cynode serve exited with code 2 without listening
    And its error says "<error>"

    Examples:
      | flags             | error                                                          |
      | --sandbox docker  | sandbox: expected auto, bwrap, process or none, got 'docker'   |
      | --workers many    | workers: expected an integer, got 'many'                       |
      | --workers=-1      | workers: must not be negative                                  |

  @req_schema_upgrades @spec_gateway_3_2 @spec_gateway_10_7
  Scenario: a server started on a database at the previous schema version upgrades it and serves the old tasks
    Given a data dir whose SQLite database is at the previous schema version, with tasks of "alice" in it
    When a cynode server is started on that data dir
    Then "alice" signs in with her old password and lists the tasks "old-queued-2", "old-failed" and "old-done"
    And her old task "old-done" has the stdout "hi\n" and the artifacts "attachments/in.txt" and "out/report.txt"
    And her old queued task "old-queued-2" runs now and ends "completed" with the stdout "a\nb\n"
