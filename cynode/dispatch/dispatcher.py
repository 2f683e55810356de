"""The in-process dispatcher: worker threads claim jobs from the database and run them in the sandbox.

Jobs are claimed atomically in the database, so any number of threads and `cynode worker` processes can share
one queue without running a job twice. Creating a task calls wake(), so an idle worker starts at once; the
poll interval only matters for work queued by another process. A job's failure is data (stored, returned),
never a dead worker thread. The dispatcher is a node (dispatch/node.py): it registers at start, heartbeats, and
claims only while an admin lets it; disabled or drained, its running jobs finish and queued ones wait.

Each claim is a lease (dispatch/leases.py) the heartbeat renews; a job whose lease another node revoked is killed
here. On PostgreSQL a listener thread turns other processes' new tasks and cancels into an immediate wake-up.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from cynode.dispatch.jobrun import execute
from cynode.dispatch.leases import fail_expired, renew_interval
from cynode.dispatch.node import HEARTBEAT_SECONDS, LOCAL_SLUG, LocalNode
from cynode.dispatch.outage import Outage
from cynode.dispatch.outcome import CRASHED, LEASE_EXPIRED, RESTARTED, Outcome
from cynode.store import signals
from cynode.store.database import DatabaseUnavailable
from cynode.store.records import utcnow

LOG = logging.getLogger("cynode.dispatch")
POLL_SECONDS = 1.0  # idle re-check for jobs queued by other processes
MONITOR_SECONDS = 1.0  # how often running jobs are checked for a cancel made by another process
LISTEN_SECONDS = 1.0  # the listener's longest wait: how soon it notices a stop
HEARTBEAT_THREAD = "cynode-heartbeat"
FINISH_RETRY_SECONDS, FINISH_RETRY_MOST_SECONDS = 0.25, 5.0  # storing a result while the database is away
SWEEP_SECONDS = 600.0


class Dispatcher:  # pylint: disable=too-many-instance-attributes  # the node is one more: it gates the claims
    """Worker threads, a monitor thread and the node's heartbeat thread over one store, runner and workspace."""

    def __init__(self, store, runner, settings, workspace, inference=None,  # pylint: disable=too-many-arguments
                 secretbox=None, *, heartbeat_seconds: float | None = None, node_slug: str = LOCAL_SLUG):
        self.store = store
        self.secretbox = secretbox  # cynode.secretbox.SecretBox opening the credentials jobs ask for
        self.runner = runner
        self.settings = settings
        self.workspace = workspace
        self.inference = inference  # cynode.inference.client.Client for prompt jobs; None: not configured
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._cancels: dict[str, threading.Event] = {}  # running job id -> its cancel switch
        self._leases: dict[str, str] = {}  # running job id -> its lease id, renewed by the heartbeat
        self._renewed_at = time.monotonic()  # the last renewal the database took
        self._beating_done = threading.Event()  # set by stop() once no job runs: the heartbeat may end
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_sweep = 0.0
        if heartbeat_seconds is None:
            heartbeat_seconds = renew_interval(settings.job_lease_seconds, HEARTBEAT_SECONDS)
        self.node = LocalNode(store, settings, runner, inference, slug=node_slug, heartbeat_seconds=heartbeat_seconds)
        self._listener = store.job_listener() if settings.workers else None

    # lifecycle ------------------------------------------------------------------------------------------------

    def recover(self) -> int:
        """At start-up: fail jobs a crashed server left running (only expired leases on PostgreSQL,
        where other live processes may own running jobs)."""
        shared = self.store.backend == "postgresql"
        count = self.store.recover_jobs(Outcome.dispatch_error(LEASE_EXPIRED if shared else RESTARTED).result(),
                                        expired_only=shared)
        if count:
            LOG.warning("marked %d interrupted job(s) failed", count)
        if self.runner.reap_orphans():
            LOG.warning("killed processes left running by jobs of a previous server")
        return count

    def start(self) -> None:
        """Register the node (before any claim: a node an admin disabled stays so), then start the threads."""
        self.node.register()
        for number in range(self.settings.workers):
            self._spawn(self._work_loop, f"cynode-worker-{number}")
        if self.settings.workers:
            self._spawn(self._monitor_loop, "cynode-monitor")
        if self._listener:
            self._spawn(self._listen_loop, "cynode-listener")
        self._spawn(self._heartbeat_loop, HEARTBEAT_THREAD)

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, grace: float) -> None:
        """Stop claiming; let running jobs finish for `grace` seconds, then kill them (they end failed)."""
        self._stopping.set()
        self._wake_all()
        deadline = time.monotonic() + grace
        working = [thread for thread in self._threads if thread.name != HEARTBEAT_THREAD]
        for thread in working:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            for event in self._cancels.values():  # still running after the grace: kill
                event.set()
        for thread in working:
            thread.join(timeout=self.settings.job_kill_grace_seconds + 10)
        self._beating_done.set()  # the heartbeat renewed the running jobs' leases until they ended
        self.node.beat.set()
        for thread in self._threads:
            thread.join(timeout=10)

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def wake(self) -> None:
        """One new task needs one worker: waking all would make the rest race for nothing."""
        with self._wake:
            self._wake.notify()

    def _wake_all(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def node_changed(self, record) -> None:
        """An admin changed a node's row (the route passes the row as it now is). When it is this process's node,
        apply its status now: a disable or drain returns once no claim is in flight, an enable wakes every
        worker; a configuration request is applied by the heartbeat thread at once (off the request path)."""
        if record.id != self.node.id:
            return
        if self.node.apply(record):
            self._wake_all()
        if record.config_ack_status == "pending":
            self.node.beat.set()

    def cancel(self, job_ids) -> None:
        """Kill these jobs now if they run in this process (the database already says canceled)."""
        with self._lock:
            for job_id in job_ids:
                if job_id in self._cancels:
                    self._cancels[job_id].set()

    # work -----------------------------------------------------------------------------------------------------

    def run_once(self) -> bool:
        """Claim and run one job; False when none was claimable. The seam tests drive directly.

        The store picks fairly: the user served least recently first, none past `max_running_per_user`."""
        if not self.node.gate.enter():
            return False  # disabled or drained: queued jobs wait
        try:
            job = self.store.claim_job(f"{self.name}:{threading.current_thread().name}",
                                       self.settings.job_lease_seconds, self.settings.max_running_per_user)
        finally:
            self.node.gate.leave()
        if job is None:
            return False
        cancel = threading.Event()
        with self._lock:
            self._cancels[job.id] = cancel
            self._leases[job.id] = job.lease_id
        self.store.release()  # a job may run for hours: its connection waits in the pool, checked when taken back
        try:
            execute(self, job, cancel)
        except DatabaseUnavailable as exc:  # an outage, not a crash: the lease, no longer renewed, runs out
            LOG.warning("job %s: its result could not be stored (database unavailable: %s); it fails when its "
                        "lease runs out", job.id, exc)
        except Exception:  # pylint: disable=broad-exception-caught  # a bug must not kill the worker thread
            LOG.exception("job %s crashed the runner", job.id)
            outcome = Outcome.dispatch_error(CRASHED)
            self.store.finish_job(job, outcome.job_status, outcome.result())
        finally:
            with self._lock:
                self._cancels.pop(job.id, None)
                self._leases.pop(job.id, None)
        return True

    def _work_loop(self) -> None:
        outage = Outage()
        while not self._stopping.is_set():
            try:
                with outage:
                    if self.run_once():
                        continue
            except Exception:  # pylint: disable=broad-exception-caught  # a bug must not kill the worker thread
                LOG.exception("dispatcher could not claim a job")
            with self._wake:
                self._wake.wait(POLL_SECONDS)

    def finish(self, job, status: str, result: dict, artifacts=()) -> str | None:
        """Store a job's result (store.finish_job). While the database is away, try again until no renewal has
        reached it for a whole lease: a restart of PostgreSQL as a long job ends must not lose its result. Past
        that, other nodes fail the job and the fence would refuse the result anyway, so the outage is raised."""
        delay = FINISH_RETRY_SECONDS
        while True:
            try:
                return self.store.finish_job(job, status, result, artifacts)
            except DatabaseUnavailable:
                if time.monotonic() - self._renewed_at > self.settings.job_lease_seconds:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, FINISH_RETRY_MOST_SECONDS)

    def _heartbeat_loop(self) -> None:
        """Every heartbeat_seconds, or at once when woken: stamp the node, take its status, apply a new
        configuration (claiming that may resume wakes every worker); renew this node's leases, fail the jobs of
        nodes that stopped renewing theirs, and kill what the jobs of a dead process on this host left running
        (plain-process jobs outlive their worker; bubblewrap's die with it)."""
        outage = Outage()
        while True:
            self.node.beat.wait(self.node.heartbeat_seconds)
            self.node.beat.clear()
            if self._beating_done.is_set():
                return
            try:
                with outage:
                    try:
                        self._renew_leases()  # first, whatever the rest of the beat does: running jobs depend on it
                    finally:
                        self._give_up_lost_leases()
                    if not self._stopping.is_set():  # stopping: only the running jobs' leases matter till they end
                        self._beat()
            except Exception:  # pylint: disable=broad-exception-caught  # a bug must not end the heartbeat
                LOG.exception("node heartbeat failed")

    def _beat(self) -> None:
        """The node's heartbeat proper: stamp and read its row, fail other nodes' expired leases, reap orphans."""
        if self.node.heartbeat():
            self._wake_all()
        fail_expired(self.store)
        if self.runner.reap_orphans():  # a worker on this host died: its jobs' processes go too
            LOG.warning("killed processes left running by jobs of a dead process on this host")

    def _renew_leases(self) -> None:
        """Extend the leases of the jobs running here; kill any whose lease is gone (revoked by another node after
        it ran out, e.g. while this one could not reach the database): its result would be refused anyway."""
        with self._lock:
            leases = dict(self._leases)
        held = self.store.renew_leases(list(leases.values()), self.settings.job_lease_seconds)
        self._renewed_at = time.monotonic()
        self.cancel([job for job, lease in leases.items() if lease not in held])

    def _give_up_lost_leases(self) -> None:
        """Kill the running jobs when no renewal has reached the database for a whole lease (it is away, or cut
        off): other nodes fail them, so their results would be refused, and they must not go on acting."""
        if time.monotonic() - self._renewed_at <= self.settings.job_lease_seconds:
            return
        with self._lock:
            running = list(self._leases)
        if running:
            LOG.warning("no lease renewal for %d s: killing %d running job(s), which other nodes fail",
                        self.settings.job_lease_seconds, len(running))
            self.cancel(running)

    def _listen_loop(self) -> None:
        """PostgreSQL: a task created through any process wakes a worker here; a cancel is checked at once."""
        while not self._stopping.is_set():
            channels = self._listener.wait(LISTEN_SECONDS)
            created = channels.count(signals.JOBS)
            if created > 1:
                self._wake_all()
            elif created:
                self.wake()
            if signals.CANCELS in channels:
                try:
                    self._stop_canceled()
                except Exception:  # pylint: disable=broad-exception-caught  # the monitor tries again
                    LOG.exception("dispatcher could not check cancels")
        self._listener.close()

    def _stop_canceled(self) -> None:
        """Kill the jobs running here that the database no longer says are running (canceled elsewhere)."""
        with self._lock:
            running = list(self._cancels)
        self.cancel([j for j, s in self.store.job_statuses(running).items() if s != "running"])

    def _monitor_loop(self) -> None:
        """Cancels made through another process (a fallback for missed notifications), and the work-dir sweep."""
        outage = Outage()
        while not self._stopping.wait(MONITOR_SECONDS):
            try:
                with outage:
                    self._stop_canceled()
                    self._sweep()
            except Exception:  # pylint: disable=broad-exception-caught
                LOG.exception("dispatcher monitor failed")

    def _sweep(self, force: bool = False) -> None:
        """Remove the work dirs of tasks finished longer ago than the retention. Runs at the monitor's first
        tick, then every SWEEP_SECONDS, or as often as the retention itself when that is shorter."""
        now = utcnow().timestamp()
        retention = self.settings.work_retention_seconds
        if not force and now - self._last_sweep < min(SWEEP_SECONDS, max(MONITOR_SECONDS, retention)):
            return
        self._last_sweep = now
        cutoff = utcnow() - timedelta(seconds=retention)
        for task_id in self.store.finished_tasks_before(self.workspace.work_task_ids(), cutoff):
            if not self.workspace.remove_work(task_id):
                LOG.warning("could not remove all of the work dir of task %s: trying again later", task_id)
