"""Clients for inference backends (Ollama, OpenAI-compatible), shared by prompt jobs and the chat routes."""
