"""Fixtures for the job runner tests: real processes and real bubblewrap, nothing of ours mocked."""

import os

import pytest

from cynode.dispatch import safetree
from cynode.dispatch.sandbox import BwrapRunner, ProcessRunner

from .support import BWRAP, NO_BWRAP, Job


def make(kind: str):
    if kind == "bwrap":
        if not BWRAP:
            pytest.skip(NO_BWRAP)
        return BwrapRunner(BWRAP)
    return ProcessRunner()


@pytest.fixture(params=["process", "bwrap"])
def job(request, tmp_path) -> Job:
    """A job for each runner."""
    return Job(make(request.param), tmp_path)


@pytest.fixture
def bwrap_job(tmp_path) -> Job:
    return Job(make("bwrap"), tmp_path)


@pytest.fixture
def deep_tmp(tmp_path):
    """tmp_path for trees too deep for pytest's recursive clean-up: emptied here, through dir fds."""
    yield tmp_path
    for entry in os.listdir(tmp_path):
        safetree.remove(tmp_path / entry)
