#!/usr/bin/env python3
"""Dispatcher-only throughput: `count` `true` command tasks queued in a fresh store, then the dispatcher starts
its workers and runs them all; no HTTP, no clients (issue 11). Run by bench/tasks.py in a child process, so a
profiler can attach to it alone:

  python -m bench.dispatch DATA_DIR SANDBOX COUNT [WORKERS]

Prints one JSON line: {"seconds": first claim possible -> last task finished (its stored end), "jobs": count, "bad":
not completed, "cpu": CPU seconds per job of the process and its job fork servers, "children_cpu": of its jobs}.
"""

import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# pylint: disable=wrong-import-position
from bench.measure import cpu_seconds
from cynode.dispatch.dispatcher import Dispatcher
from cynode.dispatch.sandbox import make_runner
from cynode.dispatch.workspace import Workspace, work_root_for
from cynode.settings import resolve
from cynode.store.models import Job, Task
from cynode.store.store import Store
# pylint: enable=wrong-import-position

# Coarse: the count query holds the GIL the dispatcher's threads need; the stored end stamps give the time.
POLL_SECONDS = 0.1
TIMEOUT_SECONDS = 300.0


def queued(data_dir: str, sandbox: str, count: int, workers: int) -> tuple[Store, Dispatcher]:
    """A fresh store with `count` queued `true` tasks, and a dispatcher over it that has not started."""
    os.umask(0o077)
    settings = resolve({"data_dir": data_dir, "sandbox": sandbox, "workers": workers}, environ={})
    runner, _warning = make_runner(settings.sandbox)
    walks = os.geteuid() == 0 and runner.name != "bwrap"
    workspace = Workspace(settings.data_dir, work_root_for(settings.data_dir, settings.work_root, walks))
    workspace.prepare()
    store = Store(settings.database)
    store.migrate()
    owner = store.create_user("bench", None).id
    for _ in range(count):
        store.create_task(owner, None, "commands", "true", [("command", {"command": "true"})])
    return store, Dispatcher(store, runner, settings, workspace)


def main(argv: list[str]) -> int:
    count = int(argv[2])
    store, dispatcher = queued(argv[0], argv[1], count, int(argv[3]) if len(argv) > 3 else 4)
    terminal = ("completed", "failed", "canceled")
    cpu_before = cpu_seconds(os.getpid())
    started = datetime.now(timezone.utc)
    dispatcher.start()
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while Task.select().where(Task.status.in_(terminal)).count() < count and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    # the last job's end, as stored (the end of its finish transaction, less than a millisecond after it)
    last = max(Job.select(Job.ended_at).where(Job.ended_at.is_null(False)).tuples())[0]
    elapsed = (last.replace(tzinfo=timezone.utc) - started).total_seconds()
    cpu_after = cpu_seconds(os.getpid())
    bad = Task.select().where(Task.status != "completed").count()
    dispatcher.stop(10)
    store.close()
    print(json.dumps({"seconds": elapsed, "jobs": count, "bad": bad, "cpu": (cpu_after[0] - cpu_before[0]) / count,
                      "children_cpu": (cpu_after[1] - cpu_before[1]) / count}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
