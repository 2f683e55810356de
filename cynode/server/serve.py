"""`cynode serve`: settings, database, bootstrap, then waitress until SIGTERM/SIGINT.

Usage:
  cynode serve [--listen=HOST:PORT] [--data-dir=DIR] [--database=URL] [--sandbox=KIND] [--workers=N] [--config=FILE]
               [--inference-url=URL] [--inference-api=API] [--inference-model=NAME] [--no-dispatch]
  cynode serve -h | --help

Options:
  --listen=HOST:PORT      address to listen on [env: CYNODE_LISTEN; default: 127.0.0.1:8080]
  --data-dir=DIR          data directory [env: CYNODE_DATA_DIR; default: $XDG_DATA_HOME/cynode]
  --database=URL          sqlite:///PATH or postgresql://USER@HOST:PORT/DB [env: CYNODE_DATABASE;
                          default: SQLite file in the data dir]
  --sandbox=KIND          how jobs are isolated: auto, bwrap, process or none [env: CYNODE_SANDBOX; default: auto]
  --workers=N             dispatcher threads running jobs, 0 for none [env: CYNODE_WORKERS; default: 4]
  --no-dispatch           gateway only: run no jobs here, `cynode worker` processes on the same PostgreSQL
                          database and data dir run them [env: CYNODE_NO_DISPATCH]
  --config=FILE           YAML file with settings (keys as in the table below) [env: CYNODE_CONFIG]
  --inference-url=URL     the inference backend for prompt tasks and chat [env: CYNODE_INFERENCE_URL; default: none]
  --inference-api=API     its API: ollama or openai [env: CYNODE_INFERENCE_API; default: ollama]
  --inference-model=NAME  the model to use [env: CYNODE_INFERENCE_MODEL; default: qwen3.5:0.8b]
  -h, --help              show this help

Every setting can also be given in the environment as CYNODE_<NAME>:
"""

import logging
import os
import sys
import tempfile

from cynode.daemon import (SHUTDOWN_GRACE_SECONDS, load_secretbox, open_store, private_tempdir, runner_and_workspace,
                           settings_from_argv, start_error, stop_on_signals)
from cynode.dispatch.leases import LeaseKeeper, renew_interval
from cynode.dispatch.node import HEARTBEAT_SECONDS
from cynode.server.app import log_message, make_app, server_problem, upload_limit
from cynode.server.bootstrap import ensure_admin, ensure_system_skill
from cynode.server.deps import Deps
from cynode.server.errors import ApiError
from cynode.settings import SPECS, SettingsError, is_postgres
from cynode.store.database import DatabaseUnavailable

LOG = logging.getLogger("cynode")


def usage() -> str:
    rows = "\n".join(f"  {spec.env:<34} {spec.help} [default: {spec.default}]" for spec in SPECS)
    return __doc__.split("\n", 2)[2] + rows + "\n"


def main(argv: list[str]) -> int:
    settings = settings_from_argv(usage(), "serve", argv, _check)
    return settings if isinstance(settings, int) else run(settings)


def _check(settings) -> None:
    if settings.no_dispatch and not is_postgres(settings.database):
        raise SettingsError("no_dispatch: a gateway without a dispatcher needs `cynode worker` processes to run its "
                            "jobs, and they share a PostgreSQL database (--database postgresql://USER@HOST:PORT/DB)")


def _open(settings):  # pylint: disable=too-many-locals  # the one place the server's parts are put together
    """Sandbox runner, workspace, database (migrated, admin ensured), inference client, and the dispatcher."""
    # pylint: disable=import-outside-toplevel  # the server side loads only for `serve`
    from cynode.dispatch import kernel
    from cynode.dispatch.dispatcher import Dispatcher
    from cynode.dispatch.node import LOCAL_SLUG
    from cynode.inference.client import Backend, Client

    os.umask(0o077)  # everything the server writes is private to it; jobs never read the data dir
    kernel.set_dumpable(False)  # nor its memory or /proc/PID/environ, even as a job of the same uid
    runs_jobs = settings.workers > 0 and not settings.no_dispatch
    runner, warning, workspace = runner_and_workspace(settings, runs_jobs=runs_jobs)
    tempfile.tempdir = private_tempdir(settings.data_dir)
    store = open_store(settings, settings.http_threads)
    store.migrate()
    ensure_admin(store, settings.admin_password, lambda text: LOG.warning("%s", text))
    box = load_secretbox(settings, store)
    ensure_system_skill(store)
    notes = (warning,) if warning else ()
    if settings.no_dispatch:
        notes += ("gateway only: jobs run on worker nodes",)
    for note in notes:
        LOG.warning("%s", note)
    backend = Backend.from_settings(settings)
    inference = Client(backend) if backend else None  # one client for prompt jobs and chat
    dispatcher = (Dispatcher(store, runner, settings, workspace, inference, secretbox=box, node_slug=settings.node_name
                             or LOCAL_SLUG) if runs_jobs else None)
    return Deps(settings, store, workspace, dispatcher, notes=notes, inference=inference, secretbox=box)


