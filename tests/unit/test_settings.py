"""Server settings: one table, resolved as default < config file < environment < flag."""

import os
import re

import pytest

from cynode.settings import SPECS, Settings, SettingsError, resolve


def write(tmp_path, text: str) -> str:
    path = tmp_path / "cynode.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_defaults(tmp_path):
    settings = resolve(environ={}, flags={"data_dir": str(tmp_path)})
    assert settings.listen == "127.0.0.1:8080" and settings.host_port == ("127.0.0.1", 8080)
    assert settings.database == f"sqlite:///{tmp_path}/cynode.db"
    assert settings.admin_password is None and settings.trust_proxy_headers is False
    assert {spec.name for spec in SPECS} == set(Settings.__dataclass_fields__)  # pylint: disable=no-member


def test_each_layer_overrides_the_one_below(tmp_path):
    config = write(tmp_path, "listen: 0.0.0.0:1111\nhttp_threads: 2\naccess_token_ttl: 60\nlogin_limit_per_ip: 5\n")
    environ = {"CYNODE_HTTP_THREADS": "3", "CYNODE_ACCESS_TOKEN_TTL": "70", "CYNODE_LISTEN": ""}
    settings = resolve({"access_token_ttl": "80", "data_dir": str(tmp_path), "database": None}, environ, config)
    assert settings.listen == "0.0.0.0:1111"  # file (the empty env value counts as unset)
    assert settings.http_threads == 3  # env over file
    assert settings.access_token_ttl == 80  # flag over env
    assert settings.login_limit_per_ip == 5  # file over default
    assert settings.refresh_token_ttl == 7 * 24 * 3600  # default


def test_the_config_file_can_come_from_the_environment(tmp_path):
    config = write(tmp_path, "http_threads: 6\ntrust_proxy_headers: true\n")
    settings = resolve({"data_dir": str(tmp_path)}, {"CYNODE_CONFIG": config})
    assert (settings.http_threads, settings.trust_proxy_headers) == (6, True)


@pytest.mark.parametrize("text, value", [("1", True), ("yes", True), ("ON", True), ("true", True),
                                         ("0", False), ("no", False), ("off", False), ("False", False)])
def test_booleans(tmp_path, text, value):
    assert resolve({"data_dir": str(tmp_path)}, {"CYNODE_TRUST_PROXY_HEADERS": text}).trust_proxy_headers is value


@pytest.mark.parametrize("environ, message", [
    ({"CYNODE_TRUST_PROXY_HEADERS": "maybe"}, "trust_proxy_headers: expected true or false, got 'maybe'"),
    ({"CYNODE_HTTP_THREADS": "eight"}, "http_threads: expected an integer, got 'eight'"),
    ({"CYNODE_MAX_BODY_BYTES": "1.5"}, "max_body_bytes: expected an integer, got '1.5'"),
    ({"CYNODE_ACCESS_TOKEN_TTL": "-1"}, "access_token_ttl: must not be negative"),
    ({"CYNODE_HTTP_THREADS": "0"}, "http_threads: must be at least 1"),
    ({"CYNODE_SANDBOX": "docker"}, "sandbox: expected auto, bwrap, process or none, got 'docker'"),
    ({"CYNODE_JOB_DEFAULT_TIMEOUT_SECONDS": "0"}, "job_default_timeout_seconds: must be from 1 to"),
    ({"CYNODE_JOB_MAX_TIMEOUT_SECONDS": "10"}, "job_default_timeout_seconds: must be from 1 to"),
])
def test_bad_values_name_the_setting(tmp_path, environ, message):
    with pytest.raises(SettingsError) as error:
        resolve({"data_dir": str(tmp_path)}, environ)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("listen", ["8080", "localhost", "localhost:", ":8080", "host:http", "host:65536", "h:-1"])
