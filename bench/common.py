"""What the benchmarks share: a clean child environment, free loopback ports, stopping a child."""

import os
import signal
import socket
import subprocess

# Variables that would change what a child interpreter does or measures.
SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE",
                "COVERAGE_PROCESS_START", "CYNORK_GATEWAY_URL", "CYNORK_TOKEN")


def child_env(**extra: str) -> dict:
    """This process's environment without interpreter overrides or cynode settings, plus `extra`."""
    env = {key: value for key, value in os.environ.items()
           if key not in SCRUBBED_ENV and not key.startswith("CYNODE_")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(proc: subprocess.Popen | None) -> None:
    """SIGTERM a child that still runs and reap it; SIGKILL after 30 s."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
