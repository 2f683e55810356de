"""`cynode worker`: a dispatcher without the gateway, for scale-out on one PostgreSQL database.

Usage:
  cynode worker [--data-dir=DIR] [--database=URL] [--sandbox=KIND] [--workers=N] [--config=FILE] [--node-name=NAME]
                [--inference-url=URL] [--inference-api=API] [--inference-model=NAME]
  cynode worker -h | --help

Options:
  --data-dir=DIR          data directory, shared with the gateways (job work dirs, logs, artifacts)
                          [env: CYNODE_DATA_DIR; default: $XDG_DATA_HOME/cynode]
  --database=URL          postgresql://USER@HOST:PORT/DB, the gateways' database [env: CYNODE_DATABASE]
  --sandbox=KIND          how jobs are isolated: auto, bwrap, process or none [env: CYNODE_SANDBOX; default: auto]
  --workers=N             threads running jobs [env: CYNODE_WORKERS; default: 4]
  --config=FILE           YAML file with settings (keys as in `cynode serve --help`) [env: CYNODE_CONFIG]
  --node-name=NAME        this worker's node slug, unique per worker [env: CYNODE_NODE_NAME; default: the host name]
  --inference-url=URL     the inference backend for prompt tasks [env: CYNODE_INFERENCE_URL; default: none]
  --inference-api=API     its API: ollama or openai [env: CYNODE_INFERENCE_API; default: ollama]
  --inference-model=NAME  the model to use [env: CYNODE_INFERENCE_MODEL; default: qwen3.5:0.8b]
  -h, --help              show this help

The worker registers as a node (`cynode cli nodes list`), heartbeats and renews the leases of its running jobs;
it claims jobs with FOR UPDATE SKIP LOCKED and wakes at once on a new task (LISTEN/NOTIFY). It serves no HTTP.
Every setting of `cynode serve --help` applies, as CYNODE_<NAME> or in the config file.
"""

import logging
import os
import socket
import sys
import threading

from cynode.daemon import (SHUTDOWN_GRACE_SECONDS, load_secretbox, open_store, runner_and_workspace,
                           settings_from_argv, start_error, stop_on_signals)
from cynode.settings import SettingsError, is_postgres
from cynode.store.database import DatabaseUnavailable

LOG = logging.getLogger("cynode")


def usage() -> str:
    return __doc__.split("\n", 2)[2]


def main(argv: list[str]) -> int:
    settings = settings_from_argv(usage(), "worker", argv, _check)
    return settings if isinstance(settings, int) else run(settings)


def _check(settings) -> None:
    if not is_postgres(settings.database):
        raise SettingsError("database: a worker shares a PostgreSQL database with the gateways (--database "
                            "postgresql://USER@HOST:PORT/DB); SQLite serves one `cynode serve` process")
    if settings.workers < 1:
        raise SettingsError("workers: a worker needs at least 1")


def _open(settings):
    """The store (migrated, as any process may be the first on a new database), runner, workspace, credentials
    key, inference client, and the dispatcher."""
    # pylint: disable=import-outside-toplevel  # loaded only for `worker`
    from cynode.dispatch import kernel
    from cynode.dispatch.dispatcher import Dispatcher
    from cynode.inference.client import Backend, Client

    os.umask(0o077)  # everything the worker writes is private to it; jobs never read the data dir
    kernel.set_dumpable(False)
    runner, warning, workspace = runner_and_workspace(settings, runs_jobs=True)
    if warning:
        LOG.warning("%s", warning)
    store = open_store(settings)
    store.migrate()
    box = load_secretbox(settings, store)
    backend = Backend.from_settings(settings)
    return Dispatcher(store, runner, settings, workspace, Client(backend) if backend else None, secretbox=box,
                      node_slug=settings.node_name or socket.gethostname())


def run(settings) -> int:
    try:
        dispatcher = _open(settings)
    except (DatabaseUnavailable, RuntimeError, ValueError, OSError) as exc:
        print(f"Error: {start_error(settings, exc)}", file=sys.stderr)
        return 2
    dispatcher.recover()
    dispatcher.start()
    LOG.info("worker %s ready: database=%s sandbox=%s workers=%d work_root=%s", dispatcher.node.slug,
             dispatcher.store.backend, dispatcher.runner.name, settings.workers, dispatcher.workspace.work_root)
    stop_on_signals()
    try:
        threading.Event().wait()  # until SIGTERM/SIGINT raise KeyboardInterrupt here
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop(grace=SHUTDOWN_GRACE_SECONDS)
        dispatcher.store.close()
    LOG.info("stopped")
    return 0
