"""Job leases across processes: a running job's lease is renewed by its node's heartbeat; once it runs out, any
process sharing the database fails the job (its node was killed or lost the database), and the fence (lease id and
attempt) refuses a late result from it. A gateway that runs no jobs (`serve --no-dispatch`) keeps watch too, so a
job of a dead worker ends even while no other worker lives."""

import logging
import threading

from cynode.dispatch.outage import Outage
from cynode.dispatch.outcome import LEASE_EXPIRED, Outcome

LOG = logging.getLogger("cynode.dispatch")


def renew_interval(lease_seconds: int, most: float) -> float:
    """How often a node renews its leases: three times a lease, so one missed beat never loses a job."""
    return min(most, lease_seconds / 3)


def fail_expired(store) -> int:
    """Fail every running job whose lease ran out; how many."""
    count = store.recover_jobs(Outcome.dispatch_error(LEASE_EXPIRED).result(), expired_only=True)
    if count:
        LOG.warning("failed %d job(s) whose node stopped renewing the lease", count)
    return count


class LeaseKeeper:
    """A thread failing expired leases every `interval` seconds, for a process that runs no dispatcher."""

    def __init__(self, store, interval: float):
        self.store, self.interval = store, interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="cynode-leases", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        outage = Outage()  # as the dispatcher's loops: an outage is one line when it begins and one when it ends
        while not self._stopping.wait(self.interval):
            try:
                with outage:
                    fail_expired(self.store)
            except Exception:  # pylint: disable=broad-exception-caught  # a bug must not end the watch
                LOG.exception("could not check job leases")
