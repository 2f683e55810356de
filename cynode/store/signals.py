"""PostgreSQL LISTEN/NOTIFY between the processes sharing one database: a new task wakes idle workers at once and a
cancel reaches the worker running the job at once, instead of at their next poll. SQLite serves one process,
which wakes its own threads directly: there these are no-ops.

A notification is sent inside the transaction that makes the work visible, so PostgreSQL delivers it on commit,
never before the rows can be read.
"""

import logging
import select
import time

JOBS = "cynode_jobs"  # a task was created: a job may be claimable
CANCELS = "cynode_cancels"  # jobs were canceled: a worker running one should stop it

LOG = logging.getLogger("cynode.store")


def notify(db, backend: str, channel: str) -> None:
    """Tell every listener on `channel` once the current transaction commits (PostgreSQL only)."""
    if backend == "postgresql":
        db.execute_sql(f"NOTIFY {channel}")


class Listener:
    """A connection of its own LISTENing on JOBS and CANCELS; wait() returns the channels notified since the last
    call. A lost connection is opened again on the next wait (meanwhile callers fall back to polling)."""

    def __init__(self, connect):
        self._connect = connect  # () -> a new pg8000 connection in autocommit mode
        self._conn = None
        self._lost = False  # the connection failed: said once, said again when it is back

    def wait(self, timeout: float) -> list[str]:
        """Block up to `timeout` seconds for notifications; the channel of each one received (may be empty). Once
        listening again after a loss it reports every channel at once: what was sent meanwhile is lost."""
        try:
            if self._conn is None:
                self._conn = self._connect()
                for channel in (JOBS, CANCELS):
                    run_sql(self._conn, f"LISTEN {channel}")
                if self._lost:
                    LOG.info("job notifications are back")
                    self._lost = False
                    return [JOBS, CANCELS]
            # pg8000 reads notifications only while it reads a reply: wait for the socket, then ask a trivial
            # query, whose reply comes after every notification already sent. (A notification read ahead with
            # that reply is seen at the next wait, at most `timeout` later.)
            if not self._conn.notifications:
                poller = select.poll()  # not select(): a busy process's descriptors may be past 1023
                poller.register(self._conn._usock, select.POLLIN)  # pylint: disable=protected-access
                poller.poll(timeout * 1000)
                run_sql(self._conn, "SELECT 1")
            channels = [channel for _pid, channel, _payload in self._conn.notifications]
            self._conn.notifications.clear()
            return channels
        except Exception as exc:  # pylint: disable=broad-exception-caught  # the database went away: poll instead
            if not self._lost:
                LOG.warning("job notifications lost (%s); polling until the database answers", type(exc).__name__)
                self._lost = True
            self.close()
            time.sleep(timeout)
            return []

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # pylint: disable=broad-exception-caught  # already broken: nothing to release
                pass


def run_sql(conn, sql: str) -> None:
    """One statement on a pg8000 DB-API connection (its cursors hold nothing on the server: nothing to close)."""
    conn.cursor().execute(sql)
