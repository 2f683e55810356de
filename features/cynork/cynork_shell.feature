@suite_cynork
Feature: cynork interactive shell and shell completion
  As a person at a terminal, I run `cynode cli shell` and type command lines that behave exactly as on the
  command line, with a prompt telling me who and where I am, tab completion and a private history. Scripts run
  one line with `shell -c`. bash and zsh complete the same words through `cynode cli completion`. Every run is
  a real process (on a real pseudo-terminal where a terminal matters) against a real `cynode serve`.

  Background:
    Given a running cynode server

  # --- prompt and lines -------------------------------------------------------------------------------------

  @req_client_shell @spec_cli_7_6 @spec_cli_2_1
  Scenario: the prompt names the user and the gateway, on stderr only
    Given I am logged in as "admin"
    When I run cynork "shell" with stdin "version\n"
    Then the exit code is 0
    And stdout is exactly "version=${VERSION}"
    And the shell's stderr is exactly "cynode(admin@${GATEWAY_URL})> \ncynode(admin@${GATEWAY_URL})> \n"

  @req_client_shell @spec_cli_7_6
  Scenario: without a token the prompt names only the gateway and no identity is asked for
    When I run cynork "shell" with stdin "version\n"
    Then the exit code is 0
    And the shell's stderr is exactly "cynode(${GATEWAY_URL})> \ncynode(${GATEWAY_URL})> \n"
    And the server saw no request from that run

  @req_client_shell @spec_cli_7_6 @spec_cli_3 @pyz
  Scenario: lines behave as on the command line, and a failing line does not end the shell
    Given I am logged in as "admin"
    When I run cynork "shell" with stdin "version\nauth bogus\nusers disable no-such-user\nauth whoami -q\ncynode cli version\ncynork -o json version\n"
    Then the exit code is 0
    And stdout is exactly "version=${VERSION}\nid=${ID:admin} handle=admin\nversion=${VERSION}\n{\n  "version": "${VERSION}"\n}"
    And stderr contains the line "Error: unknown command: auth bogus"
    And stderr contains the line "Error: 404 Not Found: User not found"

  @req_client_shell @spec_cli_7_6
  Scenario: a line with an open quote is an error and the shell goes on
    When I run cynork "shell" with stdin "version 'open\nversion\n"
    Then the exit code is 0
    And stdout is exactly "version=${VERSION}"
    And stderr contains the line "Error: cannot read the line: no closing quotation"

  @req_client_shell @spec_cli_7_6 @spec_cli_2_5
  Scenario: help lists the commands, and help with a command is that command's --help
    When I run cynork "shell" with stdin "help\nhelp auth\n"
    Then the exit code is 0
    And stdout contains "  auth        login, logout, whoami, refresh"
    And stdout contains "Built-ins: help [<command>...], exit, quit"
    And stdout contains "  cynode cli [options] auth whoami"

  @req_client_shell @spec_cli_7_6
  Scenario Outline: exit, quit and the end of input leave the shell with 0
    When I run cynork "shell" with stdin "<input>"
    Then the exit code is 0
    And stdout is empty

    Examples:
      | input                 |
      | exit\nversion\n       |
      | quit\nversion\n       |
      | \n\n                  |

  @req_client_shell @spec_cli_7_6
  Scenario: a shell inside the shell is refused with 2 for that line
    When I run cynork "shell" with stdin "shell\nversion\n"
    Then the exit code is 0
    And stdout is exactly "version=${VERSION}"
    And stderr contains the line "Error: nested shell is not supported"
    When I run cynork "shell -c shell"
    Then the exit code is 2
    And stderr is exactly "Error: nested shell is not supported"

  @req_client_shell @spec_cli_7_6 @spec_cli_1_1
  Scenario: the shell's global flags are defaults for every line, and a line's own flags win
    When I run cynork "-o json shell" with stdin "version\nversion -o table\nversion --output=table\n"
    Then the exit code is 0
    And stdout is exactly "{\n  "version": "${VERSION}"\n}\nversion=${VERSION}\nversion=${VERSION}"

  # --- shell -c ----------------------------------------------------------------------------------------------

  @req_client_shell @spec_cli_7_6
  Scenario Outline: shell -c runs one line, without prompt or identity request
    Given I am logged in as "admin"
    When I run cynork "<args>"
    Then the exit code is 0
    And stdout is exactly "<stdout>"
    And stderr is empty
    And the server saw exactly these requests from that run: "<requests>"

    Examples:
      | args                             | stdout                  | requests         |
      | shell -c version                 | version=${VERSION}      |                  |
      | shell --command '-o json status' | {\n  "gateway": "ok"\n} | GET /healthz 200 |

  @req_client_shell @spec_cli_7_6 @spec_cli_3
  Scenario Outline: shell -c exits with the code of its line
    Given I am logged in as "admin" in profile "admin"
    When I run cynork "<args>" as "<profile>"
    Then the exit code is <code>
    And stdout is empty
    And stderr starts with "Error: "
    And the server saw exactly these requests from that run: "<requests>"

    Examples:
      | args                                  | profile | code | requests                                |
      | shell -c 'auth bogus'                 | admin   | 2    |                                         |
      | shell -c version\\ \\'open             | admin   | 2    |                                         |
      | shell -c 'auth whoami'                | me      | 3    |                                         |
      | shell -c 'users disable no-such-user' | admin   | 4    | POST /v1/users/no-such-user/disable 404 |

  @req_client_shell @spec_cli_7_6 @spec_cli_4_1
  Scenario Outline: the config named before `shell` is the config of every line
    Given I am logged in as "admin" in profile "admin"
    When I run cynork "<args>" with stdin "<stdin>" and "<flag>" set to the config file of profile "admin"
    Then the exit code is 0
    And stdout is exactly "id=${ID:admin} handle=admin"

    Examples:
      | flag     | args                    | stdin          |
      | -c       | shell -c 'auth whoami'  |                |
      | --config | shell                   | auth whoami\n  |

  # --- on a terminal: completion, login, history -----------------------------------------------------------

  @req_client_shell @spec_cli_7_6 @pyz
  Scenario: tab completion on a terminal completes commands, subcommands, flag values and task names
    Given I am logged in as a new user who has a task named "shell-demo"
    When I start the cynork shell on a terminal
    Then the prompt "cynode(${HANDLE}@${GATEWAY_URL})> " appears
    When I type "vers" and Tab, then Enter
    Then the terminal shows "version=${VERSION}"
    When I type "tas" and Tab, then "--help" and Enter
    Then the terminal shows "cynode cli [options] task artifacts list <task>"
    When I type "task l" and Tab twice
    Then the terminal lists "list logs"
    When I type "task get " and Tab twice
    Then the terminal lists the task "shell-demo" and its id
    When I type "help task list --output " and Tab twice
    Then the terminal lists "json table"
    When I type "auth whoami --outp" and Tab, then "json" and Enter
    Then the terminal shows ""handle": "${HANDLE}""
    When I type "exit" and Enter
    Then the shell exits with 0
    And the terminal never showed the stored token

  @req_client_shell @spec_cli_7_6 @spec_cli_5_1
  Scenario: logging in and out inside the shell changes the prompt, and Ctrl+C discards a line
    When I start the cynork shell on a terminal
    Then the prompt "cynode(${GATEWAY_URL})> " appears
    When I type "auth whoami" and Ctrl+C
    Then the prompt "cynode(${GATEWAY_URL})> " appears
    When I log in as "admin" in the terminal shell
    Then the prompt "cynode(admin@${GATEWAY_URL})> " appears
    When I type "auth logout" and Enter
    Then the prompt "cynode(${GATEWAY_URL})> " appears
    When I type "exit" and Enter
    Then the shell exits with 0
    And the terminal never showed the admin password

  @req_client_shell @spec_cli_7_6 @spec_cli_4_5 @pyz
  Scenario: the history file is private, keeps ordinary lines only, and comes back after a restart
    Given the shell history file holds "old-line" with mode 0644
    When I start the cynork shell on a terminal
    And I type "version" and Enter
    And I log in as "admin" in the terminal shell
    And I type Ctrl+P
    Then the terminal line shows "version"
    When I type Ctrl+C
    And I type "help password" and Enter
    And I type "status --token=x" and Enter
    And I type "users create bob --secret" and Enter
    And I type "auth whoami" and Enter
    And I type "exit" and Enter
    Then the shell exits with 0
    And the shell history file has mode 0600 and holds exactly "old-line, version, auth whoami, exit"
    And the shell history file does not contain the admin password
    When I start the cynork shell on a terminal
    And I type Ctrl+P twice, then Enter
    Then the terminal shows "handle=admin"
    When I type Ctrl+D
    Then the shell exits with 0

  # --- bash and zsh ------------------------------------------------------------------------------------------

  @req_client_shell @spec_cli_7_6 @pyz
  Scenario Outline: the bash completion script completes commands, flags, values and task names
    Given I am logged in as a new user who has a task named "shell-demo"
    When bash completes "<words>" with the script from "cynode cli completion bash"
    Then the completions are exactly "<candidates>"

    Examples:
      | words                                  | candidates                             |
      | cynode ''                              | serve worker cli version               |
      | cynode cli ta                          | task                                   |
      | cynode cli task artifacts ''           | list get                               |
      | cynode cli task list --st              | --status                               |
      | cynode cli task list --status c        | completed canceled                     |
      | cynode cli -o ''                       | table json                             |
      | cynode cli task logs x --stream = s    | stdout stderr                          |
      | cynode cli completion ''               | bash zsh                               |
      | cynork auth w                          | whoami                                 |
      | cynode cli task get s                  | shell-demo                             |
      | cynork task watch ''                   | shell-demo {task id}                   |
      | cynode cli task artifacts get x ''     |                                        |
      | cynode.pyz cli users ''                | create list disable enable             |

  @req_client_shell @spec_cli_7_6
  Scenario: bash completion of task names stays silent when the gateway cannot answer
    Given the gateway is unreachable
    When bash completes "cynode cli task get ''" with the script from "cynode cli completion bash"
    Then the completions are exactly ""
    When I run cynork "__complete cynode cli task get ''"
    Then the exit code is 0
    And stdout is empty
    And stderr is empty

  @req_client_shell @spec_cli_7_6
  Scenario: the zsh completion script is valid zsh
    When I run cynork "completion zsh"
    Then the exit code is 0
    And stdout contains "#compdef cynode cynork"
    And stdout contains "__complete"
    And zsh accepts the script's syntax
