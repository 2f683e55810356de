"""The server's settings, declared once as a table.

Each setting resolves as: default <- config file (YAML) <- environment (CYNODE_<NAME>) <- command-line flag.
The result is one frozen Settings object passed explicitly to whatever needs it; nothing reads globals.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

from cynode.contract import DEFAULT_PORT


SANDBOXES = ("auto", "bwrap", "process", "none")
INFERENCE_APIS = ("ollama", "openai")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


def _data_home() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "cynode")


@dataclass(frozen=True)
class Spec:
    """One row of the settings table."""

    name: str
    default: object
    kind: type
    help: str

    @property
    def env(self) -> str:
        return "CYNODE_" + self.name.upper()


SPECS = (
    Spec("listen", f"127.0.0.1:{DEFAULT_PORT}", str, "HOST:PORT to listen on"),
    Spec("data_dir", None, str, "directory for the SQLite file, job work dirs and artifacts"),
    Spec("database", None, str, "database URL (sqlite:///PATH or postgresql://...); default SQLite in the data dir"),
    Spec("database_password_file", None, str, "file holding the PostgreSQL password (else PGPASSWORD, else the "
         "URL's), so it never sits in a command line"),
    Spec("admin_password", None, str, "password for the bootstrap 'admin' user (else one is generated)"),
    Spec("http_threads", 8, int, "waitress worker threads"),
    Spec("access_token_ttl", 900, int, "access token lifetime in seconds"),
    Spec("refresh_token_ttl", 7 * 24 * 3600, int, "refresh token (session) lifetime in seconds"),
    Spec("login_limit_per_ip", 60, int, "login attempts per client IP per minute"),
    Spec("login_limit_per_handle", 10, int, "failed login attempts per handle and client address per minute"),
    Spec("max_body_bytes", 10 * 1024 * 1024, int, "largest accepted request body in bytes"),
    Spec("trust_proxy_headers", False, bool, "take the client IP from X-Forwarded-For / X-Real-IP"),
    Spec("workers", 4, int, "dispatcher threads running jobs (0 = this server runs no jobs)"),
    Spec("sandbox", "auto", str, "job runner: auto (bwrap when usable, else process as root), bwrap, process, "
         "none (unisolated jobs, as the server's own user)"),
    Spec("work_root", None, str, "directory for job work dirs (root-owned, 0711); default <data dir>/work, or "
         "/var/lib/cynode/work/<id> for a root server whose data dir job users cannot reach"),
    Spec("no_dispatch", False, bool, "gateway only: this server runs no jobs; `cynode worker` processes on the "
         "same PostgreSQL database run them"),
    Spec("node_name", None, str, "this dispatcher's node slug (`cynode worker`); default: the host name"),
    Spec("job_lease_seconds", 30, int, "a running job's lease: its node's heartbeat renews it; a node silent "
         "this long has its jobs failed by any other node, and a late result from it is refused"),
    Spec("max_running_per_user", 0, int, "jobs one user may have running at once (0 = no cap)"),
    Spec("job_default_timeout_seconds", 300, int, "job timeout when the task sets none"),
    Spec("job_max_timeout_seconds", 10800, int, "largest timeout a task may ask for"),
    Spec("job_max_output_bytes", 262144, int, "stdout and stderr kept per job, each"),
    Spec("job_memory_bytes", 1 << 30, int, "address-space limit per job process"),
    Spec("job_max_processes", 256, int, "process limit for jobs"),
    Spec("job_file_size_bytes", 256 << 20, int, "largest file a job may write"),
    Spec("job_cpu_seconds", 600, int, "CPU time limit per job process"),
    Spec("job_kill_grace_seconds", 5, int, "after SIGTERM, seconds before SIGKILL on cancel or timeout"),
    Spec("task_max_artifact_bytes", 256 << 20, int, "bytes of job output files kept as artifacts per task"),
    Spec("task_max_artifact_files", 256, int, "job output files kept as artifacts per task"),
    Spec("work_retention_seconds", 86400, int, "keep finished tasks' work dirs this long (artifacts stay)"),
    Spec("inference_url", None, str, "base URL of the inference backend (prompt tasks and chat); unset: none"),
    Spec("inference_api", "ollama", str, "its API: ollama (/api/chat) or openai (/v1/chat/completions)"),
    Spec("inference_model", "qwen3.5:0.8b", str, "the model prompt tasks and chat use"),
    Spec("inference_api_key", None, str, "bearer key for the backend (never logged, never shown to jobs)"),
    Spec("inference_connect_timeout", 5, int, "seconds to connect to the inference backend"),
    Spec("inference_read_timeout", 120, int, "seconds the backend may stay silent while answering"),
    Spec("credentials_key", None, str, "key sealing credential secrets: 32 random bytes as base64url; default: "
         "the file credentials.key in the data dir, made on first start (never logged, never shown to jobs)"),
)

_SPECS = {spec.name: spec for spec in SPECS}


@dataclass(frozen=True)
class Settings:  # pylint: disable=too-many-instance-attributes
    """Resolved server settings."""

    listen: str
    data_dir: str
    database: str = field(repr=False)  # a URL may hold the password
    database_password_file: str | None
    admin_password: str | None = field(repr=False)
    http_threads: int
    access_token_ttl: int
    refresh_token_ttl: int
    login_limit_per_ip: int
    login_limit_per_handle: int
    max_body_bytes: int
    trust_proxy_headers: bool
    workers: int
    sandbox: str
    work_root: str | None
    no_dispatch: bool
    node_name: str | None
    job_lease_seconds: int
    max_running_per_user: int
    job_default_timeout_seconds: int
    job_max_timeout_seconds: int
    job_max_output_bytes: int
    job_memory_bytes: int
    job_max_processes: int
    job_file_size_bytes: int
    job_cpu_seconds: int
    job_kill_grace_seconds: int
    task_max_artifact_bytes: int
    task_max_artifact_files: int
    work_retention_seconds: int
    inference_url: str | None
    inference_api: str
    inference_model: str
    inference_api_key: str | None = field(repr=False)
    inference_connect_timeout: int
    inference_read_timeout: int
    credentials_key: str | None = field(repr=False)

    @property
    def host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)


def is_postgres(database_url: str) -> bool:
    """Whether a database URL names PostgreSQL (the only backend several processes share)."""
    return database_url.lower().startswith(("postgresql://", "postgres://"))


def _convert(spec: Spec, raw: object) -> object:
    if raw is None:
        return None
    text = str(raw).strip()  # YAML and env values alike go through their text form
    if spec.kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{spec.name}: expected true or false, got {text!r}")
    if spec.kind is int:
        try:
            value = int(text)
        except ValueError:
            raise SettingsError(f"{spec.name}: expected an integer, got {text!r}") from None
        if value < 0:
            raise SettingsError(f"{spec.name}: must not be negative")
        return value
    return text


def _load_file(path: str) -> dict:
    import yaml  # pylint: disable=import-outside-toplevel  # only when a config file is given

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"config file {path}: top level must be a mapping")
    unknown = sorted(set(data) - set(_SPECS))
    if unknown:
        raise SettingsError(f"config file {path}: unknown setting(s): {', '.join(unknown)}")
    return data


def _check_listen(listen: str) -> None:
    host, sep, port = listen.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535 or not host:
        raise SettingsError(f"listen: expected HOST:PORT, got {listen!r}")


def resolve(flags: dict | None = None, environ: dict | None = None, config_path: str | None = None) -> Settings:
    """Build Settings from defaults, an optional YAML file, the environment and flags (highest wins)."""
    environ = os.environ if environ is None else environ
    flags = flags or {}
    config_path = config_path or environ.get("CYNODE_CONFIG") or None
    layers = [_load_file(config_path)] if config_path else []
    layers.append({s.name: environ[s.env] for s in SPECS if environ.get(s.env, "") != ""})
    layers.append({k: v for k, v in flags.items() if v is not None})
    values = {}
    for spec in SPECS:
        value = spec.default
        for layer in layers:
            if layer.get(spec.name) is not None:  # `key:` with no value in YAML means "not set"
                value = layer[spec.name]
        values[spec.name] = _convert(spec, value)
    _check_listen(values["listen"])
    data_dir = os.path.abspath(os.path.expanduser(values["data_dir"] or _data_home()))
    values["data_dir"] = data_dir
    values["database"] = values["database"] or "sqlite:///" + str(Path(data_dir) / "cynode.db")
    if values["http_threads"] < 1:
        raise SettingsError("http_threads: must be at least 1")
    if values["sandbox"] not in SANDBOXES:
        raise SettingsError(f"sandbox: expected auto, bwrap, process or none, got {values['sandbox']!r}")
    if values["inference_api"] not in INFERENCE_APIS:
        raise SettingsError(f"inference_api: expected ollama or openai, got {values['inference_api']!r}")
    if values["inference_url"] and not values["inference_url"].startswith(("http://", "https://")):
        raise SettingsError(f"inference_url: expected an http:// or https:// URL, got {values['inference_url']!r}")
    if values["work_root"]:
        values["work_root"] = os.path.abspath(os.path.expanduser(values["work_root"]))
    if values["job_lease_seconds"] < 2:
        raise SettingsError("job_lease_seconds: must be at least 2 (the heartbeat renews it three times a lease)")
    if not 1 <= values["job_default_timeout_seconds"] <= values["job_max_timeout_seconds"]:
        raise SettingsError("job_default_timeout_seconds: must be from 1 to job_max_timeout_seconds")
    return Settings(**values)
