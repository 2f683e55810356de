@suite_orchestrator
Feature: Task lifecycle on the server: create, run, inspect, cancel, contain and recover
  A user creates a task over HTTP; the server's dispatcher runs its jobs in the sandbox and keeps their output,
  result and artifacts. Every request is real HTTP to a real `cynode serve` and every job really runs: jobs
  print what they see, and the steps also check the effects from outside, on the host (its /proc, the server's
  data dir), as an operator would.

  The feature's server runs jobs in bubblewrap when it is installed (else as plain processes), kills a job 1 s
  after SIGTERM, and carries secret canary values in its environment. In step text, {marker} is a number unique
  to the scenario (jobs put it in their command lines so their processes can be found on the host), {task} is
  the id of the scenario's latest task and {task:N} of its N-th, {data_dir}, {port} and {server_pid} are the
  server's, and {artifact:NAME} is the id of the latest task's artifact called NAME.

  Background:
    Given a running cynode server

  # --- input modes ------------------------------------------------------------------------------------------

  @req_tasks_create @req_tasks_prompt @spec_gateway_4_5 @spec_gateway_6 @spec_gateway_7_3
  Scenario: a prompt task is queued at once and, without inference, fails naming what to configure
    Given "alice" is signed in
    When "alice" creates a task with '{"prompt": "What is the capital of France?"}'
    Then the response status is 201
    And the response JSON field "status" is "queued"
    And the response JSON field "input_mode" is "prompt"
    And the response JSON field "prompt" is "What is the capital of France?"
    And the task ends "failed"
    And job 1 of the task has result status "failed" and exit code 1
    And the task's stderr is "[inference not configured] set CYNODE_INFERENCE_URL"
    And the task's stdout is ""

  # --- prompt tasks against an inference backend (the fake, serving both wire formats on 127.0.0.1) ----------

  @req_tasks_prompt @spec_gateway_7_1 @spec_gateway_7_2 @spec_gateway_5_1
  Scenario Outline: a prompt task is answered by an inference backend speaking <api>
    Given a separate cynode server whose inference backend is the fake speaking <api>
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "What is the capital of France?"}'
    Then the response status is 201
    And the response JSON field "status" is "queued"
    And the task ends "completed"
    And job 1 of the task has result status "completed" and exit code 0
    And the task's result shows stdout "echo: What is the capital of France?" and stderr ""
    And the fake inference backend was asked by <path> for the model with the one user message "What is the capital of France?"
    And no answer about the task shows the inference API key

    Examples:
      | api    | path                 |
      | ollama | /api/chat            |
      | openai | /v1/chat/completions |

  @req_tasks_prompt @req_tasks_logs @spec_gateway_7_2 @spec_gateway_4_10
  Scenario: a slow answer shows up in the task's logs as it arrives
    Given a separate cynode server whose inference backend is the fake speaking ollama
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "[[slow 0.3]] one two three four five six"}'
    Then the task's stdout log grows while the task is running
    And the task ends "completed"
    And the task's stdout is "echo: one two three four five six"

  @req_tasks_prompt @req_tasks_cancel @spec_gateway_7_2 @spec_gateway_10_4
  Scenario: canceling a prompt task during a slow answer closes the request to the backend at once
    Given a separate cynode server whose inference backend is the fake speaking openai
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "[[slow 0.5]] a b c d e f g h i j k l m n o p q r s t"}'
    And the task's output shows "echo: a"
    And "alice" cancels the task
    Then the response status is 200
    And the fake inference backend saw the connection close within 3 seconds of the cancel
    And the task is "canceled"
    And the canceled prompt job keeps the partial answer starting with "echo: a"

  @req_tasks_prompt @spec_gateway_7_2 @spec_gateway_7_3
  Scenario: a prompt task fails naming the backend when nothing listens there
    Given a separate cynode server whose inference backend refuses connections
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "hello"}'
    Then the task ends "failed"
    And job 1 of the task has result status "failed" and exit code 1
    And the task's stderr names the inference backend and "connection refused"
    And the task's stdout is ""

  @req_tasks_prompt @spec_gateway_7_2 @spec_gateway_7_3
  Scenario Outline: an error answer from a backend speaking <api> fails the prompt task with its cause
    Given a separate cynode server whose inference backend is the fake speaking <api>
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "[[error 503]]"}'
    Then the task ends "failed"
    And job 1 of the task has result status "failed" and exit code 1
    And the task's stderr names the inference backend and "HTTP 503: fake failure 503"
    And no answer about the task shows the inference API key

    Examples:
      | api    |
      | ollama |
      | openai |

  @req_tasks_prompt @spec_gateway_7_2 @spec_gateway_10_5
  Scenario: a backend silent past the read timeout fails the prompt task
    Given a separate cynode server whose inference backend is the fake speaking ollama with "CYNODE_INFERENCE_READ_TIMEOUT=1"
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "[[silent 3]] hello"}'
    Then the task ends "failed"
    And job 1 of the task has result status "failed" and exit code 1
    And the task's stderr names the inference backend and "timed out waiting for the backend"

  @req_tasks_prompt @req_dispatch_timeout @spec_gateway_10_5 @spec_gateway_6
  Scenario: a prompt task over its task's timeout ends like a timed-out command
    Given a separate cynode server whose inference backend is the fake speaking openai
    And "alice" is signed in
    When "alice" creates a task with '{"prompt": "[[slow 0.5]] a b c d e f g h i j", "timeout_seconds": 1}'
    Then the task ends "failed"
    And job 1 of the task has result status "timeout" and exit code -1
    And the fake inference backend saw the connection close

  @req_gateway_health @req_tasks_prompt @spec_gateway_1_2 @spec_gateway_7_3
  Scenario: /readyz says whether inference is ok, unconfigured or unreachable, and stays ready in every case
    When I send GET "/readyz"
    Then the response status is 200
    And the response body ends with "; inference: unconfigured"
    Given a separate cynode server whose inference backend is the fake speaking openai
    When I send GET "/readyz"
    Then the response status is 200
    And the response body ends with "; inference: ok"
    Given a separate cynode server whose inference backend refuses connections
    When I send GET "/readyz"
    Then the response status is 200
    And the response body ends with "; inference: unreachable"

  @req_tasks_create @spec_gateway_4_5 @spec_gateway_4_10 @spec_gateway_5_1
  Scenario: a script task runs its text with sh, and the logs can show one stream
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      for n in 1 2 3; do printf '%s,' "$n"; done
      echo
      echo "a warning" >&2
      """
    Then the response status is 201
    And the response JSON field "status" is "queued"
    And the response JSON field "input_mode" is "script"
    And the task ends "completed"
    And job 1 of the task has result status "completed" and exit code 0
    And the task's result shows stdout "1,2,3,\n" and stderr "a warning\n"
    When "alice" sends GET "/v1/tasks/{task}/logs?stream=stderr"
    Then the response JSON field "stdout" is ""
    And the response JSON field "stderr" is "a warning\n"
    When "alice" sends GET "/v1/tasks/{task}/logs?stream=stdout"
    Then the response JSON field "stdout" is "1,2,3,\n"
    And the response JSON field "stderr" is ""
    When "alice" sends GET "/v1/tasks/{task}/logs?stream=both"
    Then the response is a problem with status 400 and detail starting with "stream must be one of"

  @req_tasks_create @spec_gateway_4_5 @spec_gateway_5_3
  Scenario: a script with a shebang runs with that interpreter
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      #!/usr/bin/env python3
      import os, sys
      print(f"python {sys.version_info.major} runs task {os.environ['CYNODE_TASK_ID']}")
      """
    Then the response status is 201
    And the task ends "completed"
    And the task's stdout is "python 3 runs task {task}\n"

  @req_tasks_commands @spec_gateway_4_5 @spec_gateway_10_1
  Scenario: commands run as one job each, in order, in one shared work dir
    Given "alice" is signed in
    When "alice" creates a task with '{"input_mode": "commands", "prompt": "echo one > shared.txt\necho two >> shared.txt\n\ncat shared.txt"}'
    Then the response status is 201
    And the response JSON field "input_mode" is "commands"
    And the task ends "completed"
    And the task's jobs have the statuses "completed, completed, completed"
    And the jobs of the task ran one after another
    And the task's stdout is "one\ntwo\n"

  @req_tasks_commands @spec_gateway_4_5 @spec_gateway_10_1
  Scenario: the first failing command fails the task, and the commands after it never run
    Given "alice" is signed in
    When "alice" creates a task with '{"input_mode": "commands", "commands": ["echo first > first.txt", "cat first.txt; exit 3", "echo never > out/never.txt", "touch never-ran"]}'
    Then the response status is 201
    And the task ends "failed"
    And the task's jobs have the statuses "completed, failed, canceled, canceled"
    And job 2 of the task has result status "failed" and exit code 3
    And jobs 3 and 4 of the task never started
    And the task's work dir on the host has "first.txt" but not "out/never.txt" nor "never-ran"
    And the task's stdout is "first\n"

  @req_tasks_create @spec_gateway_4_5 @spec_gateway_1_1
  Scenario Outline: an invalid task request is a 400 problem naming the field
    Given "alice" is signed in
    When "alice" creates a task with '<body>'
    Then the response is a problem with status 400 and detail starting with "<detail>"

    Examples:
      | body                                                   | detail                          |
      | {"input_mode": "script"}                               | Prompt is required              |
      | {"prompt": "   "}                                      | Prompt is required              |
      | {"prompt": "echo", "input_mode": "batch"}              | input_mode must be one of       |
      | {"prompt": "echo", "timeout_seconds": 0}               | timeout_seconds must be         |
      | {"prompt": "echo", "task_name": 7}                     | task_name must be a string      |
      | {"input_mode": "commands", "commands": "ls"}           | commands must be a list         |
      | {"input_mode": "commands", "commands": []}             | commands is required            |
      | {"prompt": "echo", "commands": ["ls"]}                 | commands is only valid          |
      | {"prompt": "echo",                                     | Invalid request body            |

  # --- names, lists, ownership ------------------------------------------------------------------------------

  @req_tasks_names @spec_gateway_4_3 @spec_gateway_4_4
  Scenario: task names are normalised, unique per user, and stand in for the id
    Given "alice" is signed in
    And "bob" is signed in
    When "alice" creates a task with '{"input_mode": "script", "prompt": "echo first", "task_name": "My Task!"}'
    Then the response JSON field "task_name" is "my-task"
    And the response JSON field "summary" is "my-task"
    When "alice" creates a task with '{"input_mode": "script", "prompt": "echo second", "task_name": "  my TASK "}'
    Then the response JSON field "task_name" is "my-task-2"
    When "alice" sends GET "/v1/tasks/my-task"
    Then the response status is 200
    And the response is task 1
    When "alice" sends GET "/v1/tasks/my-task-2/result"
    Then the response status is 200
    And the response JSON field "task_id" is the id of task 2
    When "bob" sends GET "/v1/tasks/my-task"
    Then the response is a problem with status 404 and detail "Task not found"
    When "bob" creates a task with '{"input_mode": "script", "prompt": "echo bob", "task_name": "My Task!"}'
    Then the response JSON field "task_name" is "my-task"
    When "bob" sends GET "/v1/tasks/my-task"
    Then the response status is 200
    And the response is task 3

  @req_tasks_list @spec_gateway_4_8 @spec_gateway_2_1
  Scenario: the task list pages newest first with a cursor, and filters by status before paging
    Given "paula" is signed in
    When "paula" creates 7 script tasks, the odd ones "true" and the even ones "false"
    And all tasks of the scenario have ended
    And "paula" walks "/v1/tasks?limit=3" following next_cursor
    Then the pages held 3, 3, 1 tasks
    And together the pages list tasks 7, 6, 5, 4, 3, 2, 1 in that order
    When "paula" walks "/v1/tasks?status=failed&limit=2" following next_cursor
    Then the pages held 2, 1 tasks
    And together the pages list tasks 6, 4, 2 in that order
    When "paula" walks "/v1/tasks?limit=2&status=completed" following next_cursor
    Then the pages held 2, 2 tasks
    And together the pages list tasks 7, 5, 3, 1 in that order
    When "paula" walks "/v1/tasks" following next_cursor
    Then the pages held 7 tasks

  @req_tasks_list @spec_gateway_4_8 @spec_gateway_2_1
  Scenario Outline: bad list parameters are 400 problems
    Given "alice" is signed in
    When "alice" sends GET "/v1/tasks?<query>"
    Then the response is a problem with status 400 and detail starting with "<detail>"

    Examples:
      | query        | detail                           |
      | limit=0      | Invalid limit, offset, or cursor |
      | limit=201    | Invalid limit, offset, or cursor |
      | limit=ten    | Invalid limit, offset, or cursor |
      | cursor=-1    | Invalid limit, offset, or cursor |
      | cursor=next  | Invalid limit, offset, or cursor |
      | status=done  | status must be one of            |

  @req_tasks_ownership @spec_gateway_4_4 @spec_gateway_4_9 @spec_gateway_4_11
  Scenario: another user, even an admin, gets 403 on every route of a task and cannot cancel it
    Given "alice" is signed in
    And "bob" is signed in
    And the attachment "notes.txt" of type "text/plain" holding "alice's notes"
    When "alice" creates a script task with those attachments:
      """
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And "bob" sends these requests:
      | method | path                                                   |
      | GET    | /v1/tasks/{task}                                       |
      | GET    | /v1/tasks/{task}/result                                |
      | POST   | /v1/tasks/{task}/cancel                                |
      | GET    | /v1/tasks/{task}/logs                                  |
      | GET    | /v1/tasks/{task}/artifacts                             |
      | GET    | /v1/tasks/{task}/artifacts/{artifact:attachments/notes.txt} |
    Then every response is a problem with status 403 and detail "Not task owner"
    And the task is "running"
    When "admin" sends these requests:
      | method | path                    |
      | GET    | /v1/tasks/{task}        |
      | POST   | /v1/tasks/{task}/cancel |
    Then every response is a problem with status 403 and detail "Not task owner"
    And the task is "running"

  @req_tasks_ownership @spec_gateway_4_4
  Scenario: an unknown task id or name is a 404 problem on every route
    Given "alice" is signed in
    When "alice" sends these requests:
      | method | path                                                                                  |
      | GET    | /v1/tasks/00000000-0000-4000-8000-000000000000                                        |
      | GET    | /v1/tasks/00000000-0000-4000-8000-000000000000/result                                 |
      | POST   | /v1/tasks/00000000-0000-4000-8000-000000000000/cancel                                 |
      | GET    | /v1/tasks/00000000-0000-4000-8000-000000000000/logs                                   |
      | GET    | /v1/tasks/00000000-0000-4000-8000-000000000000/artifacts                              |
      | GET    | /v1/tasks/00000000-0000-4000-8000-000000000000/artifacts/00000000-0000-4000-8000-000000000000 |
      | GET    | /v1/tasks/no-such-task                                                                |
      | POST   | /v1/tasks/no-such-task/cancel                                                         |
    Then every response is a problem with status 404 and detail "Task not found"

  # --- cancel -----------------------------------------------------------------------------------------------

  @req_tasks_cancel @req_dispatch_kill @spec_gateway_4_9 @spec_gateway_10_4
  Scenario: canceling a running job kills it and its background grandchildren, and keeps its output
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      sleep {marker}1 &
      sh -c 'sleep {marker}2 &'
      echo started
      sleep {marker}3
      """
    And the task's output shows "started"
    Then the host runs "sleep {marker}1", "sleep {marker}2" and "sleep {marker}3"
    When "alice" cancels the task
    Then the response status is 200
    And the response JSON field "canceled" is true
    And the response JSON field "status" is "canceled"
    And within 5 seconds no process of the job is left on the host
    And the task is "canceled"
    And the task's jobs have the statuses "canceled"
    And the canceled job's stored result keeps its output "started\n"
    When "alice" cancels the task
    Then the response status is 200
    And the response JSON field "status" is "canceled"

  @req_tasks_cancel @req_dispatch_kill @spec_gateway_10_4
  Scenario: a job that ignores SIGTERM is killed with SIGKILL once the grace period is over
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      trap '' TERM
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And "alice" cancels the task
    Then the response status is 200
    And no process of the job is left on the host after at least 1 and at most 6 seconds
    And the task is "canceled"

  @req_tasks_cancel @spec_gateway_4_9
  Scenario Outline: canceling a finished task is a 409 problem and changes nothing
    Given "alice" is signed in
    When "alice" creates a task with '{"input_mode": "script", "prompt": "<script>"}'
    And the task ends "<status>"
    And "alice" cancels the task
    Then the response is a problem with status 409 and detail "Task already <status>"
    And the task is "<status>"

    Examples:
      | script | status    |
      | true   | completed |
      | exit 4 | failed    |

  # --- limits -----------------------------------------------------------------------------------------------

  @req_dispatch_limits @spec_gateway_10_5
  Scenario: a fork bomb is contained by the limits and the server stays responsive
    Given "alice" is signed in
    # 10 s: on a loaded machine the bomb's first output can take seconds, and the server must still be asked
    # while the job runs
    When "alice" creates a script task with a timeout of 10 seconds:
      """
      echo bombing
      bomb() { bomb | bomb & }
      bomb
      exec sleep {marker}
      """
    And the task's output shows "bombing"
    Then while the task runs the server answers /healthz and the task's status within 2 seconds each time
    And the task ends "failed"
    And job 1 of the task has result status "timeout" and exit code -1
    And within 5 seconds no process of the job is left on the host
    And the server answers /healthz

  @req_dispatch_limits @spec_gateway_10_5
  Scenario: a job allocating 4 GiB fails on its memory limit and the server is unaffected
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      #!/usr/bin/env python3
      data = bytearray(4 << 30)
      print("allocated", len(data))
      """
    Then the task ends "failed"
    And the task's stderr contains "MemoryError"
    And the task's stdout is ""
    And the server answers /healthz

  @req_dispatch_timeout @spec_gateway_10_5 @spec_gateway_6
  Scenario: a job over its task's timeout is killed, fails with status timeout and keeps its output
    Given "alice" is signed in
    When "alice" creates a task with '{"input_mode": "script", "timeout_seconds": 1, "prompt": "echo before the timeout; sleep {marker}; echo after"}'
    Then the response JSON field "timeout_seconds" is 1
    And the task ends "failed"
    And job 1 of the task has result status "timeout" and exit code -1
    And the task's stdout is "before the timeout\n"
    And within 5 seconds no process of the job is left on the host

  @req_dispatch_output @spec_gateway_10_6 @spec_gateway_5_1
  Scenario: output over the cap is cut at the cap without splitting a character, and marked truncated
    Given a separate cynode server with "CYNODE_JOB_MAX_OUTPUT_BYTES=1000"
    And "admin" is signed in
    When "admin" creates a script task:
      """
      #!/usr/bin/env python3
      import sys
      sys.stdout.write("x" + "é" * 50000)
      sys.stderr.write("short")
      """
    Then the task ends "completed"
    And job 1 of the task reports truncated stdout and untruncated stderr
    And the task's stdout is "x" and 499 times "é"
    And the task's stderr is "short"
    And the job's stdout file on the host holds 999 bytes

  # --- logs and artifacts -----------------------------------------------------------------------------------

  @req_tasks_logs @spec_gateway_4_10 @spec_gateway_10_4
  Scenario: the logs show a running job's output before it ends, and keep it after a cancel
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      echo "first line"
      sleep {marker}
      echo "second line"
      """
    Then the task's logs show stdout "first line\n" while the task is "running"
    When "alice" cancels the task
    Then within 5 seconds no process of the job is left on the host
    And the task is "canceled"
    And the canceled job's stored result keeps its output "first line\n"

  @req_tasks_logs @spec_gateway_4_10 @spec_gateway_10_4
  Scenario: the logs keep showing a job's output while it is being killed after a cancel
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      trap '' TERM
      echo "first line"
      sleep {marker}
      """
    And the task's output shows "first line"
    And "alice" cancels the task
    Then the task's stdout is "first line\n"
    And the host runs "sleep {marker}"

  @req_tasks_artifacts @spec_gateway_4_11 @spec_gateway_4_5 @spec_gateway_4_6
  Scenario: attachments go in, files written under out/ come back as artifacts, byte for byte
    Given "alice" is signed in
    And the attachment "notes.txt" of type "text/plain" holding "Hello, attachments!\n"
    And the attachment "data.bin" of type "application/octet-stream" holding every byte value once
    When "alice" creates a script task with those attachments:
      """
      tr 'a-z' 'A-Z' < attachments/notes.txt > out/result.txt
      wc -c < attachments/data.bin
      """
    Then the response status is 201
    And the response JSON field "attachments" is ["attachments/data.bin", "attachments/notes.txt"]
    And the task ends "completed"
    And the task's stdout is "256\n"
    And the artifacts of the task are:
      | name                  | content_type             | size_bytes |
      | attachments/data.bin  | application/octet-stream | 256        |
      | attachments/notes.txt | text/plain               | 20         |
      | out/result.txt        | text/plain               | 20         |
    And downloading artifact "attachments/data.bin" gives the uploaded bytes as "application/octet-stream"
    And downloading artifact "attachments/notes.txt" gives the uploaded bytes as "text/plain"
    And downloading artifact "out/result.txt" gives "HELLO, ATTACHMENTS!\n" as "text/plain"
    When "alice" sends GET "/v1/tasks/{task}/artifacts/00000000-0000-4000-8000-000000000000"
    Then the response is a problem with status 404 and detail "Artifact not found"

  @req_tasks_artifacts @spec_gateway_4_11 @spec_gateway_6
  Scenario: once a task is reported completed, its output files are already listed as artifacts
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      head -c 200000000 /dev/zero > out/big.bin
      """
    Then as soon as the task is reported "completed" its artifacts are only "out/big.bin"

  @req_tasks_artifacts @spec_gateway_4_5 @spec_gateway_4_11
  Scenario: more than 16 attachments are a 400 problem and leave nothing behind
    Given "alice" is signed in
    And 17 attachments of 1 byte each
    When "alice" creates a script task with those attachments:
      """
      true
      """
    Then the response is a problem with status 400 and detail "attachments: at most 16 files"
    And "alice" has no new task and the server kept no new artifact files

  @req_tasks_artifacts @spec_gateway_4_5 @spec_gateway_4_11
  Scenario: an attachment of 10 MiB is accepted and one of 10 MiB + 1 byte is a 400 problem
    Given "alice" is signed in
    And the attachment "big.bin" of 10485760 bytes
    When "alice" creates a script task with those attachments:
      """
      wc -c < attachments/big.bin
      """
    Then the response status is 201
    And the task ends "completed"
    And the task's stdout is "10485760\n"
    Given the attachment "big.bin" of 10485761 bytes instead
    When "alice" creates a script task with those attachments:
      """
      wc -c < attachments/big.bin
      """
    Then the response is a problem with status 400 and detail "attachments/big.bin: exceeds 10485760 bytes"
    And "alice" has no new task and the server kept no new artifact files

  @req_tasks_artifacts @spec_gateway_1 @spec_gateway_4_5
  Scenario: a multipart body declaring more than the upload limit is a 413 problem
    Given "alice" is signed in
    When "alice" starts a multipart task upload declaring 200 MiB
    Then the response is a problem with status 413

  @req_tasks_artifacts @req_sandbox_isolation @spec_gateway_4_11
  Scenario: only regular files under out/ become artifacts: symlinks, even to secrets, and pipes do not
    Given "alice" is signed in
    When "alice" creates a script task:
      """
      ln -s {data_dir}/cynode.db out/database
      ln -s /etc/passwd out/passwd
      ln -s {data_dir} out/data-dir
      mkfifo out/pipe
      echo "a real result" > out/real.txt
      """
    Then the task ends "completed"
    And the artifacts of the task are only "out/real.txt"
    And downloading artifact "out/real.txt" gives "a real result\n" as "text/plain"

  # --- restart and shutdown ---------------------------------------------------------------------------------

  # A server alone on its SQLite file fails at start what it left running. On PostgreSQL other live servers may be
  # running jobs from the same database, so a restart fails only jobs whose lease ran out (the next scenario).
  @sqlite_only
  @req_dispatch_recovery @spec_gateway_10_7 @spec_gateway_6
  Scenario: after a kill -9 mid-job, a restart fails the interrupted job and runs the queued one
    Given a separate cynode server with "CYNODE_WORKERS=1"
    And "admin" is signed in
    When "admin" creates a script task:
      """
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And "admin" creates a script task:
      """
      echo "the queued task ran"
      """
    Then task 2 is "queued"
    When the server is killed with SIGKILL
    And the server is started again on the same data dir
    Then task 1 is "failed"
    And job 1 of task 1 has the error "interrupted: server restarted while the job was running"
    And task 2 ends "completed"
    And the stdout of task 2 is "the queued task ran\n"

  @postgresql_only
  @req_dispatch_recovery @spec_gateway_10_7 @spec_gateway_6
  Scenario: after a kill -9 mid-job, the restarted server runs the queued job and fails the interrupted one once its lease runs out
    Given a separate cynode server with "CYNODE_WORKERS=1"
    And "admin" is signed in
    When "admin" creates a script task:
      """
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And "admin" creates a script task:
      """
      echo "the queued task ran"
      """
    Then task 2 is "queued"
    When the server is killed with SIGKILL
    And the server is started again on the same data dir
    Then task 2 ends "completed"
    And task 1 is "running"
    When the lease of job 1 of task 1 runs out
    Then task 1 ends "failed"
    And job 1 of task 1 has the error "interrupted: the node running the job stopped renewing its lease (it was killed, or lost the database)"

  @req_dispatch_shutdown @spec_gateway_10_7 @spec_gateway_1
  Scenario: on SIGTERM running jobs get a grace period, then are killed and recorded as failed
    Given a separate cynode server with "CYNODE_JOB_KILL_GRACE_SECONDS=1"
    And "admin" is signed in
    When "admin" creates a script task:
      """
      echo started
      sleep 4
      echo finished within the grace period
      """
    And "admin" creates a script task:
      """
      echo started
      sleep {marker}
      """
    And the output of task 1 shows "started"
    And the output of task 2 shows "started"
    And the server is sent SIGTERM
    Then the server has exited with code 0 within 16 seconds
    And within 5 seconds no process of the job is left on the host
    When the server is started again on the same data dir
    Then task 1 is "completed"
    And the stdout of task 1 is "started\nfinished within the grace period\n"
    And task 2 is "failed"
    And job 1 of task 2 has the error "interrupted: the server shut down before the job finished"
    And the stdout of task 2 is "started\n"

  # --- sandbox ----------------------------------------------------------------------------------------------

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario Outline: a job cannot read, reach, see or signal what belongs to the server (<runner>: <target>)
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" runs the probe job '<command>'
    Then the probe job failed with "<error>" on stderr
    And the same command succeeds on the host

    Examples:
      | runner              | target                | command                                                                    | error                     |
      | in bubblewrap       | the data dir          | ls {data_dir}                                                              | No such file or directory |
      | in bubblewrap       | the credentials key   | cat {data_dir}/credentials.key                                             | No such file or directory |
      | in bubblewrap       | the gateway port      | python3 -c "import socket; socket.create_connection(('127.0.0.1', {port}), 1)" | Connection refused   |
      | in bubblewrap       | the server process    | kill -0 {server_pid}                                                       | No such process           |
      | in bubblewrap       | the server's environ  | cat /proc/{server_pid}/environ                                             | No such file or directory |
      | in bubblewrap       | the server's cmdline  | ip=127.0.0.1; grep -qs "$ip:{port}" /proc/[0-9]*/cmdline                   |                           |
      | as plain processes  | the data dir          | ls {data_dir}                                                              | Permission denied         |
      | as plain processes  | the credentials key   | cat {data_dir}/credentials.key                                             | Permission denied         |
      | as plain processes  | the server's environ  | cat /proc/{server_pid}/environ                                             | Permission denied         |
      | as plain processes  | the server process    | kill -0 {server_pid}                                                       | Operation not permitted   |
      | in bubblewrap       | PostgreSQL over TCP   | python3 -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" | Connection refused      |
      | as plain processes  | PostgreSQL over TCP   | python3 -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" | Network is unreachable  |
      | in bubblewrap       | PostgreSQL's socket   | python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('/var/run/postgresql/.s.PGSQL.5432')" | No such file or directory |
      | as plain processes  | PostgreSQL's socket   | python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('/var/run/postgresql/.s.PGSQL.5432')" | No such file or directory |

    # The SQLite file in the data dir; a PostgreSQL database is no file of the server's (CYNODE_TEST_BACKEND).
    @sqlite_only
    Examples:
      | runner              | target                | command                                                                    | error                     |
      | in bubblewrap       | the database          | cat {data_dir}/cynode.db                                                   | No such file or directory |
      | as plain processes  | the database          | cat {data_dir}/cynode.db                                                   | Permission denied         |

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario Outline: a job gets a scrubbed environment and an unprivileged user (<runner>)
    Given the server runs jobs <runner>
    And "alice" is signed in
    When "alice" runs the probe job 'env; echo "--- uid $(id -u)"'
    Then the probe job completed
    And the job's environment has only the names "CYNODE_JOB_ID, CYNODE_TASK_ID, HOME, LANG, PATH" besides the shell's own
    And the job's output shows none of the server's secret values
    And the job ran as an unprivileged user

    Examples:
      | runner             |
      | in bubblewrap      |
      | as plain processes |

  @req_sandbox_isolation @spec_gateway_10_3
  Scenario: in bubblewrap only the work dir and a private /tmp are writable
    Given the server runs jobs in bubblewrap
    And "alice" is signed in
    When "alice" runs the probe job:
      """
      for path in /usr/cynode-probe /cynode-probe /etc/cynode-probe /work/cynode-probe /tmp/cynode-probe-{marker}; do
        if touch "$path" 2>/dev/null; then echo "$path: written"; else echo "$path: refused"; fi
      done
      """
    Then the probe job completed
    And the task's stdout is "/usr/cynode-probe: refused\n/cynode-probe: refused\n/etc/cynode-probe: refused\n/work/cynode-probe: written\n/tmp/cynode-probe-{marker}: written\n"
    And the task's work dir on the host has "cynode-probe"
    And the host has no file "/tmp/cynode-probe-{marker}"

  @req_sandbox_isolation @req_dispatch_kill @spec_gateway_10_4
  Scenario: in bubblewrap, cancel also kills a process that left the job's session
    Given the server runs jobs in bubblewrap
    And "alice" is signed in
    When "alice" creates a script task:
      """
      setsid sleep {marker}1 &
      echo started
      sleep {marker}2
      """
    And the task's output shows "started"
    Then the host runs "sleep {marker}1"
    When "alice" cancels the task
    Then within 5 seconds no process of the job is left on the host

  @req_sandbox_isolation @req_dispatch_kill @spec_gateway_10_4
  Scenario: as plain processes, cancel also kills a process that left the job's session
    Given the server runs jobs as plain processes
    And "alice" is signed in
    When "alice" creates a script task:
      """
      setsid sleep {marker}1 &
      echo started
      sleep {marker}2
      """
    And the task's output shows "started"
    Then the host runs "sleep {marker}1"
    When "alice" cancels the task
    Then within 5 seconds no process of the job is left on the host

  @req_sandbox_isolation @spec_gateway_10_7
  Scenario: a job in bubblewrap dies with its server
    Given a separate cynode server that runs jobs in bubblewrap
    And "admin" is signed in
    When "admin" creates a script task:
      """
      echo started
      sleep {marker}
      """
    And the task's output shows "started"
    And the server is killed with SIGKILL
    Then within 5 seconds no process of the job is left on the host

