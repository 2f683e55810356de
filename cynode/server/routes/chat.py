"""Chat: the seed's POST /v1/chat, and the OpenAI-compatible GET /v1/models and POST /v1/chat/completions
(plain or streamed as server-sent events). Errors on the OpenAI routes use OpenAI's error object (app._problem).
Every exchange of an authenticated user is stored, whatever its outcome (server/chat.py)."""

import time
import uuid

from cynode.server.auth import authenticate
from cynode.server.chat import EventStream, Exchange, not_configured
from cynode.server.deps import Reply
from cynode.server.errors import ApiError, BadRequest
from cynode.server.jsonio import read_json

OPENAI_PATHS = frozenset({"/v1/models", "/v1/chat/completions"})
ROLES = ("system", "user", "assistant")
MAX_TEMPERATURE = 2.0  # OpenAI's range is 0..2
STREAM_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache",
                  "X-Accel-Buffering": "no"}  # the last: a reverse proxy (nginx) must not hold events back


def served_model(deps) -> str:
    """The model chat uses: the admins' setting (agents.project_manager.model.local_default_ollama_model) when set,
    else the configured one; read per request, so a change applies at once."""
    return deps.store.model_override() or deps.settings.inference_model


def _client(deps):
    if deps.inference is None:
        raise not_configured()
    return deps.inference


def chat(deps, req):
    """The seed's endpoint: one message, answered by the configured model; problem+json errors."""
    user = authenticate(deps, req).user
    with Exchange(deps, req, user.id, "/v1/chat") as exchange:
        message = read_json(req).get("message")
        if not isinstance(message, str) or not message.strip():
            raise BadRequest("Message is required")
        messages, model = [{"role": "user", "content": message}], served_model(deps)
        exchange.asked(messages, model)
        client = _client(deps)
        text = exchange.answer(client.stream(messages, model=model))
        exchange.finish("success")
    return {"response": text}


def list_models(deps, req):
    authenticate(deps, req)
    data = [{"id": served_model(deps), "object": "model", "created": 0, "owned_by": "cynode"}]
    return {"object": "list", "data": data if deps.inference is not None else []}


def _text(content, where: str) -> str:
    """A message's content: a string, or OpenAI's list of text parts (joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and all(
            isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str) for p in content):
        return "".join(p["text"] for p in content)
    raise BadRequest(f"{where}.content must be a string or a list of text parts")


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages is required and must be non-empty")
    cleaned = []
    for number, message in enumerate(messages):
        where = f"messages[{number}]"
        if not isinstance(message, dict):
            raise BadRequest(f"{where} must be an object with role and content")
        if message.get("role") not in ROLES:
            raise BadRequest(f"{where}.role must be one of: {', '.join(ROLES)}")
        cleaned.append({"role": message["role"], "content": _text(message.get("content"), where)})
    if not any(m["role"] == "user" for m in cleaned):
        raise BadRequest("At least one user message is required")
    return cleaned


def _number(body: dict, name: str, kind: type, low, high=None):
    value = body.get(name)
    if value is None:
        return None
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 2.0 is the integer 2 (JSON Schema agrees)
    if isinstance(value, bool) or not isinstance(value, kind) or value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise BadRequest(f"{name} must be a{'n integer' if kind is int else ' number'} {bounds}")
    return value


def _options(body: dict) -> dict:
    temperature = _number(body, "temperature", (int, float), 0, MAX_TEMPERATURE)
    max_tokens = _number(body, "max_tokens", int, 1)
    if max_tokens is None:
        max_tokens = _number(body, "max_completion_tokens", int, 1)  # OpenAI's newer name for it
    if not isinstance(body.get("stream", False), (bool, type(None))):
        raise BadRequest("stream must be a boolean")
    return {"temperature": temperature, "max_tokens": max_tokens}


def _model(body: dict, served: str) -> str:
    """The effective model: the served one when none is asked for; any other id is not served here."""
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise BadRequest("model must be a string")
    return model or served


def chat_completions(deps, req):
    user = authenticate(deps, req).user
    with Exchange(deps, req, user.id, "/v1/chat/completions") as exchange:
        body = read_json(req)
        exchange.stream = body.get("stream") is True
        messages = body.get("messages")
        served = served_model(deps)
        exchange.asked(messages if isinstance(messages, list) else [], served)
        messages, options, model = _messages(body), _options(body), _model(body, served)
        exchange.asked(messages, model)
        client = _client(deps)
        if model != served:
            raise ApiError(f"The model {model!r} does not exist; GET /v1/models lists the models served here",
                           status=404, code="model_not_found")
        pieces = client.stream(messages, model=model, **options)
        if exchange.stream:
            first = exchange.first_piece(pieces)  # a backend failing before its first word is an HTTP error
            return Reply(200, EventStream(exchange, pieces, first), dict(STREAM_HEADERS))
        text = exchange.answer(pieces)
        exchange.finish("success")
    return {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}]}


ROUTES = [
    ("POST", "/v1/chat", chat),
    ("GET", "/v1/models", list_models),
    ("POST", "/v1/chat/completions", chat_completions),
]
