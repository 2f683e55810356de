"""The node a dispatcher is (spec/gateway.md §13): it registers with its capabilities, heartbeats, and claims jobs
only while an admin lets it.

The node's row is the contract: at every heartbeat the node reads its status and any configuration request from
it, so a node in another process (a `cynode worker`) obeys within one heartbeat. The in-process dispatcher is
also told at once by the route that changed the row (Dispatcher.node_changed), and a disable or drain returns
only after every claim that began before it has ended: after that answer, this process claims nothing new.
"""

import logging
import os
import shutil
import threading

LOG = logging.getLogger("cynode.dispatch")
LOCAL_SLUG = "local"
HEARTBEAT_SECONDS = 10.0
CLAIM_WAIT_SECONDS = 30.0  # a claim is one short transaction; this only bounds a database that hangs


def _memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def detect_capabilities(settings, runner, inference, *, probe: bool = False) -> dict:
    """What this node offers, as detected now. `probe`: also ask the inference backend whether it answers (up to
    2 s, so only off the request path: on a configuration refresh)."""
    backend = inference.backend if inference else None
    found = {"configured": backend is not None, "api": backend.api if backend else None,
             "model": backend.model if backend else None}
    if probe and inference:
        found["reachable"] = inference.probe()
    return {"workers": settings.workers, "sandbox": runner.name if runner else None,
            "bwrap_available": shutil.which("bwrap") is not None, "cpu": os.cpu_count() or 1,
            "memory_bytes": _memory_bytes(), "inference": found}


def summarize(capabilities: dict) -> str:
    """The short human line of spec §13, e.g. `cpu=2 mem=7.8GiB runner=bwrap workers=2 inference=ollama`."""
    inference = capabilities.get("inference") or {}
    answer = inference.get("api") or "none"
    if inference.get("reachable") is False:
        answer += "(unreachable)"
    return (f"cpu={capabilities.get('cpu')} mem={capabilities.get('memory_bytes', 0) / 2**30:.1f}GiB "
            f"runner={capabilities.get('sandbox') or 'none'} workers={capabilities.get('workers')} inference={answer}")


class ClaimGate:
    """Whether workers may start a claim. Closing it waits for the claims already under way, so once close()
    returns no claim is in flight and none starts. Open until a node says otherwise: a dispatcher that is no
    registered node (tests driving run_once) is not gated."""

    def __init__(self):
        self._cond = threading.Condition()
        self._open = True
        self._claiming = 0

    @property
    def is_open(self) -> bool:
        return self._open

    def enter(self) -> bool:
        with self._cond:
            if self._open:
                self._claiming += 1
            return self._open

    def leave(self) -> None:
        with self._cond:
            self._claiming -= 1
            self._cond.notify_all()

    def set(self, is_open: bool) -> bool:
        """Open or close; True when this opened a closed gate (workers should look for work now)."""
        with self._cond:
            opened = is_open and not self._open
            self._open = is_open
            if not is_open and not self._cond.wait_for(lambda: not self._claiming, CLAIM_WAIT_SECONDS):
                LOG.warning("a claim still runs after the node stopped claiming")
            return opened


class LocalNode:
    """This process's node: its registration, its cached row and the claim gate that row controls."""

    def __init__(self, store, settings, runner, inference, *, slug: str = LOCAL_SLUG,  # pylint: disable=too-many-arguments
                 heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.store, self.settings, self.runner, self.inference = store, settings, runner, inference
        self.slug = slug
        self.heartbeat_seconds = heartbeat_seconds
        self.beat = threading.Event()  # wakes the heartbeat early: a new configuration to apply, or stopping
        self.record = None  # the row as last read (None until registered)
        self.gate = ClaimGate()
        self._lock = threading.Lock()

    @property
    def id(self) -> str | None:
        return self.record.id if self.record else None

    def register(self) -> None:
        """Create or update the row (an admin's disable or drain is kept) and close the gate if it says so."""
        capabilities = detect_capabilities(self.settings, self.runner, self.inference)
        self.apply(self.store.register_node(self.slug, capabilities, summarize(capabilities)))
        LOG.info("node %s (%s): %s, %s", self.slug, self.id, self.record.status, self.record.capability_summary)

    def apply(self, record) -> bool:
        """Take the row as it now is; True when claiming may resume (the gate opened). A read older than the one
        already taken is ignored: a heartbeat that read the row just before an admin changed it must not undo
        what the route applied (every status change moves updated_at; heartbeats do not)."""
        with self._lock:
            if self.record and record.updated_at < self.record.updated_at:
                return False
            if self.record and record.status != self.record.status:
                LOG.info("node %s is %s", self.slug, record.status)
            self.record = record
            return self.gate.set(record.claims)

    def heartbeat(self) -> bool:
        """Stamp last_seen_at, take the row's status, and reload if a new configuration was asked for. True when
        claiming may resume. A deleted row is registered again."""
        record = self.store.heartbeat_node(self.id) if self.record else None
        if record is None:
            self.register()
            return self.gate.is_open
        opened = self.apply(record)
        if record.config_ack_status == "pending":
            self.reload(record.config_version)
        return opened

    def reload(self, version: str) -> None:
        """Apply configuration `version`: detect capabilities again (the inference backend asked whether it
        answers), store them and acknowledge. A newer request meanwhile stays pending for the next beat."""
        capabilities = detect_capabilities(self.settings, self.runner, self.inference, probe=True)
        if self.store.ack_node_config(self.id, version, capabilities, summarize(capabilities)):
            record = self.store.node(self.id)
            if record:
                self.apply(record)
            LOG.info("node %s applied configuration %s: %s", self.slug, version, self.record.capability_summary)

    def notes(self) -> tuple:
        """Caveats for /readyz: a node that claims nothing says so (the API still serves)."""
        status = self.record.status if self.record else "active"
        return () if status == "active" else (f"node {self.slug} {'disabled' if status == 'inactive' else status}: "
                                              "no new jobs start",)
