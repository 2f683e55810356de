"""`cynode serve | cli | version`: the top-level command."""

import subprocess
import sys

import pytest

from cynode import __main__ as entry_point
from cynode import __version__


def test_version(capsys):
    assert entry_point.main(["version"]) == 0
    assert capsys.readouterr().out == f"{__version__}\n"


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help(capsys, flag):
    assert entry_point.main([flag]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:\n  cynode serve") and "cynode cli" in out and "cynode version" in out


def test_no_command_and_unknown_command_exit_2(capsys):
    assert entry_point.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("Usage:")
    assert entry_point.main(["frobnicate"]) == 2
    assert capsys.readouterr().err.startswith("Error: unknown command 'frobnicate'\nUsage:")


def test_cli_and_serve_are_delegated(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert entry_point.main(["cli", "-o", "json", "version"]) == 0
    assert capsys.readouterr().out == f'{{\n  "version": "{__version__}"\n}}\n'
    assert entry_point.main(["serve", "--help"]) == 0
    assert "CYNODE_LISTEN" in capsys.readouterr().out


def test_entry_exits_with_the_status(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["cynode", "nonsense"])
    with pytest.raises(SystemExit) as exit_info:
        entry_point.entry()
    assert exit_info.value.code == 2


def test_python_dash_m_cynode():
    result = subprocess.run([sys.executable, "-m", "cynode", "version"], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"{__version__}\n", "")