class _EscapedMessages(logging.Filter):
    """waitress puts request paths into its own log messages ("Client disconnected while serving /x..."):
    escaped like the request log, so a client cannot add lines to the server's log through them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = log_message(message), None
        return True


_WAITRESS_LOG_FILTER = _EscapedMessages()


def create_server(app, host: str, port: int, threads: int, body_limit: int, socket_map: dict | None = None):
    """waitress serving `app`. Every error waitress answers by itself, without calling the app (a body over
    `body_limit`, an unparsable request, header fields too large, an unsupported transfer coding, a crash), is a
    problem+json response logged like any request, through waitress's own hooks: the listeners' channel class
    and its error task class."""
    # pylint: disable=import-outside-toplevel  # the server side loads only for `serve`
    import waitress
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
    from waitress.task import ErrorTask

    class ProblemErrorTask(ErrorTask):
        """waitress's ErrorTask, answering problem+json instead of its text/plain page."""

        def execute(self):
            error = self.request.error
            detail = f"request body exceeds {body_limit} bytes" if error.code == 413 else error.body
            status, headers, body = server_problem(error.code, detail, getattr(self.request, "command", None),
                                                   getattr(self.request, "path", None))
            self.status = status
            self.response_headers.extend(headers)
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    logging.getLogger("waitress").addFilter(_WAITRESS_LOG_FILTER)  # once: the same filter is never added twice
    socket_map = {} if socket_map is None else socket_map
    # waitress refuses a Content-Length >= its limit; the app's limits let a body of exactly the limit through.
    # waitress would strip X-Forwarded-For from every peer (none is its trusted proxy), so the setting
    # trust_proxy_headers could never take effect; the app alone decides whether to believe that header.
    server = waitress.create_server(app, map=socket_map, host=host, port=port, threads=threads, ident="cynode",
                                    max_request_body_size=body_limit + 1, clear_untrusted_proxy_headers=False)
    channel = type("ProblemChannel", (HTTPChannel,), {"error_task_class": ProblemErrorTask})
    for listener in socket_map.values():  # one per listening socket (a host name may resolve to several)
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def run(settings) -> int:
    try:
        deps = _open(settings)
    except (DatabaseUnavailable, ApiError, RuntimeError, ValueError, OSError) as exc:
        print(f"Error: {start_error(settings, exc)}", file=sys.stderr)
        return 2
    host, port = settings.host_port
    server = create_server(make_app(deps), host, port, settings.http_threads, upload_limit(settings.max_body_bytes))
    keeper = None
    if deps.dispatcher:
        deps.dispatcher.recover()
        deps.dispatcher.start()
    elif settings.no_dispatch:  # the jobs of a worker that dies still end, even while no other worker lives
        keeper = LeaseKeeper(deps.store, renew_interval(settings.job_lease_seconds, HEARTBEAT_SECONDS))
        keeper.start()
    deps.store.release()  # the main thread is done with the database until shutdown
    LOG.info("listening on http://%s:%s database=%s sandbox=%s workers=%d work_root=%s", host,
             server.effective_port, deps.store.backend, deps.dispatcher.runner.name if deps.dispatcher else "-",
             settings.workers if deps.dispatcher else 0, deps.workspace.work_root)
    stop_on_signals()
    try:
        server.run()
    finally:
        if deps.dispatcher:
            deps.dispatcher.stop(grace=SHUTDOWN_GRACE_SECONDS)
        if keeper:
            keeper.stop()
        deps.store.close()
    LOG.info("stopped")
    return 0
