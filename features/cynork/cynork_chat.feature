@suite_cynork
Feature: cynork chat
  A signed-in person talks to the configured model from a terminal or a script. The CLI keeps the conversation
  in memory, sends all of it with every new line to POST /v1/chat/completions as a stream, and prints the answer
  on stdout as it arrives; prompts, hints and errors go to stderr. Every run is a real process against a real
  `cynode serve` whose inference backend is a fake speaking Ollama's wire format on loopback (it answers
  "echo: <last user message>" word by word). No run may show a Python traceback, the token, or leave a history.

  # --- before anything is sent ------------------------------------------------------------------------------

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario Outline: chat without a token fails with exit 3 before any prompt or request
    Given a running cynode server with the fake inference backend
    When I run cynork "<args>" with stdin "hello\n"
    Then the exit code is 3
    And stdout is empty
    And stderr is exactly "Error: not logged in: run 'cynode cli auth login' or set CYNORK_TOKEN"
    And the server saw no request from that run
    And the inference backend was asked nothing

    Examples:
      | args                    |
      | chat                    |
      | chat -m hello           |
      | -o json chat -m hello   |

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario: an empty --message is a usage error
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat -m '  '"
    Then the exit code is 2
    And stderr is exactly "Error: --message must not be empty"
    And the server saw no request from that run

  # --- one message --------------------------------------------------------------------------------------------

  @req_client_chat @spec_cli_7_5 @spec_cli_2_1 @pyz
  Scenario: --message prints the answer and exits 0
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat --message 'hello there'"
    Then the exit code is 0
    And stdout is exactly "echo: hello there"
    And stderr is empty
    And the server saw exactly these requests from that run: "POST /v1/chat/completions 200"
    And the inference backend was last asked with these messages:
      | role | content     |
      | user | hello there |
    And no output of that run shows my access token

  @req_client_chat @spec_cli_7_5 @spec_cli_2_1 @spec_cli_2_2
  Scenario: --message in json mode prints one JSON object and nothing else
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "-o json chat -m 'hello there'"
    Then the exit code is 0
    And stdout is the JSON value {"response": "echo: hello there"}
    And stderr is empty

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario: --model names the model to ask; a model the gateway does not serve is not found
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat -m hi --model fake-model --plain"
    Then the exit code is 0
    And stdout is exactly "echo: hi"
    When I run cynork "chat -m hi --model other-model"
    Then the exit code is 4
    And stdout is empty
    And stderr is one line starting with "Error: 404 Not Found: The model 'other-model' does not exist"

  @req_client_chat_streaming @spec_cli_7_5 @pyz
  Scenario: the answer is printed as it arrives, not when it is complete
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I start cynork "chat -m '[[tokens 8]] [[slow 0.5]]'"
    Then its stdout shows "w0" while "w7" is still to come
    And it ends with exit code 0
    And stdout is exactly "w0 w1 w2 w3 w4 w5 w6 w7"

  # --- a conversation from a script -------------------------------------------------------------------------

  @req_client_chat @spec_cli_7_5
  Scenario: every message goes with the conversation so far; blank lines are skipped
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "one\n\n   \n  two  \n"
    Then the exit code is 0
    And stdout is exactly "echo: one\necho: two"
    And stderr is the prompt "> " 5 times and nothing else
    And the inference backend was asked 2 times
    And the inference backend was last asked with these messages:
      | role      | content   |
      | user      | one       |
      | assistant | echo: one |
      | user      | two       |
    And no output of that run shows my access token

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario Outline: /exit, /quit and the end of input leave with 0 and nothing more is sent
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "<stdin>"
    Then the exit code is 0
    And stdout is exactly "echo: one"
    And the inference backend was asked 1 time

    Examples:
      | stdin             |
      | one\n/exit\ntwo\n |
      | one\n/QUIT\ntwo\n |
      | one\n/Exit        |
      | one\n             |
      | one               |

  @req_client_chat @spec_cli_7_5
  Scenario: slash commands are handled here and never sent
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "/help\n/frobnicate now\n"
    Then the exit code is 0
    And stdout is empty
    And stderr contains "/help"
    And stderr contains "/clear"
    And stderr contains "/exit"
    And stderr contains "Unknown command. Type /help for available commands.\n"
    And the inference backend was asked nothing

  @req_client_chat @spec_cli_7_5
  Scenario: /clear forgets the conversation; a path is a message, not a command
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "one\n/clear\n/etc/hosts is a file\n"
    Then the exit code is 0
    And stdout is exactly "echo: one\necho: /etc/hosts is a file"
    And the inference backend was last asked with these messages:
      | role | content              |
      | user | /etc/hosts is a file |

  @req_client_chat @req_client_history @spec_cli_7_5
  Scenario: a chat leaves no history behind
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "purple elephant\n"
    And I run cynork "chat -m 'purple elephant'"
    Then the exit code is 0
    And no file under my home or config directory holds "purple elephant", and the config file is the only file

  # --- failures -----------------------------------------------------------------------------------------------

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario Outline: a failing backend ends the session with exit 7 and one error line
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "<args>" with stdin "[[error 500]] one\ntwo\n"
    Then the exit code is 7
    And stdout is empty
    And the only error line on stderr ends it and starts with "Error: 502 Bad Gateway: Completion failed: "
    And the inference backend was asked 1 time

    Examples:
      | args                            |
      | chat                            |
      | chat -m '[[error 500]] one'     |
      | -o json chat -m '[[error 500]]' |

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario Outline: a token the gateway refuses ends the session with exit 3
    Given a running cynode server with the fake inference backend
    And the config file contains "token: not-a-token-the-gateway-knows"
    When I run cynork "<args>" with stdin "hello\nagain\n"
    Then the exit code is 3
    And stdout is empty
    And the only error line on stderr ends it and starts with "Error: 401 Unauthorized"
    And the server saw exactly these requests from that run: "POST /v1/chat/completions 401"
    And the inference backend was asked nothing

    Examples:
      | args          |
      | chat          |
      | chat -m hello |

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario Outline: an answer that breaks off keeps what was printed and exits 7
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I run cynork "chat" with stdin "<message>\nnot sent\n"
    Then the exit code is 7
    And stdout is exactly "echo: a"
    And the only error line on stderr ends it and starts with "Error: the answer broke off: Completion failed: "
    And the inference backend was asked 1 time

    Examples:
      | message           |
      | [[break]] a b c d |
      | [[cut]] a b c d   |

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario: a gateway that goes away in the middle of an answer: what was printed stays, exit 7
    Given a separate cynode server with the fake inference backend
    And I am logged in as "admin"
    When I start cynork "chat -m '[[tokens 100]] [[slow 0.1]]'"
    Then its stdout shows "w0" while "w99" is still to come
    When the server is killed
    Then it ends with exit code 7
    And stdout matches the interrupted answer
    And the only error line on stderr ends it and starts with "Error: the connection to the gateway broke in the middle of the answer"

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario: a gateway without inference answers 503: exit 7
    Given a separate cynode server
    And I am logged in as "admin"
    When I run cynork "chat -m hello"
    Then the exit code is 7
    And stdout is empty
    And stderr is one line starting with "Error: 503 Service Unavailable: Inference is not configured"

  @req_client_chat @spec_cli_7_5 @spec_cli_3
  Scenario: a gateway that cannot be reached: exit 7
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    And the gateway is unreachable
    When I run cynork "chat" with stdin "hello\n"
    Then the exit code is 7
    And stdout is empty
    And the only error line on stderr ends it and starts with "Error: cannot reach gateway at "

  # --- at a terminal ---------------------------------------------------------------------------------------------

  @req_client_chat @req_client_chat_streaming @spec_cli_7_5 @spec_cli_3 @pyz
  Scenario: at a terminal: the hint and prompt, Ctrl+C stops an answer and the chat goes on, Ctrl+D leaves
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I start cynork "chat" on a terminal
    Then the terminal shows "Type /exit or /quit (or Ctrl+D) to leave.\n> "
    When I type "[[tokens 100]] [[slow 0.1]]" and press Enter
    Then its stdout shows "w0" while "w99" is still to come
    When I press Ctrl+C
    Then the terminal shows the prompt "> " again
    When I type "tangerine dream" and press Enter
    Then the terminal shows the prompt "> " again
    When I press Ctrl+D
    Then it ends with exit code 0
    And stdout matches the interrupted answer then "echo: tangerine dream"
    And the inference backend was last asked with these messages:
      | role | content         |
      | user | tangerine dream |
    And no output of that run shows my access token
    And no file under my home or config directory holds "tangerine", and the config file is the only file

  @req_client_chat @spec_cli_7_5 @spec_cli_2_4 @spec_cli_3
  Scenario: at a terminal with --quiet: no hint, and Ctrl+C at the prompt leaves with 0
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I start cynork "-q chat" on a terminal
    Then the terminal shows "> "
    When I press Ctrl+C
    Then it ends with exit code 0
    And stdout is empty
    And the inference backend was asked nothing

  @req_client_chat @spec_cli_7_5 @spec_cli_2_4
  Scenario: at a terminal a progress line shows while the answer is awaited, gone before the answer starts
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    When I start cynork "chat" on a terminal that also shows its stderr
    Then the terminal shows the prompt "> "
    When I type "[[silent 1]] hello" and press Enter
    Then the terminal shows the prompt "> " again
    And the terminal showed "waiting for the answer" and erased it before the prompt
    When I press Ctrl+D
    Then it ends with exit code 0
    And stdout is exactly "echo: hello"

  @req_client_chat @spec_cli_7_5 @spec_cli_2_4
  Scenario Outline: at a terminal with <how> nothing shown is an escape sequence
    Given a running cynode server with the fake inference backend
    And I am logged in as "admin"
    And the environment has <environment>
    When I start cynork "<args>" on a terminal that also shows its stderr
    Then the terminal shows the prompt "> "
    When I type "[[silent 1]] hello" and press Enter
    Then the terminal shows the prompt "> " again
    When I press Ctrl+D
    Then it ends with exit code 0
    And stdout is exactly "echo: hello"
    And neither stdout nor the terminal holds an escape sequence

    Examples:
      | how        | args            | environment |
      | --no-color | --no-color chat | nothing new |
      | NO_COLOR   | chat            | NO_COLOR=1  |