def test_bad_listen_addresses(tmp_path, listen):
    with pytest.raises(SettingsError) as error:
        resolve({"listen": listen, "data_dir": str(tmp_path)}, {})
    assert str(error.value) == f"listen: expected HOST:PORT, got {listen!r}"


@pytest.mark.parametrize("listen, host_port", [
    ("0.0.0.0:80", ("0.0.0.0", 80)),
    ("localhost:0", ("localhost", 0)),
    ("[::1]:8080", ("::1", 8080)),
    ("[::]:65535", ("::", 65535)),
])
def test_host_port(tmp_path, listen, host_port):
    assert resolve({"listen": listen, "data_dir": str(tmp_path)}, {}).host_port == host_port


@pytest.mark.parametrize("text, message", [
    ("bogus_setting: 1\nlisten: a:1\n", "unknown setting(s): bogus_setting"),
    ("- listen\n", "top level must be a mapping"),
    ("listen: [unclosed\n", "while parsing"),
])
def test_bad_config_files(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as error:
        resolve({"data_dir": str(tmp_path)}, {}, path)
    assert str(error.value).startswith(f"config file {path}: ") and message in str(error.value)


def test_a_missing_config_file_is_an_error(tmp_path):
    with pytest.raises(SettingsError) as error:
        resolve({"data_dir": str(tmp_path)}, {}, str(tmp_path / "absent.yaml"))
    assert "No such file or directory" in str(error.value)


def test_an_empty_config_file_changes_nothing(tmp_path):
    assert resolve({"data_dir": str(tmp_path)}, {}, write(tmp_path, "")).http_threads == 8


def test_an_empty_value_in_the_config_file_is_a_settings_error_or_the_default(tmp_path):
    try:
        settings = resolve({"data_dir": str(tmp_path)}, {}, write(tmp_path, "http_threads:\n"))
    except SettingsError:
        return
    assert settings.http_threads == 8


def test_data_dir_defaults_to_xdg_data_home_then_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert resolve(environ={}).data_dir == str(tmp_path / "xdg" / "cynode")
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    settings = resolve(environ={})
    assert settings.data_dir == str(tmp_path / "home" / ".local" / "share" / "cynode")
    assert settings.database == f"sqlite:///{settings.data_dir}/cynode.db"
    assert resolve({"data_dir": "~/d"}, {}).data_dir == str(tmp_path / "home" / "d")
    assert resolve({"data_dir": "rel"}, {}).data_dir == os.path.abspath("rel")


def test_the_settings_never_show_a_secret(tmp_path):
    """Whatever prints the settings (a log line, a traceback's locals) shows no password, key or database URL,
    which may hold a password."""
    settings = resolve({"data_dir": str(tmp_path), "database": "postgresql://app:db-s3cret@db/x"},
                       {"CYNODE_ADMIN_PASSWORD": "s3cret-pass", "CYNODE_CREDENTIALS_KEY": "k" * 43})
    assert settings.admin_password == "s3cret-pass"
    for secret in ("s3cret-pass", "db-s3cret", "k" * 43):
        assert secret not in repr(settings)
    assert "listen='127.0.0.1:8080'" in repr(settings)


def test_the_inference_api_key_is_never_shown(tmp_path):
    settings = resolve({"data_dir": str(tmp_path)}, {"CYNODE_INFERENCE_API_KEY": "sk-very-secret-key"})
    assert settings.inference_api_key == "sk-very-secret-key"
    assert "sk-very-secret-key" not in repr(settings)


@pytest.mark.parametrize("environ, message", [
    ({"CYNODE_INFERENCE_API": "anthropic"}, "inference_api: expected ollama or openai, got 'anthropic'"),
    ({"CYNODE_INFERENCE_URL": "localhost:11434"}, "inference_url: expected an http:// or https:// URL"),
])
def test_bad_inference_settings_are_named(tmp_path, environ, message):
    with pytest.raises(SettingsError, match=re.escape(message)):
        resolve({"data_dir": str(tmp_path)}, environ)
