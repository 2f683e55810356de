"""The client's configuration file (spec/cli.md §4): where it lives, reading, atomic token writes."""

import os

from cynode.cli.exits import CliError, ExitStatus, usage_error
from cynode.contract import DEFAULT_GATEWAY_URL

KNOWN_KEYS = ("gateway_url", "token", "credential_helper", "refresh_token")
TOKEN_KEYS = ("token", "refresh_token")


def config_path(flag: str | None, environ) -> str | None:
    """--config, else $XDG_CONFIG_HOME/cynork/config.yaml, else ~/.config/cynork/config.yaml, else None."""
    if flag:
        return os.path.expanduser(flag)
    if environ.get("XDG_CONFIG_HOME"):
        return os.path.join(environ["XDG_CONFIG_HOME"], "cynork", "config.yaml")
    home = environ.get("HOME")
    return os.path.join(home, ".config", "cynork", "config.yaml") if home else None


class Config:
    """What the file holds (`data`, unknown keys kept for rewriting) plus this process's env overrides.

    A plain class, not a dataclass: importing dataclasses costs every CLI start ~6 ms (inspect, ast, dis).
    """

    def __init__(self, path: str | None, data: dict | None = None, env_gateway_url: str | None = None,
                 env_token: str | None = None):
        self.path = path
        self.data = data or {}
        self.env_gateway_url = env_gateway_url
        self.env_token = env_token

    @property
    def gateway_url(self) -> str:
        return self.env_gateway_url or self.data.get("gateway_url") or DEFAULT_GATEWAY_URL

    def get(self, key: str) -> str | None:
        return self.data.get(key) or None

    def writable_path(self) -> str:
        if not self.path:
            raise CliError("cannot resolve config path: set --config or HOME", ExitStatus.INTERNAL)
        return self.path

    def save_tokens(self, **tokens: str | None) -> None:
        """Set (or with None, remove) token keys and rewrite the file atomically; other keys stay as they were.

        A missing file is only created when there is something to store.
        """
        path = self.writable_path()
        data = dict(self.data)
        for key, value in tokens.items():
            if value:
                data[key] = value
            else:
                data.pop(key, None)
        if not any(tokens.values()) and not os.path.exists(path):
            return  # nothing stored, nothing to clear: never create a file just to remove keys
        _atomic_write(path, data)
        self.data = data


def load(path: str | None, environ) -> Config:
    """Read the file (missing = empty) and apply CYNORK_GATEWAY_URL / CYNORK_TOKEN. Bad file -> exit 2."""
    data = {}
    if path and os.path.lexists(path):
        data = _read(path)
    return Config(path, data, environ.get("CYNORK_GATEWAY_URL") or None, environ.get("CYNORK_TOKEN") or None)


def _read(path: str) -> dict:
    import yaml  # pylint: disable=import-outside-toplevel  # only when a config file exists

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError) as exc:
        raise usage_error(f"load config: {exc.strerror if isinstance(exc, OSError) else exc}: {path}") from None
    except yaml.YAMLError as exc:
        raise usage_error(f"load config: invalid YAML in {path}: {str(exc).splitlines()[0]}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise usage_error(f"load config: {path}: top level must be a mapping")
    for key in KNOWN_KEYS:
        if data.get(key) is not None and not isinstance(data[key], str):
            raise usage_error(f"load config: {path}: {key} must be a string")
    return data


def make_private_dirs(directory: str) -> None:
    """Create `directory` and every missing parent with mode 0700 (os.makedirs applies `mode` to the last only)."""
    missing = []
    while not os.path.isdir(directory) and directory != os.path.dirname(directory):
        missing.append(directory)
        directory = os.path.dirname(directory)
    for folder in reversed(missing):
        os.makedirs(folder, mode=0o700, exist_ok=True)


def _atomic_write(path: str, data: dict) -> None:
    import tempfile  # pylint: disable=import-outside-toplevel  # writes are rare; every start pays for imports

    import yaml  # pylint: disable=import-outside-toplevel

    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        make_private_dirs(directory)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".tmp", dir=directory)  # created 0600
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle, default_flow_style=False, sort_keys=False, allow_unicode=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise CliError(f"save config: {exc.strerror or exc}: {path}", ExitStatus.INTERNAL) from None
    finally:
        if tmp:
            os.unlink(tmp)
