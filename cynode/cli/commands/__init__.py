"""Command implementations: each takes a Context and writes its result with ctx.emit."""
