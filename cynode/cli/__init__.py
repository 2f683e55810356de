"""The command-line client. Never imports cynode.server, cynode.store or cynode.dispatch."""
