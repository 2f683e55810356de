#!/usr/bin/env python3
"""Build and test cynode from a fresh checkout with nothing but python3 (>= 3.11).

  python3 build.py          make .venv (pinned runtime deps and shiv from setup.py), then build ./cynode.pyz
  python3 build.py test     also install the test tools (and what the tests need on this machine), run `just ci`
                            (whose PostgreSQL runs need the server of CYNODE_TEST_PG_URL: started here if it is a
                            local Debian cluster that is down)

The pyz bundles pure-Python dependencies and runs on any Python >= 3.11.
"""

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import venv
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".cynode-deps"
OUTPUT = ROOT / "cynode.pyz"


def say(message: str) -> None:
    print(f"build.py: {message}", file=sys.stderr, flush=True)


def run(*argv, **kwargs) -> None:
    subprocess.run([str(a) for a in argv], check=True, **kwargs)


def ensure_venv(extra: str = "build") -> None:
    """Create .venv and install the pinned runtime dependencies plus an extra of setup.py: `build` (shiv, for a
    newcomer's first command) or `dev` (every test tool, which also builds). Redone when setup.py changes."""
    digest = hashlib.sha256((ROOT / "setup.py").read_bytes()).hexdigest()
    have = STAMP.read_text(encoding="utf-8").split() if STAMP.exists() else []
    if have[:1] == [digest] and (extra in have[1:] or "dev" in have[1:]):
        return
    if not (BIN / "python").exists():
        say("creating .venv")
        venv.create(VENV, with_pip=True)
    say(f"installing pinned dependencies ({extra}) into .venv")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", f"{ROOT}[{extra}]")
    STAMP.write_text(f"{digest} {extra}", encoding="utf-8")


# Compiled modules a dependency ships beside a pure-Python fallback it uses when they are absent (PyYAML's
# libyaml binding). They are left out, so one archive runs on every Python >= 3.11 and every machine.
OPTIONAL_ACCELERATORS = ("yaml/_yaml.",)


def _pure_site_packages(target: Path) -> None:
    """Install cynode and its runtime dependencies into `target` without compiled modules; fail on one that
    has no fallback."""
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", target, ROOT)
    compiled = [path for path in target.rglob("*") if path.suffix in (".so", ".pyd")]
    for path in compiled:
        relative = path.relative_to(target).as_posix()
        if not relative.startswith(OPTIONAL_ACCELERATORS):
            sys.exit(f"build.py: {relative} is a compiled module with no pure-Python fallback; "
                     "the zipapp must stay pure Python")
        path.unlink()


def build() -> Path:
    ensure_venv()
    say(f"building {OUTPUT.name}")
    tmp = OUTPUT.with_suffix(".pyz.tmp")
    with tempfile.TemporaryDirectory() as site_packages:
        _pure_site_packages(Path(site_packages))
        # --compile-pyc: without bytecode in the archive every start would recompile (+60 ms measured here).
        run(BIN / "shiv", "--compile-pyc", "--reproducible", "-c", "cynode", "-p", "/usr/bin/env python3",
            "-o", tmp, "--site-packages", site_packages)
    tmp.replace(OUTPUT)
    say(f"built {OUTPUT} ({OUTPUT.stat().st_size // 1024} KiB)")
    return OUTPUT


TEST_TOOLS = {"bwrap": "bubblewrap", "zsh": "zsh"}  # command -> Debian package: the sandbox and completion tests


def ensure_test_tools() -> None:
    """What the tests use that pip cannot install: bubblewrap and zsh (root + apt only)."""
    missing = sorted(package for command, package in TEST_TOOLS.items() if not shutil.which(command))
    if not missing:
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"installing {' '.join(missing)} with apt-get")
        run("apt-get", "update", "-qq", stdout=subprocess.DEVNULL)
        run("apt-get", "install", "-y", "-qq", *missing, stdout=subprocess.DEVNULL)
    else:
        say(f"{' '.join(missing)} not installed and cannot be installed here (needs root and apt-get): "
            "the tests that need them will be skipped")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=3):
            return True
    except OSError:
        return False


def ensure_postgres() -> None:
    """The PostgreSQL server the tests use (CYNODE_TEST_PG_URL) must answer: `just bdd-pg` fails without it. A
    local Debian cluster that is down is started (root only); anything else is only reported, up front."""
    url = urlsplit(os.environ.get("CYNODE_TEST_PG_URL") or "postgresql://root@127.0.0.1:5432/test")
    host, port = url.hostname or "localhost", url.port or 5432
    if _answers(host, port):
        return
    if host in ("127.0.0.1", "localhost", "::1") and os.geteuid() == 0 and shutil.which("pg_lsclusters"):
        listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False)
        for line in listed.stdout.splitlines():
            version, cluster, cluster_port, status = line.split()[:4]
            if cluster_port == str(port) and status == "down":
                say(f"starting PostgreSQL cluster {version}/{cluster} for the tests")
                subprocess.run(["pg_ctlcluster", version, cluster, "start"], check=False)
    if not _answers(host, port):
        say(f"PostgreSQL does not answer at {host}:{port} (CYNODE_TEST_PG_URL): the PostgreSQL BDD run (bdd-pg) "
            "will fail")


def main(argv: list[str]) -> int:
    if argv[:1] == ["test"]:
        ensure_venv("dev")
        ensure_test_tools()
        ensure_postgres()
        return subprocess.run([str(BIN / "just"), "ci"], cwd=ROOT, check=False).returncode
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    build()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
