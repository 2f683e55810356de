"""Route handlers: `handler(deps, req, **path_params)` returning a dict (200 JSON) or a Reply."""
