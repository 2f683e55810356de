"""Tests of the job runner (cynode.dispatch)."""
