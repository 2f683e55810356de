"""Docs that cannot drift: the README against the CLI usage text, the server's settings table and CI."""

import re
import shlex
from pathlib import Path

import pytest

from cynode.cli import main as cli_main
from cynode.server import serve
from cynode.contract import CREDENTIAL_ENV_PREFIX
from cynode.settings import SPECS
from tests.bdd.backend import BACKEND_ENV
from tests.support.pg import PG_URL_ENV

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")
CLI_USAGE = cli_main.__doc__


def section(title: str) -> str:
    """The README text under `## title`, up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def code_blocks(text: str) -> list[list[str]]:
    """The command lines of each fenced block: comments stripped, blank lines dropped."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)
    return [[line.split("  #")[0].strip() for line in block.splitlines() if line.strip()
             and not line.lstrip().startswith("#")] for block in blocks]


def readme_cli_lines() -> list[str]:
    """Every CLI command line in the README's code blocks; `source <(CMD)` counts as CMD."""
    return [re.sub(r"^.*<\((.*)\).*$", r"\1", line) for block in code_blocks(README) for line in block
            if re.search(r"\bcynode(\.pyz)? cli\b", line)]


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    first = code_blocks(section("Quick start"))[0]
    assert len(first) == 2, first
    build_and_serve, test = first
    assert "build.py" in build_and_serve and "serve" in build_and_serve
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    ci_commands = [line.removeprefix("exec ").strip() for line in ci.splitlines()
                   if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci_commands == [test]


@pytest.mark.parametrize("line", readme_cli_lines())
def test_every_cli_example_in_the_readme_is_valid_usage(line):
    argv = shlex.split(line)
    argv = argv[argv.index("cli") + 1:]
    args = cli_main.parse(argv)  # raises (exit 2) if the usage text does not accept the line
    assert any(all(args.get(word) for word in path) for path in cli_main.grammar().commands), line


def test_the_readme_shows_at_least_login_whoami_and_user_creation():
    shown = " ".join(readme_cli_lines())
    for command in ("auth login", "auth whoami", "users create"):
        assert command in shown


def test_client_section_matches_the_usage_text():
    client = section("Client: `cynode cli`")
    for variable in ("CYNORK_GATEWAY_URL", "CYNORK_TOKEN"):
        assert variable in client and variable in CLI_USAGE
    exit_line = next(line for line in CLI_USAGE.splitlines() if line.startswith("Exit codes:"))
    assert exit_line in client
    for flag in re.findall(r"`(--?[a-z][a-z-]*)", client):
        assert flag in CLI_USAGE, f"README's client section names {flag}, which the CLI does not have"


def test_server_synopsis_matches_serve_usage():
    readme_synopsis = " ".join(code_blocks(section("Server: `cynode serve`"))[0])
    usage = serve.__doc__.split("Usage:\n", 1)[1].split("\n  cynode serve -h")[0]
    assert readme_synopsis == " ".join(line.strip() for line in usage.splitlines())


def test_every_cynode_variable_in_the_readme_exists():
    known = {spec.env for spec in SPECS} | {"CYNODE_CONFIG", PG_URL_ENV, BACKEND_ENV}  # CYNODE_CONFIG: resolve()
    named = set(re.findall(r"\bCYNODE_[A-Z][A-Z0-9_]*", README))
    named = {name for name in named if not name.startswith(CREDENTIAL_ENV_PREFIX)}  # what jobs get, not settings
    assert named - known == set()
    assert "CYNODE_CONFIG" in (REPO / "cynode" / "settings.py").read_text(encoding="utf-8")


UNITS = {"s": 1, "days": 86400, "MiB": 1 << 20, "per minute": 1}


def test_readme_settings_table_defaults_match_the_specs():
    """Each default the table states (`127.0.0.1:8080`, `900 s`, `7 days`, `10 MiB`, `60 per minute`) is real."""
    specs = {spec.env: spec.default for spec in SPECS}
    rows = re.findall(r"^\| [^|]+ \| `(CYNODE_[A-Z_]+)` \| ([^|]+) \|", README, re.M)
    assert len(rows) >= 5
    checked = 0
    for env, cell in rows:
        assert env in specs, env
        number = re.match(r"(\d+) (s|days|MiB|per minute)\b", cell.strip())
        if number:
            assert int(number.group(1)) * UNITS[number.group(2)] == specs[env], (env, cell)
            checked += 1
        elif isinstance(specs[env], str):
            assert f"`{specs[env]}`" in cell, (env, cell)
            checked += 1
    assert checked >= 5
