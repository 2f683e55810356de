"""The in-process dispatcher: worker threads claim jobs from the database and run them in the sandbox.

Jobs are claimed atomically in the database, so any number of threads and `cynode worker` processes can share
one queue without running a job twice. Creating a task calls wake(), so an idle worker starts at once; the
poll interval only matters for work queued by another process. A job's failure is data (stored, returned),
never a dead worker thread. The dispatcher is a node (dispatch/node.py): it registers at start, heartbeats, and
claims only while an admin lets it; disabled or drained, its running jobs finish and queued ones wait.
"""

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from cynode.dispatch.jobrun import execute
from cynode.dispatch.node import HEARTBEAT_SECONDS, LocalNode
from cynode.dispatch.outcome import CRASHED, LEASE_EXPIRED, RESTARTED, Outcome
from cynode.store.records import utcnow

LOG = logging.getLogger("cynode.dispatch")
POLL_SECONDS = 1.0  # idle re-check for jobs queued by other processes
MONITOR_SECONDS = 1.0  # how often running jobs are checked for a cancel made by another process
SWEEP_SECONDS = 600.0
LEASE_CHECK_SECONDS = 10.0  # how often running jobs whose lease ran out (their server died) are failed


class Dispatcher:  # pylint: disable=too-many-instance-attributes  # the node is one more: it gates the claims
    """Worker threads, a monitor thread and the node's heartbeat thread over one store, runner and workspace."""

    def __init__(self, store, runner, settings, workspace, inference=None,  # pylint: disable=too-many-arguments
                 secretbox=None, *, heartbeat_seconds: float = HEARTBEAT_SECONDS):
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
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._last_sweep = 0.0
        self._last_lease_check = 0.0
        self.node = LocalNode(store, settings, runner, inference, heartbeat_seconds=heartbeat_seconds)

    # lifecycle ------------------------------------------------------------------------------------------------

    def recover(self) -> int:
        """At start-up: fail jobs a crashed server left running (only expired leases on PostgreSQL,
        where other live processes may own running jobs)."""
        count = self.store.recover_jobs(Outcome.dispatch_error(RESTARTED).result(),
                                        expired_only=self.store.backend == "postgresql")
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
        self._spawn(self._heartbeat_loop, "cynode-heartbeat")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, grace: float) -> None:
        """Stop claiming; let running jobs finish for `grace` seconds, then kill them (they end failed)."""
        self._stopping.set()
        self.node.beat.set()
        self._wake_all()
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        with self._lock:
            for event in self._cancels.values():  # still running after the grace: kill
                event.set()
        for thread in self._threads:
            thread.join(timeout=self.settings.job_kill_grace_seconds + 10)

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
                                       self.settings.job_default_timeout_seconds, self.settings.max_running_per_user)
        finally:
            self.node.gate.leave()
        if job is None:
            return False
        cancel = threading.Event()
        with self._lock:
            self._cancels[job.id] = cancel
        try:
            execute(self, job, cancel)
        except Exception:  # pylint: disable=broad-exception-caught  # a bug must not kill the worker thread
            LOG.exception("job %s crashed the runner", job.id)
            outcome = Outcome.dispatch_error(CRASHED)
            self.store.finish_job(job, outcome.job_status, outcome.result())
        finally:
            with self._lock:
                self._cancels.pop(job.id, None)
        return True

    def _work_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:  # pylint: disable=broad-exception-caught  # e.g. the database is briefly away
                LOG.exception("dispatcher could not claim a job")
            with self._wake:
                self._wake.wait(POLL_SECONDS)

    def _heartbeat_loop(self) -> None:
        """Every heartbeat_seconds, or at once when woken: stamp the node, take its status, apply a new
        configuration. Claiming that may resume wakes every worker."""
        while True:
            self.node.beat.wait(self.node.heartbeat_seconds)
            self.node.beat.clear()
            if self._stopping.is_set():
                return
            try:
                if self.node.heartbeat():
                    self._wake_all()
            except Exception:  # pylint: disable=broad-exception-caught  # e.g. the database is briefly away
                LOG.exception("node heartbeat failed")

    def _monitor_loop(self) -> None:
        """Cancels made through another process, jobs of dead servers, and the work-dir retention sweep."""
        while not self._stopping.wait(MONITOR_SECONDS):
            try:
                with self._lock:
                    running = list(self._cancels)
                canceled = [j for j, s in self.store.job_statuses(running).items() if s != "running"]
                self.cancel(canceled)
                self.fail_expired_leases()
                self._sweep()
            except Exception:  # pylint: disable=broad-exception-caught
                LOG.exception("dispatcher monitor failed")

    def fail_expired_leases(self, force: bool = False) -> int:
        """Fail running jobs whose lease ran out (every LEASE_CHECK_SECONDS; returns how many). A lease lasts the
        job's timeout plus a grace, so its live server has ended it before then; one killed (SIGKILL, a crash)
        left it `running`. recover() at start-up only catches those already expired then: on PostgreSQL a server
        restarted at once left such a job, and its task, running for good."""
        now = time.monotonic()
        if not force and now - self._last_lease_check < LEASE_CHECK_SECONDS:
            return 0
        self._last_lease_check = now
        count = self.store.recover_jobs(Outcome.dispatch_error(LEASE_EXPIRED).result(), expired_only=True)
        if count:
            LOG.warning("marked %d job(s) failed whose server stopped renewing their lease", count)
        return count

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
