"""Package boundaries (design.md): the CLI never loads the server side, and each heavy library has one importer.

An AST scan counts every import, including those inside functions (lazy imports load too when their code runs).
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cynode

ROOT = Path(cynode.__file__).parent
SERVER_SIDE = ("cynode.server", "cynode.store", "cynode.dispatch")
CLI_FORBIDDEN_LIBRARIES = {"bottle", "peewee", "waitress", "tlslite"}

# library -> the only files (relative to cynode/) allowed to import it
SOLE_IMPORTERS = {
    "bottle": lambda rel: rel == "server/app.py",
    "waitress": lambda rel: rel == "server/serve.py",
    "peewee": lambda rel: rel.startswith("store/"),
    "urllib3": lambda rel: rel in ("cli/gateway.py", "inference/client.py"),  # the client's, the backends' HTTP
    "tlslite": lambda rel: rel == "secretbox.py",  # AES-GCM for credential secrets, imported only when used
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in ROOT.rglob("*.py")}


def imports_of(path: Path) -> set[str]:
    """Every module name an import statement in `path` may load (a `from X import y` also counts X.y)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def loaded_with(module: str) -> set[str]:
    """`module` and everything it can load: cynode modules are followed, other names are kept as they are."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:i]) for i in range(1, len(parts)) if ".".join(parts[:i]) in MODULES)
        if name in MODULES:
            todo.extend(imports_of(MODULES[name]))
    return {name for name in seen if name in MODULES or not name.startswith("cynode")}


def test_the_scan_sees_the_imports_it_polices():
    assert "bottle" in imports_of(ROOT / "server" / "app.py")
    assert "urllib3" in imports_of(ROOT / "cli" / "gateway.py")
    assert "docopt" in imports_of(ROOT / "cli" / "main.py")  # a lazy import inside a function counts too
    assert {"cynode.server.app", "cynode.store.store"} <= loaded_with("cynode.server.serve")


CLI_MODULES = sorted(name for name in MODULES if name.startswith("cynode.cli"))


@pytest.mark.parametrize("module", CLI_MODULES)
def test_the_cli_never_reaches_the_server_side(module):
    reached = loaded_with(module)
    server_side = sorted(name for name in reached if name.startswith(SERVER_SIDE))
    libraries = sorted(name for name in reached if name.split(".")[0] in CLI_FORBIDDEN_LIBRARIES)
    assert not server_side and not libraries, f"{module} can load {server_side + libraries}"


def test_each_heavy_library_has_one_importer():
    offenders = []
    for name, path in MODULES.items():
        rel = path.relative_to(ROOT).as_posix()
        for library in {imported.split(".")[0] for imported in imports_of(path)} & set(SOLE_IMPORTERS):
            if not SOLE_IMPORTERS[library](rel):
                offenders.append(f"{name} imports {library}")
    assert not offenders


def test_the_command_table_only_names_cli_modules():
    from cynode.cli.main import grammar  # pylint: disable=import-outside-toplevel

    for command in grammar().commands.values():
        assert f"cynode.cli.commands.{command.target.split(':', maxsplit=1)[0]}" in MODULES, command.path


PROBE = """
import io, json, sys
from cynode.cli.context import Env
from cynode.cli.main import run
out, err = io.StringIO(), io.StringIO()
code = run(sys.argv[2:], Env(stdin=io.StringIO(), stdout=out, stderr=err, environ={"HOME": sys.argv[1]}))
heavy = {"bottle", "peewee", "waitress", "urllib3", "yaml", "pg8000"}
print(json.dumps({"code": code, "loaded": sorted(m for m in sys.modules if m.split(".")[0] in heavy),
                  "server_side": sorted(m for m in sys.modules if m.startswith(("cynode.server", "cynode.store",
                                                                               "cynode.dispatch")))}))
"""


def probe(home: Path, *argv) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, str(home), *argv],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def test_version_without_a_config_file_loads_no_library(tmp_path):
    assert probe(tmp_path, "version") == {"code": 0, "loaded": [], "server_side": []}


def test_a_gateway_command_loads_only_the_client_libraries(tmp_path):
    config = tmp_path / ".config" / "cynork" / "config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("gateway_url: http://127.0.0.1:9\ntoken: t\n", encoding="utf-8")
    seen = probe(tmp_path, "auth", "whoami")
    assert seen["code"] == 7
    assert {name.split(".")[0] for name in seen["loaded"]} == {"urllib3", "yaml"}
    assert seen["server_side"] == []


@pytest.mark.parametrize("module", sorted(name for name in MODULES if name.startswith("cynode.inference")))
def test_the_inference_clients_know_neither_the_server_nor_the_dispatcher(module):
    """Prompt jobs (dispatch) and the chat routes (server) both use them, so they sit below both."""
    reached = sorted(name for name in loaded_with(module) if name.startswith(("cynode.server", "cynode.dispatch",
                                                                               "cynode.store", "cynode.cli")))
    assert not reached, f"{module} can load {reached}"
