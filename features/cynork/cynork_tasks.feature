@suite_cynork
Feature: cynork task commands
  As a person or a script using `cynode cli task ...`, I create tasks in every input mode, with attachments,
  follow them, read their results, logs and artifacts, and cancel them, with the outputs and exit codes of
  spec/cli.md §7.4. Every run is a real process against a real `cynode serve` whose jobs really run; a task is
  named by its id or its name. No run may show a Python traceback.

  Background:
    Given a running cynode server
    And I am signed in to the CLI as a new user
    And my work dir holds "a.txt" with "attached text\n"

  # --- create, in each input mode ------------------------------------------------------------------------------

  @req_client_tasks @spec_cli_7_4_1 @spec_cli_7_4_5
  Scenario: commands run in order and create --result prints the result
    When I run cynork: task create --command "echo one" --command "echo two >&2" --command "echo three" --name order --result
    Then the exit code is 0
    And stdout matches "task_id={uuid} status=completed task_name=order stdout="one\nthree\n" stderr="two\n""
    And stderr is empty

  @req_client_tasks @spec_cli_7_4_1 @spec_cli_7_4_3 @spec_cli_2_2
  Scenario: create prints the task id and name, and get finds the task by id and by name
    When I run cynork: task create --command "true" --name "My Build"
    Then the exit code is 0
    And stdout matches "task_id={uuid} task_name=my-build"
    When I run cynork: -o json task create --command "true" --name "My Build"
    Then the JSON output has exactly the keys "task_id, task_name, status"
    And the JSON field "task_name" is "my-build-2"
    When I wait for task "my-build" to end
    And I run cynork: task get {task:1}
    Then stdout matches "task_id={uuid} status=completed task_name=my-build"
    When I run cynork: -o json task get my-build
    Then the JSON output starts with the keys "task_id, status, task_name, summary, input_mode, prompt"
    And the JSON field "status" is "completed"
    And the JSON field "task_id" is the id of task 1

  @req_client_tasks @spec_cli_7_4_1
  Scenario: a commands file runs its non-blank lines as commands
    Given my work dir holds "cmds.txt" with "echo first\r\n\n   \necho second\n\n"
    When I run cynork: -o json task create --commands-file cmds.txt --result
    Then the exit code is 0
    And the JSON field "status" is "completed"
    And the JSON field "stdout" is "first\nsecond\n"
    And the JSON field "stderr" is ""
    And the JSON result has 2 jobs

  @req_client_tasks @spec_cli_7_4_1 @spec_cli_7_4_5
  Scenario: a script runs as one job, and a failed task is still a successful command
    Given my work dir holds "run.sh" with "echo from script\necho oops >&2\nexit 3\n"
    When I run cynork: task create -s run.sh --name scripted --result
    Then the exit code is 0
    And stdout matches "task_id={uuid} status=failed task_name=scripted stdout="from script\n" stderr="oops\n""
    When I run cynork: -o json task get scripted
    Then the JSON field "input_mode" is "script"

  @req_client_tasks @spec_cli_7_4_1
  Scenario: a task file is sent as the prompt
    Given my work dir holds "ask.md" with "# Question\n\nWhat is *this*?\n"
    When I run cynork: task create -f ask.md --name asked
    Then the exit code is 0
    When I run cynork: -o json task get asked
    Then the JSON field "input_mode" is "prompt"
    And the JSON field "prompt" is "# Question\n\nWhat is *this*?\n"

  @req_client_tasks @spec_cli_7_4_1
  Scenario: a prompt task is answered by the model
    Given a separate cynode server whose inference backend is the fake speaking openai
    And I am signed in to the CLI as a new user
    When I run cynork: task create -t "What is the capital of France?" --name capital --result
    Then the exit code is 0
    And stdout is the line "task_id={task} status=completed task_name=capital stdout="echo: What is the capital of France?" stderr="""

  @req_client_tasks @spec_cli_7_4_1 @spec_cli_7_4_9 @spec_cli_7_4_10 @pyz
  Scenario: attachments reach the job, and files it writes to out/ are artifacts to download
    Given my work dir holds 300000 random bytes in "blob.bin"
    When I run cynork: task create -a a.txt --attach blob.bin --command "cat attachments/a.txt" --command "mkdir -p out && cp attachments/blob.bin out/copy.bin" --name arts --result
    Then the exit code is 0
    And stdout matches "task_id={uuid} status=completed task_name=arts stdout="attached text\n" stderr="""
    When I run cynork: task artifacts list arts
    Then the exit code is 0
    And the first line of stdout is "artifact_id\tname\tcontent_type\tsize_bytes"
    And stdout has a row "{uuid}\tattachments/a.txt\ttext/plain\t14"
    And stdout has a row "{uuid}\tattachments/blob.bin\tapplication/octet-stream\t300000"
    And stdout has a row "{uuid}\tout/copy.bin\tapplication/octet-stream\t300000"
    When I run cynork: -o json task artifacts list {task}
    Then the JSON output has exactly the keys "task_id, task_name, artifacts"
    When I run cynork: task artifacts get arts {artifact:out/copy.bin} --out saved/copy.bin
    Then the exit code is 0
    And stdout is exactly "saved=true path=saved/copy.bin"
    And "saved/copy.bin" has the same bytes as "blob.bin"
    And "saved" holds only "copy.bin"
    When I run cynork: -o json task artifacts get arts {artifact:attachments/a.txt} --out saved/copy.bin --force
    Then the exit code is 0
    And stdout is the JSON value {"saved": true, "path": "saved/copy.bin"}
    And "saved/copy.bin" has the same bytes as "a.txt"

  # --- local validation: exit 2 before any request -------------------------------------------------------------

  @req_client_tasks @req_client_exit_codes @spec_cli_7_4_1 @spec_cli_3
  Scenario Outline: <case> is a usage error and sends nothing
    Given my work dir holds a directory, a symlink, a FIFO, oversized files and 17 small files
    When I run cynork: <args>
    Then the exit code is 2
    And stdout is empty
    And stderr is exactly "Error: <message>"
    And the server saw no request from that run

    Examples:
      | case                         | args                                                   | message                                                  |
      | no input mode                | task create --name x                                   | exactly one task input mode is required                  |
      | blank inline text            | task create -p "   "                                   | exactly one task input mode is required                  |
      | two input modes              | task create -p hi --command ls                         | exactly one task input mode is required                  |
      | --task with --prompt         | task create -t hi -p ho                                | exactly one task input mode is required                  |
      | a missing task file          | task create -f nothing.md                              | path "nothing.md": no such file                          |
      | a directory as script        | task create -s dir                                     | path "dir": is a directory                               |
      | a symlinked attachment       | task create -p hi -a link.txt                          | path "link.txt": is a symbolic link                      |
      | a FIFO as commands file      | task create --commands-file fifo                       | path "fifo": is not a regular file                       |
      | an oversized task file       | task create -f big.md                                  | task file "big.md" exceeds size limit (1048576 bytes)    |
      | an oversized script          | task create -s big.sh                                  | script "big.sh" exceeds size limit (262144 bytes)        |
      | an oversized commands file   | task create --commands-file big.txt                    | commands file "big.txt" exceeds size limit (65536 bytes) |
      | an oversized attachment      | task create -p hi -a big.bin                           | attachment "big.bin" exceeds size limit (10485760 bytes) |
      | 17 attachments               | task create -p hi {17 attachments}                     | too many attachments: max 16                             |
      | a limit of 0                 | task list -l 0                                         | --limit must be a whole number from 1 to 200, got '0'    |
      | a limit of 201               | task list --limit 201                                  | --limit must be a whole number from 1 to 200, got '201'  |
      | an unknown status            | task list --status done                                | status must be queued, running, completed, failed or canceled |
      | an unknown stream            | task logs x --stream both                              | stream must be stdout, stderr or all                     |
      | an unparseable interval      | task watch x -n 2                                      | --interval must be a duration such as 500ms, 2s or 1m30s, got '2' |
      | an existing --out file       | task artifacts get x y --out a.txt                     | a.txt already exists (use --force)                       |
      | artifacts get without --out  | task artifacts get x y                                 | --out is required for 'task artifacts get'               |

  @req_client_tasks @req_client_exit_codes @spec_cli_3 @spec_cli_5_1
  Scenario: without a token, a usage error still wins; a valid command exits 3 and sends nothing
    Given I am not signed in
    When I run cynork: task create --name x
    Then the exit code is 2
    When I run cynork: task create -p hi -a a.txt
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"
    And the server saw no request from that run

  # --- list, gateway errors --------------------------------------------------------------------------------------

  @req_client_tasks @spec_cli_7_4_2
  Scenario: list pages through my tasks and filters by status
    Given my tasks "t1", "t2" and "t3" have completed
    When I run cynork: task list --status completed
    Then the exit code is 0
    And stdout has 3 lines
    And stdout has a line matching "task_id={uuid} status=completed task_name=t1"
    And stdout has a line matching "task_id={uuid} status=completed task_name=t3"
    When I run cynork: -o json task list -l 2
    Then the JSON output has exactly the keys "tasks, next_cursor"
    And the JSON list has 2 tasks and a next cursor
    When I run cynork: -o json task list -l 2 --cursor {next_cursor}
    Then the JSON list has 1 task and the next cursor ""
    When I run cynork: -o json task list --status running
    Then stdout is the JSON value {"tasks": [], "next_cursor": ""}

  @req_client_tasks @req_client_exit_codes @spec_cli_3 @spec_cli_7_4
  Scenario: an unknown task is exit 4, canceling a finished one is exit 5
    Given my tasks "done" have completed
    When I run cynork: task get no-such-task
    Then the exit code is 4
    And stdout is empty
    And stderr is exactly "Error: 404 Not Found: Task not found"
    When I run cynork: task cancel done --yes
    Then the exit code is 5
    And stderr is exactly "Error: 409 Conflict: Task already completed"

  # --- cancel ------------------------------------------------------------------------------------------------------

  @req_client_tasks @spec_cli_7_4_4
  Scenario: cancel with --yes cancels a running task at once
    Given my task "gated" is running and waits for its go file
    When I run cynork: task cancel gated -y
    Then the exit code is 0
    And stdout matches "task_id={uuid} canceled=true task_name=gated"
    And task "gated" is "canceled"

  @req_client_tasks @spec_cli_7_4_4 @spec_cli_2_1
  Scenario: a declined confirmation on a non-terminal stdin sends nothing
    Given my task "gated" is running and waits for its go file
    When I run cynork "task cancel gated" with stdin "yes\n"
    Then the exit code is 0
    And stdout is empty
    And stderr starts with "Cancel task gated? [y/N] "
    And the server saw no request from that run
    And task "gated" is "running"

  @req_client_tasks @spec_cli_7_4_4 @pyz
  Scenario Outline: the cancel question on a terminal: only y or Y cancels (answer "<answer>")
    Given my task "gated" is running and waits for its go file
    When I run "task cancel gated" on a terminal and answer "<answer>" to "Cancel task gated? [y/N] "
    Then the exit code is 0
    And stdout shows <stdout>
    And task "gated" is "<status>"

    Examples:
      | answer | stdout                                                         | status   |
      | y      | a line matching "task_id={uuid} canceled=true task_name=gated" | canceled |
      | Y      | a line matching "task_id={uuid} canceled=true task_name=gated" | canceled |
      | n      | nothing                                                        | running  |
      |        | nothing                                                        | running  |
      | yes    | nothing                                                        | running  |

  # --- result, watch, logs ----------------------------------------------------------------------------------------

  @req_client_tasks @spec_cli_7_4_5 @spec_cli_7_4_8
  Scenario: result and logs of a finished task
    Given my work dir holds "out.sh" with "echo line 1\necho line 2\necho warn >&2\nprintf 'no newline'\n"
    When I run cynork: task create -s out.sh --name logged --result
    Then stdout matches "task_id={uuid} status=completed task_name=logged stdout="line 1\nline 2\nno newline" stderr="warn\n""
    When I run cynork: task logs logged
    Then stdout is exactly "line 1\nline 2\nno newline\nwarn"
    When I run cynork: task logs logged --stream stderr
    Then stdout is exactly "warn"
    When I run cynork: -o json task logs logged --stream stdout
    Then the JSON output has exactly the keys "task_id, task_name, stream, lines"
    And the JSON field "lines" is ["line 1", "line 2", "no newline"]
    When I run cynork: -o json task result logged
    Then the JSON output has exactly the keys "task_id, status, task_name, stdout, stderr, jobs"

  @req_client_tasks @spec_cli_7_4_8 @pyz
  Scenario: logs --follow prints a running job's output before the job ends
    Given my task "gated" is running and waits for its go file
    When I start cynork: task logs gated --follow
    Then its stdout shows "started\n" while task "gated" is still running
    When the go file of task "gated" appears
    Then it exits 0 with stdout "started\nfinished\n"

  @req_client_tasks @spec_cli_7_4_7
  Scenario: watch on a terminal redraws until the task ends
    Given my task "gated" is running and waits for its go file
    When I start cynork on a terminal for stdout: task watch gated -n 1s
    And the terminal shows "running"
    And the go file of task "gated" appears
    Then it exits 0
    And the terminal cleared the screen before each render, under the header "Every 1s: cynode cli task result gated  "
    And the last render is a line matching "task_id={uuid} status=\e[32mcompleted\e[0m task_name=gated stdout="started\nfinished\n" stderr="""

  @req_client_tasks @spec_cli_7_4_7 @spec_cli_2_4
  Scenario: watch off a terminal prints a header but never clears; --quiet drops the header
    Given my tasks "w" have completed
    When I run cynork: task watch w -n 10ms
    Then the exit code is 0
    And stdout is the header "Every 1s: cynode cli task result w" with the local time, an empty line and a line matching "task_id={uuid} status=completed task_name=w stdout="" stderr="""
    When I run cynork: -q task watch w -n 1m30s
    Then stdout is the line "task_id={any} status=completed task_name=w stdout="" stderr="""

  @req_client_tasks @spec_cli_7_4_7 @spec_cli_2_2
  Scenario: watch in json mode prints only the final result
    Given my tasks "w" have completed
    When I run cynork: -o json task watch w
    Then the exit code is 0
    And the JSON output has exactly the keys "task_id, status, task_name, stdout, stderr, jobs"

  # --- on a terminal: progress, Ctrl+C, colour ----------------------------------------------------------------------

  @req_client_tasks @req_client_output @spec_cli_7_4_5 @spec_cli_2_4
  Scenario Outline: waiting shows progress on stderr only when it is a terminal (<case>)
    Given my task "gated" is running and waits for its go file
    When I start cynork on a terminal for <tty>: <args>
    And <wait>
    And the go file of task "gated" appears
    Then it exits 0
    And the terminal <shows> "waiting for task gated"
    And stdout is a result of task "gated" with status "completed"

    Examples:
      | case         | tty    | args                            | wait                                              | shows          |
      | a terminal   | stderr | task result gated --wait        | the terminal shows "waiting for task gated"       | shows          |
      | a pipe       | stdin  | task result gated -w            | the server has answered a result poll             | does not show  |
      | json mode    | stderr | -o json task result gated -w    | the server has answered a result poll             | does not show  |
      | quiet        | stderr | -q task result gated --wait     | the server has answered a result poll             | does not show  |

  @req_client_tasks @spec_cli_3 @spec_cli_7_4_5 @spec_cli_7_4_8
  Scenario Outline: Ctrl+C while waiting ends <args> with exit 0 and leaves the task running
    Given my task "gated" is running and waits for its go file
    When I start cynork on a terminal for <tty>: <args>
    And <where> shows "<shown>"
    And I press Ctrl+C
    Then it exits 0 with stdout "<stdout>"
    And task "gated" is "running"
    When the go file of task "gated" appears
    Then task "gated" ends "completed"

    Examples:
      | tty    | args                      | where        | shown                  | stdout     |
      | stderr | task result gated --wait  | the terminal | waiting for task gated |            |
      | stdin  | task logs gated -F        | stdout       | started                | started\n  |

  @req_client_tasks @spec_cli_3 @spec_cli_7_4_7
  Scenario: Ctrl+C during watch ends it with exit 0 and leaves the task running
    Given my task "gated" is running and waits for its go file
    When I start cynork on a terminal for stdout: task watch gated
    And the terminal shows "running"
    And I press Ctrl+C
    Then it exits 0
    And the terminal does not show "completed"
    And task "gated" is "running"

  @req_client_tasks @spec_cli_3 @spec_cli_7_4_1
  Scenario: Ctrl+C during create --result leaves the new task running
    Given my work dir holds "gate.sh" with "echo started\nwhile [ ! -e go ]; do sleep 0.1; done\necho finished\n"
    When I start cynork on a terminal for stderr: task create -s gate.sh --name made --result
    And the terminal shows "waiting for task "
    And I press Ctrl+C
    Then it exits 0 with stdout ""
    And task "made" is "running"
    When the go file of task "made" appears
    Then task "made" ends "completed"

  @req_client_tasks @req_client_output @spec_cli_2_4 @spec_cli_7_4_3
  Scenario Outline: the status is coloured only on a terminal that allows colour (<case>)
    Given my tasks "c" have completed
    When I start cynork on a terminal for stdout: <args>
    Then it exits 0
    And the terminal shows the line "<line>"

    Examples:
      | case        | args                       | line                                                 |
      | colour      | task get c                 | task_id={uuid} status=\e[32mcompleted\e[0m task_name=c |
      | --no-color  | --no-color task get c      | task_id={uuid} status=completed task_name=c          |
      | json mode   | -o json task list          | "status": "completed",                               |
