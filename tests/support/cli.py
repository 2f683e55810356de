"""Running the CLI in process, with injected streams and environment (no patching), and reading its config."""

import io
import json
from dataclasses import dataclass
from pathlib import Path

from cynode.cli.context import Env
from cynode.cli.main import run


@dataclass
class CliResult:
    """One finished command: exit code and what it wrote."""

    argv: list
    code: int
    stdout: str
    stderr: str

    @property
    def json(self):
        return json.loads(self.stdout)

    def __str__(self) -> str:
        return f"cynode cli {' '.join(self.argv)} -> {self.code}\nstdout: {self.stdout!r}\nstderr: {self.stderr!r}"


def run_cli(argv: list, environ: dict, stdin="") -> CliResult:
    """`cynode cli ARGV` with exactly `environ` (nothing inherited). `stdin`: text, or a stream object."""
    stdout, stderr = io.StringIO(), io.StringIO()
    env = Env(stdin=io.StringIO(stdin) if isinstance(stdin, str) else stdin, stdout=stdout, stderr=stderr,
              environ=dict(environ))
    code = run(list(argv), env)
    result = CliResult(list(argv), int(code), stdout.getvalue(), stderr.getvalue())
    assert "Traceback" not in result.stderr, str(result)
    return result


def config_file(home: Path) -> Path:
    """Where the CLI keeps its config when only HOME is set."""
    return Path(home) / ".config" / "cynork" / "config.yaml"


def read_config(path: Path) -> dict:
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}


def write_config(path: Path, **values) -> Path:
    import yaml  # pylint: disable=import-outside-toplevel

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path
