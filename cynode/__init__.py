"""cynode: a self-hosted task orchestrator and its command-line client."""

__version__ = "0.1.0"
