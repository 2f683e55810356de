"""Route handlers: `handler(deps, req, **path_params)` returning a dict (200 JSON) or a Reply.

Each module has ROUTES (method, bottle path, handler) and, for its paths, OPENAPI_PATHS and OPENAPI_SCHEMAS when
openapi.py does not describe them itself; `modules()` is the one list the app and the document are built from.
"""

import importlib

NAMES = ("health", "auth", "users", "tasks", "chat", "tokens", "nodes", "audit", "credentials", "skills", "prefs",
         "settings")


def modules() -> tuple:
    return tuple(importlib.import_module(f"{__name__}.{name}") for name in NAMES)
