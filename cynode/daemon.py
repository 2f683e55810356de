"""What the long-running processes share, `cynode serve` and `cynode worker`: logging, stopping on a signal, the
sandbox runner with its workspace, the private temp dir and the credentials key."""

import logging
import os
import shutil
import signal
import sys

LOG = logging.getLogger("cynode")
# threads holding a database connection besides the HTTP and job threads: main (start-up, shutdown), heartbeat,
# monitor, the listener's cancel checks (its LISTEN connection is not the pool's), and one to spare (e.g. the lease
# keeper of `serve --no-dispatch`)
OTHER_DATABASE_THREADS = 5
SHUTDOWN_GRACE_SECONDS = 10  # running jobs get this long to finish on SIGTERM, then they are killed (failed)


def settings_from_argv(doc: str, command: str, argv: list[str], check=None):
    """Settings from `cynode <command> ARGV` parsed by the usage text `doc` (each flag but --config and --help is
    the setting of its name; a switch not given leaves the environment's word), checked by `check` (raising
    SettingsError); or the exit code after help (0) or a usage or settings error (2)."""
    # pylint: disable=import-outside-toplevel  # docopt and the settings table load only for a daemon
    from docopt import DocoptExit, docopt

    from cynode.settings import SettingsError, resolve
    from cynode.usage import unknown_flag

    try:
        args = docopt(doc, [command, *argv], default_help=False)
    except DocoptExit as exc:
        flag = unknown_flag(doc, argv)
        message = f"unknown flag: {flag}" if flag else str(exc).splitlines()[0]
        print(f"Error: {message}\n\n{doc}", file=sys.stderr)
        return 2
    if args["--help"]:
        print(doc)
        return 0
    flags = {name[2:].replace("-", "_"): None if value is False else value for name, value in args.items()
             if name.startswith("--") and name not in ("--config", "--help")}
    try:
        settings = resolve(flags, config_path=args["--config"])
        if check:
            check(settings)
    except SettingsError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 2
    configure_logging()
    return settings


def configure_logging() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # waitress warns on every queued request under load; the request log already shows latency.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def stop_on_signals() -> None:
    """SIGTERM and SIGINT raise KeyboardInterrupt in the main thread, once; a second signal ends the process."""

    def stop(signum, _frame):
        LOG.info("%s: shutting down", signal.Signals(signum).name)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise KeyboardInterrupt  # waitress's run() catches it, stops accepting and closes; the worker waits on it

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def runner_and_workspace(settings, *, runs_jobs: bool):
    """The sandbox runner (None when this process runs no jobs) with its warning, and the prepared workspace."""
    # pylint: disable=import-outside-toplevel  # the dispatcher's side loads only for the processes that use it
    from cynode.dispatch.sandbox import make_runner
    from cynode.dispatch.workspace import Workspace, work_root_for

    runner, warning = make_runner(settings.sandbox) if runs_jobs else (None, None)
    # Jobs outside bubblewrap walk host paths to their work dir, as a job uid when the server is root.
    walks = os.geteuid() == 0 and runner is not None and runner.name != "bwrap"
    workspace = Workspace(settings.data_dir, work_root_for(settings.data_dir, settings.work_root, walks))
    workspace.prepare()
    return runner, warning, workspace


def private_tempdir(data_dir: str) -> str:
    """`<data dir>/tmp/<pid>`, new: where this process's temp files go (request bodies over 1 MiB that bottle and
    the multipart parser spool to disk), instead of the host's shared /tmp, where jobs of the plain process runner
    write, other processes clean up, and names alone tell who uploads what. Processes sharing a data dir (scale-out)
    each have their own; those of processes no longer alive are removed."""
    root = os.path.join(data_dir, "tmp")
    os.makedirs(root, mode=0o700, exist_ok=True)
    for name in os.listdir(root):
        if not (name.isdigit() and _alive(int(name))):
            shutil.rmtree(os.path.join(root, name), ignore_errors=True)  # a crashed process's spooled bodies
    path = os.path.join(root, str(os.getpid()))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, as another user
    return True


def open_store(settings, http_threads: int = 0):
    """The store: on PostgreSQL the password from database_password_file, else PGPASSWORD, else the URL (so it
    need not sit in a command line), and a pool as large as this process's threads that use the database."""
    # pylint: disable=import-outside-toplevel  # the store loads only for a daemon
    from cynode.store.database import resolve_password
    from cynode.store.store import Store

    return Store(settings.database, password=resolve_password(settings.database_password_file, os.environ),
                 max_connections=http_threads + settings.workers + OTHER_DATABASE_THREADS)


def start_error(settings, exc: Exception) -> str:
    """The one line for a process that cannot start: an unreachable database names the URL without its
    password; anything else says what is wrong (an ApiError its detail)."""
    from cynode.store.database import DatabaseUnavailable, redact  # pylint: disable=import-outside-toplevel

    if isinstance(exc, DatabaseUnavailable):
        return f"database unreachable ({redact(settings.database)}): {exc}"
    return str(getattr(exc, "detail", exc))


def load_secretbox(settings, store):
    """The credentials key (refusing to start on a bad one), and a warning when stored credentials were sealed
    with another key: they can be rotated, not used."""
    from cynode.secretbox import SecretBox  # pylint: disable=import-outside-toplevel

    box = SecretBox.load(settings.data_dir, settings.credentials_key)
    unreadable = store.count_credentials_sealed_by_other_keys(box.kid)
    if unreadable:
        LOG.warning("%d credential(s) were sealed with another credentials key than this one (%s): jobs cannot "
                    "receive them until they are rotated", unreadable, box.kid)
    return box
