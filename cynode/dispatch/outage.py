"""A loop's view of a database outage: one line when it begins and one when it ends, not a traceback a tick."""

import logging
import threading

from cynode.store.database import DatabaseUnavailable

LOG = logging.getLogger("cynode.dispatch")


class Outage:
    """Wrap each pass of a loop in `with outage:`. DatabaseUnavailable is swallowed (the loop tries again on its
    next tick; the store reconnects by itself); any other error passes, a bug to be logged with its traceback."""

    def __init__(self):
        self.down = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, _tb):
        if exc_type is None:
            if self.down:
                self.down = False
                LOG.info("%s: database is back", threading.current_thread().name)
            return False
        if not issubclass(exc_type, DatabaseUnavailable):
            return False
        if not self.down:
            self.down = True
            LOG.warning("%s: database unavailable (%s); retrying", threading.current_thread().name, exc)
        return True
