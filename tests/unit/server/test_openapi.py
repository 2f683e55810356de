"""The OpenAPI document describes exactly the routes the app answers."""

import re

import pytest

from cynode.contract import NOT_BLANK
from cynode.server.app import ROUTE_MODULES
from cynode.server.openapi import document
from cynode.server.routes.chat import OPENAI_PATHS
from tests.support.server import Backend


def _app_routes() -> set[tuple[str, str]]:
    return {(method.lower(), re.sub(r"<(\w+)(?::[^>]*)?>", r"{\1}", path))  # <key:path> is {key}
            for module in ROUTE_MODULES for method, path, _ in module.ROUTES}


def _documented(doc: dict) -> set[tuple[str, str]]:
    return {(method, path) for path, operations in doc["paths"].items() for method in operations}


def test_every_route_is_documented_and_nothing_else():
    assert _documented(document(10800)) == _app_routes()


def test_every_operation_documents_its_errors_as_problems():
    for path, operations in document(10800)["paths"].items():
        for method, operation in operations.items():
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            for code, response in errors.items():
                if path == "/readyz":
                    continue  # plain-text readiness, by design
                if path in OPENAI_PATHS:  # OpenAI's error object, 401 included (spec/gateway.md §8.2)
                    assert response["content"] == {"application/json": {"schema": {
                        "$ref": "#/components/schemas/OpenAIError"}}}, f"{method} {path} {code}"
                    continue
                assert "application/problem+json" in response["content"], f"{method} {path} {code}"
            if operation.get("security"):
                assert "401" in operation["responses"], f"{method} {path} lacks 401"


@pytest.fixture(name="backend")
def _backend(tmp_path):
    backend = Backend(tmp_path, job_max_timeout_seconds=600)
    yield backend
    backend.close()


def test_served_document_carries_this_servers_timeout_limit(backend):
    response = backend.call("GET", "/openapi.json")
    assert response.status == 200
    doc = response.json
    assert doc["openapi"].startswith("3.1")
    assert doc["components"]["schemas"]["TaskCreate"]["properties"]["timeout_seconds"]["maximum"] == 600


def _patterns(node):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_not_blank_means_what_the_server_strips_in_every_regex_dialect():
    """Schemathesis (ECMA regexes) sent the command "\\x1e" as schema-valid; the server, by str.strip(), calls it
    blank (400). So the document never uses \\s or \\S, which differ between dialects, and its spelled-out
    class agrees with str.isspace() on every code point."""
    patterns = set(_patterns(document(60)))
    assert not [p for p in patterns if re.search(r"\\[sS]", p)]
    assert NOT_BLANK in patterns
    not_blank = re.compile(NOT_BLANK)
    assert all(bool(not_blank.fullmatch(chr(c))) != chr(c).isspace() for c in range(0x110000))
