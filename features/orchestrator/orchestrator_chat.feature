@suite_orchestrator_chat
Feature: Chat and the OpenAI-compatible API
  A signed-in user chats with the configured model through the seed's POST /v1/chat and through the
  OpenAI-compatible GET /v1/models and POST /v1/chat/completions, whole or streamed as server-sent events.
  The server is a real `cynode serve`; the inference backend is a fake that speaks Ollama's and OpenAI's wire
  formats on loopback. Every exchange is stored against the user without its content.

  # --- answers from each kind of backend ------------------------------------------------------------------

  @req_chat @spec_gateway_8_1
  Scenario Outline: the seed endpoint answers one message (<api> backend)
    Given a cynode server using the fake "<api>" inference backend
    And I have an access token
    When I send POST "/v1/chat" with the access token of session "me" and body '{"message": "hello there"}'
    Then the response status is 200
    And the response JSON has exactly the keys "response"
    And the response JSON field "response" is "echo: hello there"
    And the inference backend was asked with 1 message for model "fake-model"

    Examples:
      | api    |
      | ollama |
      | openai |

  @req_chat @spec_gateway_8_2
  Scenario Outline: models and a completion of the whole conversation (<api> backend)
    Given a cynode server using the fake "<api>" inference backend
    And I have an access token
    When I send GET "/v1/models" with the access token of session "me"
    Then the response status is 200
    And the response JSON field "data" is [{"id": "fake-model", "object": "model", "created": 0, "owned_by": "cynode"}]
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "one"}, {"role": "assistant", "content": "echo: one"}, {"role": "user", "content": "two"}], "temperature": 0.1}'
    Then the response status is 200
    And the response is a chat completion for model "fake-model" answering "echo: two"
    And the inference backend was asked with 4 messages for model "fake-model"

    Examples:
      | api    |
      | ollama |
      | openai |

  # --- streaming ------------------------------------------------------------------------------------------

  @req_chat_streaming @spec_gateway_8_2
  Scenario Outline: a streamed completion sends each piece as it arrives (<api> backend)
    Given a cynode server using the fake "<api>" inference backend
    And I have an access token
    When I stream a completion of "[[slow 0.3]] a b c"
    Then the stream answered with status 200
    And the stream is server-sent events in the OpenAI chunk format ending with [DONE]
    And the streamed answer is "echo: a b c"
    And the first piece arrived well before the last
    And the request log line of that stream shows its whole duration

    Examples:
      | api    |
      | ollama |
      | openai |

  @req_chat_streaming @spec_gateway_8_2
  Scenario Outline: a client that hangs up mid-stream stops the upstream request (<api> backend)
    Given a cynode server using the fake "<api>" inference backend
    And I have an access token
    When I stream a completion of "[[slow 0.2]] a b c d e f g h i j k l m n o p" and hang up after the first piece
    Then the inference backend sees its connection close
    And the server stores a "canceled" exchange for "admin"

    Examples:
      | api    |
      | ollama |
      | openai |

  # --- the official openai package as a client -------------------------------------------------------------

  @req_chat_openai_client @spec_gateway_8_2
  Scenario: the official openai package works against the gateway
    Given a cynode server using the fake "openai" inference backend
    And I have an access token
    When I use the official openai client with my access token
    Then it lists the model "fake-model"
    And it completes "hi there" with "echo: hi there"
    And it streams "a b c" as "echo: a b c" in more than one chunk
    And with a wrong api key it gets an authentication error saying "Invalid or expired token"

  # --- errors ---------------------------------------------------------------------------------------------

  @req_chat_errors @spec_gateway_8_2
  Scenario: without an inference backend chat is unavailable, naming the setting
    Given a running cynode server
    And I have an access token
    When I send GET "/v1/models" with the access token of session "me"
    Then the response JSON field "data" is []
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "user", "content": "hi"}]}'
    Then the response is an OpenAI error with status 503 and code "model_unavailable" mentioning "CYNODE_INFERENCE_URL"
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "user", "content": "hi"}], "stream": true}'
    Then the response is an OpenAI error with status 503 and code "model_unavailable" mentioning "CYNODE_INFERENCE_URL"
    When I send POST "/v1/chat" with the access token of session "me" and body '{"message": "hi"}'
    Then the response is a problem with status 503 and detail starting with "Inference is not configured: set CYNODE_INFERENCE_URL"

  @req_chat_errors @spec_gateway_8_2
  Scenario Outline: a failing backend is a 502 (<api> backend)
    Given a cynode server using the fake "<api>" inference backend
    And I have an access token
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "user", "content": "[[error 500]]"}]}'
    Then the response is an OpenAI error with status 502 and code "orchestrator_inference_failed" mentioning "HTTP 500"
    When I send POST "/v1/chat" with the access token of session "me" and body '{"message": "[[error 503]]"}'
    Then the response is a problem with status 502 and detail starting with "Completion failed: HTTP 503"

    Examples:
      | api    |
      | ollama |
      | openai |

  @req_chat_errors @spec_gateway_8_2
  Scenario: a backend that stays silent past the read timeout is a 504
    Given a cynode server using the fake "ollama" inference backend with "CYNODE_INFERENCE_READ_TIMEOUT=1"
    And I have an access token
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "user", "content": "[[silent 3]]"}]}'
    Then the response is an OpenAI error with status 504 and code "cynodeai_completion_timeout" mentioning "did not answer in time"
    When I send POST "/v1/chat" with the access token of session "me" and body '{"message": "[[silent 3]]"}'
    Then the response is a problem with status 504 and detail starting with "Completion timed out"
    And the server stores exchanges for "admin" with outcomes "timeout, timeout"

  @req_chat_errors @spec_gateway_8_2
  Scenario Outline: bad completion requests are 400s in the OpenAI shape
    Given a cynode server using the fake "openai" inference backend
    And I have an access token
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '<body>'
    Then the response is an OpenAI error with status 400 and code "invalid_request" mentioning "<message>"
    And the inference backend was not asked anything

    Examples:
      | body                                                        | message                                     |
      | {}                                                          | messages is required and must be non-empty  |
      | {"messages": []}                                            | messages is required and must be non-empty  |
      | {"messages": [{"role": "robot", "content": "x"}]}           | role must be one of: system, user, assistant |
      | {"messages": [{"role": "system", "content": "x"}]}          | At least one user message is required       |
      | {"messages": [{"role": "user", "content": "x"}], "max_tokens": -1} | max_tokens must be an integer at least 1 |
      | {not json                                                   | Invalid request body                        |

  @req_chat_errors @spec_gateway_8_2
  Scenario: a model the server does not list is a 404
    Given a cynode server using the fake "openai" inference backend
    And I have an access token
    When I send POST "/v1/chat/completions" with the access token of session "me" and body '{"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}'
    Then the response is an OpenAI error with status 404 and code "model_not_found" mentioning "gpt-9"

  @req_chat_errors @spec_gateway_8_1
  Scenario Outline: the seed endpoint needs a message
    Given a cynode server using the fake "ollama" inference backend
    And I have an access token
    When I send POST "/v1/chat" with the access token of session "me" and body '<body>'
    Then the response is a problem with status 400 and detail "Message is required"

    Examples:
      | body              |
      | {}                |
      | {"message": ""}   |
      | {"message": "  "} |

  @req_chat_errors @req_gateway_auth @spec_gateway_8_2
  Scenario: no token is a 401 on every chat route
    Given a running cynode server
    When I send POST "/v1/chat/completions" with body '{"messages": [{"role": "user", "content": "x"}]}'
    Then the response is an OpenAI error with status 401 and code "invalid_api_key" mentioning "Missing authorization header"
    When I send GET "/v1/models"
    Then the response is an OpenAI error with status 401 and code "invalid_api_key" mentioning "Missing authorization header"
    When I send POST "/v1/chat" with body '{"message": "x"}'
    Then the response is a problem with status 401 and detail "Missing authorization header"

  # --- what is kept ---------------------------------------------------------------------------------------

  @req_chat_audit @spec_gateway_8_2
  Scenario: every exchange is stored against the user, without its content
    Given a cynode server using the fake "openai" inference backend
    And I have an access token
    When I send POST "/v1/chat" with the access token of session "me" and body '{"message": "the secret plan xyzzy"}'
    And I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": [{"role": "user", "content": "xyzzy again [[error 500]]"}]}'
    And I send POST "/v1/chat/completions" with the access token of session "me" and body '{"messages": []}'
    And I stream a completion of "xyzzy streamed"
    Then the server stores exchanges for "admin" with outcomes "success, error, error, success"
    And the stored exchanges have error codes ", orchestrator_inference_failed, invalid_request, "
    And the stored exchanges have the routes, models, sizes and request ids of those requests
    And the server's database does not contain "xyzzy" nor the access token
    And the server log has exactly one line per request sent in this scenario
