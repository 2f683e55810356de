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

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario: as plain processes, a job sees nothing of the host's /tmp, /var/tmp and /dev/shm: not another user's files, not a service's socket
    Given the server runs jobs as plain processes
    And the host has a world-readable file "/tmp/cynode-host-{marker}"
    And the host has a world-readable file "/var/tmp/cynode-host-{marker}"
    And the host has a world-readable file "/dev/shm/cynode-host-{marker}"
    And a service listens on the unix socket "/tmp/cynode-host-{marker}.sock"
    And "alice" is signed in
    When "alice" runs the probe job 'cat /tmp/cynode-host-{marker} || cat /var/tmp/cynode-host-{marker} || cat /dev/shm/cynode-host-{marker} || test -S /tmp/cynode-host-{marker}.sock'
    Then the probe job failed with "No such file or directory" on stderr
    And the same command succeeds on the host

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
    Given a data dir whose database is at the previous schema version, with tasks of "alice" in it
    When a cynode server is started on that data dir
    Then "alice" signs in with her old password and lists the tasks "old-queued-2", "old-failed" and "old-done"
    And her old task "old-done" has the stdout "hi\n" and the artifacts "attachments/in.txt" and "out/report.txt"
    And her old queued task "old-queued-2" runs now and ends "completed" with the stdout "a\nb\n"
