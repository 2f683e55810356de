"""What request handlers depend on, built once at start-up and passed explicitly."""

from dataclasses import dataclass, field
from typing import Any

from cynode.inference.probe import InferenceProbe
from cynode.server.security import RateLimiter
from cynode.settings import Settings


@dataclass
class Deps:
    """Everything a handler may use; one instance per server."""

    settings: Settings
    store: Any  # cynode.store.store.Store
    workspace: Any  # cynode.dispatch.workspace.Workspace
    dispatcher: Any = None  # cynode.dispatch.dispatcher.Dispatcher, None when this process runs no jobs
    notes: tuple = ()  # readiness caveats, e.g. running jobs without bubblewrap
    inference: Any = None  # cynode.inference.client.Client, None when no backend is configured
    secretbox: Any = None  # cynode.secretbox.SecretBox sealing credential secrets; None: credentials unavailable
    ip_limiter: RateLimiter = field(init=False)
    handle_limiter: RateLimiter = field(init=False)
    inference_probe: InferenceProbe | None = field(init=False)  # /readyz's cached view of the backend

    def __post_init__(self):
        self.ip_limiter = RateLimiter(self.settings.login_limit_per_ip)
        self.handle_limiter = RateLimiter(self.settings.login_limit_per_handle)
        self.inference_probe = InferenceProbe(self.inference) if self.inference else None

    def wake_dispatcher(self) -> None:
        if self.dispatcher:
            self.dispatcher.wake()

    def node_changed(self, record) -> None:
        """An admin changed this node's row: the local dispatcher applies it at once when the node is its own;
        any other node reads it at its next heartbeat."""
        if self.dispatcher:
            self.dispatcher.node_changed(record)

    def cancel_jobs(self, job_ids) -> None:
        """Kill running jobs now when they run here; other processes notice the canceled status themselves."""
        if self.dispatcher and job_ids:
            self.dispatcher.cancel(job_ids)


@dataclass
class Reply:
    """A response other than `200 + JSON object`."""

    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
