"""What request handlers depend on, built once at start-up and passed explicitly."""

from dataclasses import dataclass, field

from cynode.server.security import RateLimiter
from cynode.settings import Settings


@dataclass
class Deps:
    settings: Settings
    store: object  # cynode.store.store.Store; typed loosely so the server package does not import peewee
    ip_limiter: RateLimiter = field(init=False)
    handle_limiter: RateLimiter = field(init=False)

    def __post_init__(self):
        self.ip_limiter = RateLimiter(self.settings.login_limit_per_ip)
        self.handle_limiter = RateLimiter(self.settings.login_limit_per_handle)


@dataclass
class Reply:
    """A response other than `200 + JSON object`."""

    status: int
    body: object = None
    headers: dict = field(default_factory=dict)
