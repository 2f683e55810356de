#!/usr/bin/env python3
"""CLI start-up bench: `cynode.pyz cli ...` against two floors measured in the same run (issue 3, "Bench").

  python -m bench.cli_start [--runs N] [--warmup N] [--pyz PATH] [--python PATH] [--json FILE]

Floors: `python -c pass`, and a minimal shiv zipapp whose entry point prints a constant (the packaging floor;
built here with the same shiv options as build.py). Every command runs with the same real interpreter (the
resolved binary, never a shell shim), round-robin so machine noise hits all of them alike, the order rotated
every round. `cli status`, `cli auth whoami`, `cli task list -o json` (20 finished tasks) and `cli task get`
(by name) talk to a real `cynode.pyz serve` started for the run (the source tree's server, with a NOTE, if the
zipapp cannot serve). The header lists .pth files that run code at
every interpreter start: they tax every row and pre-import modules; compare with a clean venv then:
  python3 -m venv --without-pip /tmp/clean && python -m bench.cli_start --python /tmp/clean/bin/python3

Prints median, p90 and min wall time, median CPU time (user + system; steadier than wall time on a busy machine),
peak RSS (each child's ru_maxrss from wait4, median over runs) and ratios of the medians against both floors,
then the targets from issue 3. It reports; it exits non-zero only when something could not run.
"""

import argparse
import json
import marshal
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import child_env, free_port

ROOT = Path(__file__).resolve().parent.parent
SHIV_PYTHON = "/usr/bin/env python3"  # the -p build.py uses, so both zipapps bootstrap the same way
FLOOR_OUTPUT = "floor"
ADMIN = "admin"
TARGETS = (  # (case, limit as a multiple of the shiv floor's median)
    ("cli version", 1.5),
    ("cli version (no config)", 1.5),
    ("cli auth whoami", 3.0),
    ("cli task list -o json", 3.0),
    ("cli task get", 3.0),
)
TASKS = 20  # in the listing: one page of real rows to fetch, decode and print


class BenchError(Exception):
    """Something the bench needs could not be set up or did not run as expected."""


@dataclass
class Case:
    """One command line to time, with its environment and the stdout it must print."""

    name: str
    argv: list[str]
    env: dict
    expect: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)


# setup ----------------------------------------------------------------------------------------------------------


def interpreter(chosen: str | None) -> str:
    """--python as given (a clean venv's python stays that venv), else this interpreter's binary with symlinks
    (a venv's python) resolved; never a script such as a pyenv shim."""
    path = (shutil.which(chosen) or chosen) if chosen else os.path.realpath(sys.executable)
    try:
        with open(path, "rb") as handle:
            if handle.read(2) == b"#!":
                raise BenchError(f"{path} is a script (a shim?), not an interpreter binary: pass the real one")
    except OSError as exc:
        raise BenchError(f"interpreter {path}: {exc.strerror}") from None
    return os.path.abspath(path)


PROBE = """
import json, os, site, sys
dirs = [d for d in [*site.getsitepackages(), site.getusersitepackages()] if os.path.isdir(d)]
hooks = sorted(name for d in dirs for name in os.listdir(d) if name.endswith(".pth")
               and any(line.startswith(("import ", "import\t"))
                       for line in open(os.path.join(d, name), encoding="utf-8", errors="replace")))
print(json.dumps({"version": sys.version.split()[0], "pth_hooks": hooks}))
"""


def describe(python: str, env: dict) -> str:
    """The interpreter's version, and the .pth files that run code at its every start (they tax every row)."""
    result = subprocess.run([python, "-c", PROBE], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"{python} does not run: {result.stderr.strip()}")
    info = json.loads(result.stdout)
    hooks = ", ".join(info["pth_hooks"])
    return f"{python} ({info['version']})" + (f"; .pth files run code at every start: {hooks}" if hooks else "")


def find_shiv() -> str:
    for candidate in (ROOT / ".venv" / "bin" / "shiv", Path(sys.executable).with_name("shiv")):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("shiv")
    if not found:
        raise BenchError("shiv not found: run `python3 build.py` first (it installs .venv with shiv)")
    return found


def build_floor(tmp: Path) -> Path:
    """A shiv zipapp of one module whose entry point prints a constant, built like cynode.pyz."""
    source = tmp / "floor-src"
    source.mkdir()
    (source / "floorapp.py").write_text(f"def main():\n    print({FLOOR_OUTPUT!r})\n", encoding="utf-8")
    output = tmp / "floor.pyz"
    result = subprocess.run([find_shiv(), "--compile-pyc", "--reproducible", "-p", SHIV_PYTHON,
                             "--site-packages", str(source), "-e", "floorapp:main", "-o", str(output)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0 or not output.exists():
        raise BenchError(f"building the shiv floor failed: {result.stderr.strip() or result.stdout.strip()}")
    return output


def write_config(config_home: Path, gateway_url: str) -> None:
    """What a user has before logging in: the gateway URL in the config file (dir 0700, file 0600)."""
    directory = config_home / "cynork"
    directory.mkdir(mode=0o700, parents=True)
    path = directory / "config.yaml"
    path.write_text(f"gateway_url: {gateway_url}\n", encoding="utf-8")
    path.chmod(0o600)


class Server:
    """`cynode.pyz serve` on a free port with a fresh data dir; always stopped with SIGTERM."""

    def __init__(self, command: list[str], tmp: Path, env: dict, cwd: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(18)
        self.log_path = tmp / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # pylint: disable=consider-using-with  # closed in stop()
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # stopped in stop()
            [*command, "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(tmp / f"data-{self.port}")],
            env={**env, "CYNODE_ADMIN_PASSWORD": self.password}, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=cwd)

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"the server exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise BenchError(f"the server did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        self._log.flush()
        return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_server(pyz_command: list[str], tmp: Path, env: dict) -> tuple[Server, str]:
    """`cynode.pyz serve`; when the zipapp cannot serve, the source tree's server instead, with a note saying so.

    Only the CLI is timed, so where the server runs from does not change the numbers; the note makes a
    broken `serve` in the zipapp visible instead of hiding it.
    """
    server = Server(pyz_command, tmp, env, cwd=tmp)
    try:
        server.wait_healthy()
        return server, ""
    except BenchError as exc:
        server.stop()
        reason = str(exc).strip().splitlines()[-1]
        source_python = ROOT / ".venv" / "bin" / "python"
        if not source_python.exists():
            raise
    server = Server([str(source_python), "-m", "cynode"], tmp, env, cwd=ROOT)
    try:
        server.wait_healthy()
    except BenchError:
        server.stop()
        raise
    return server, f"`cynode.pyz serve` failed ({reason}); the server ran from the source tree instead"


def check(case: Case) -> None:
    """Run once, capturing output: the command must succeed and print what it should."""
    result = subprocess.run(case.argv, env=case.env, capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0 or result.stdout.strip() != case.expect:
        raise BenchError(f"{case.name}: exit {result.returncode}, stdout {result.stdout.strip()!r} "
                         f"(expected {case.expect!r}), stderr {result.stderr.strip()!r}")


def login(python: str, pyz: Path, server: Server, env: dict) -> None:
    result = subprocess.run([python, str(pyz), "cli", "auth", "login", "--handle", ADMIN, "--password-stdin"],
                            input=server.password + "\n", env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BenchError(f"cli auth login failed with {result.returncode}: {result.stderr.strip()}")


# measuring ------------------------------------------------------------------------------------------------------


# Children of this (large) process inherit its RSS high-water mark through fork/vfork+exec, so ru_maxrss would
# read at least our own peak. A small `python -I -S` launcher spawns and reaps the timed commands instead: its own
# peak (~8 MiB) is below any command measured here, and it does the timing too, the same way for every command.
LAUNCHER = """
import marshal, os, sys, time
def read(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(0)
        data += chunk
    return data
def write(value):
    blob = marshal.dumps(value)
    os.write(1, len(blob).to_bytes(4, "big") + blob)
null = os.open(os.devnull, os.O_RDWR)
try:  # this process's own peak (ru_maxrss would include what it inherited from the bench)
    with open("/proc/self/status", encoding="ascii") as status:
        write(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")))
except (OSError, StopIteration):
    write(0)
while True:
    argv, env = marshal.loads(read(int.from_bytes(read(4), "big")))
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, null, fd) for fd in (0, 1, 2)])
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - start
    write((elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, os.waitstatus_to_exitcode(status)))
"""


class Launcher:
    """The spawn-and-reap helper described above; `run` returns (wall s, CPU s, peak RSS KiB, exit code)."""

    def __init__(self, python: str):
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with  # closed in close()
            [python, "-I", "-S", "-c", LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.own_rss = self._reply()

    def _reply(self):
        header = self.process.stdout.read(4)
        if len(header) < 4:
            raise BenchError(f"the launcher exited with {self.process.wait()}")
        return marshal.loads(self.process.stdout.read(int.from_bytes(header, "big")))

    def run(self, argv: list[str], env: dict) -> tuple[float, float, int, int]:
        blob = marshal.dumps((argv, env))
        self.process.stdin.write(len(blob).to_bytes(4, "big") + blob)
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.stdout.close()
        self.process.wait()


def time_once(launcher: Launcher, case: Case) -> None:
    elapsed, cpu, rss, code = launcher.run(case.argv, case.env)
    if code != 0:
        raise BenchError(f"{case.name}: a timed run exited with {code}")
    case.wall.append(elapsed)
    case.cpu.append(cpu)
    case.rss.append(rss)  # KiB on Linux


def measure(launcher: Launcher, cases: list[Case], runs: int, warmup: int) -> None:
    for case in cases:
        check(case)
    for _ in range(warmup):
        for case in cases:
            time_once(launcher, case)
    for case in cases:
        case.wall.clear()
        case.cpu.clear()
        case.rss.clear()
    for round_ in range(runs):
        shift = round_ % len(cases)
        for case in cases[shift:] + cases[:shift]:
            time_once(launcher, case)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[-1] if len(values) > 1 else values[0]


def report(cases: list[Case], header: str) -> dict:
    """Print the table and the targets; return the numbers (also for --json)."""
    rows = {case.name: {"median_ms": statistics.median(case.wall) * 1000, "p90_ms": p90(case.wall) * 1000,
                        "min_ms": min(case.wall) * 1000, "cpu_ms": statistics.median(case.cpu) * 1000,
                        "rss_mib": statistics.median(case.rss) / 1024}
            for case in cases}
    bare, floor = rows["python -c pass"], rows["shiv floor"]
    print(header)
    print(f"{'command':<26} {'median ms':>9} {'p90 ms':>8} {'min ms':>8} {'cpu ms':>8} {'RSS MiB':>8} "
          f"{'x python':>8} {'x shiv':>7} {'+ms shiv':>8}")
    for name, row in rows.items():
        row["x_python"], row["x_shiv"] = row["median_ms"] / bare["median_ms"], row["median_ms"] / floor["median_ms"]
        row["cpu_x_shiv"] = row["cpu_ms"] / floor["cpu_ms"] if floor["cpu_ms"] else None
        print(f"{name:<26} {row['median_ms']:>9.1f} {row['p90_ms']:>8.1f} {row['min_ms']:>8.1f} {row['cpu_ms']:>8.1f} "
              f"{row['rss_mib']:>8.1f} {row['x_python']:>8.2f} {row['x_shiv']:>7.2f} "
              f"{row['median_ms'] - floor['median_ms']:>+8.1f}")
    print("\ntargets (wall-time median vs the shiv floor's; CPU-time ratio alongside):")
    for name, limit in TARGETS:
        row = rows[name]
        verdict = "PASS" if row["x_shiv"] <= limit else "MISS"
        cpu = f"{row['cpu_x_shiv']:.3f}x" if row["cpu_x_shiv"] else "n/a"
        print(f"  {verdict}  {name:<24} {row['x_shiv']:.3f}x (limit {limit}x)  {row['median_ms']:.1f} ms vs "
              f"{floor['median_ms']:.1f} ms, limit {floor['median_ms'] * limit:.1f} ms; cpu {cpu}")
    return rows


def make_cases(python: str, pyz: Path, floor: Path, bare_env: dict, user_env: dict) -> list[Case]:
    """The floors, then the commands; `user_env` points at the logged-in user's config, `bare_env` at none."""
    cli, shown = [python, str(pyz), "cli"], "version=" + version(pyz)
    cases = [
        Case("python -c pass", [python, "-c", "pass"], bare_env, ""),
        Case("shiv floor", [python, str(floor)], bare_env, FLOOR_OUTPUT),
        Case("cli version", [*cli, "version"], user_env, shown),
        Case("cli version (no config)", [*cli, "version"], bare_env, shown),
        Case("cli status", [*cli, "status"], user_env, "ok"),
        Case("cli auth whoami", [*cli, "auth", "whoami"], user_env, ""),
        Case("cli task list -o json", [*cli, "task", "list", "-o", "json"], user_env, ""),
        Case("cli task get", [*cli, "task", "get", f"bench-{TASKS}"], user_env, ""),
    ]
    for case, must_show in zip(cases[-3:], (f"handle={ADMIN}", f'"task_name": "bench-{TASKS}"',
                                            f"task_name=bench-{TASKS}")):
        case.expect = learned_output(case, must_show)
    return cases


def create_tasks(python: str, pyz: Path, env: dict) -> None:
    """TASKS finished command tasks named bench-1.., so the timed reads see rows that no longer change."""
    cli = [python, str(pyz), "cli"]
    for number in range(1, TASKS + 1):
        for argv in (["task", "create", "--command", "true", "--name", f"bench-{number}"],
                     ["task", "result", "--wait", f"bench-{number}"]):
            result = subprocess.run([*cli, *argv], env=env, capture_output=True, text=True, check=False,
                                    stdin=subprocess.DEVNULL)
            if result.returncode != 0:
                raise BenchError(f"cli {' '.join(argv)} failed with {result.returncode}: {result.stderr.strip()}")


def run(args: argparse.Namespace, tmp: Path) -> dict:
    python = interpreter(args.python)
    source = Path(args.pyz).resolve()
    if not source.is_file():
        raise BenchError(f"{source} not found: run `python3 build.py` first, or pass --pyz")
    (tmp / "app").mkdir()
    pyz = Path(shutil.copy2(source, tmp / "app" / "cynode.pyz"))  # a rebuild during the run cannot change it
    floor = build_floor(tmp)
    (tmp / "xdg-empty").mkdir()
    bare_env = child_env(SHIV_ROOT=str(tmp / "shiv-root"), XDG_CONFIG_HOME=str(tmp / "xdg-empty"))
    user_env = child_env(SHIV_ROOT=str(tmp / "shiv-root"), XDG_CONFIG_HOME=str(tmp / "xdg-user"))
    # extract cynode.pyz once before the server starts, so the two never race on the first extraction
    check(Case("first run", [python, str(pyz), "cli", "version"], bare_env, "version=" + version(pyz)))
    server, note = start_server([python, str(pyz)], tmp, bare_env)
    try:
        write_config(tmp / "xdg-user", server.url)
        login(python, pyz, server, user_env)
        create_tasks(python, pyz, user_env)
        cases = make_cases(python, pyz, floor, bare_env, user_env)
        launcher = Launcher(python)
        try:
            measure(launcher, cases, args.runs, args.warmup)
        finally:
            launcher.close()
    finally:
        server.stop()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    notes = [note] if note else []
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        notes.append(f"busy machine (load {load} on {os.cpu_count()} CPUs): wall times are inflated and noisy; "
                     "the min and cpu columns are steadier")
    header = (f"cli_start: {args.runs} interleaved runs each after {args.warmup} warm-up rounds\n"
              f"interpreter {describe(python, bare_env)}\n"
              f"{source} ({pyz.stat().st_size // 1024} KiB); {os.cpu_count()} CPUs, load {load}; RSS floor of this "
              f"method {launcher.own_rss / 1024:.1f} MiB (the launcher's own peak)\n"
              + "".join(f"NOTE: {line}\n" for line in notes))
    return report(cases, header)


def version(pyz: Path) -> str:
    """The version cynode.pyz was built with (its `cynode/__init__.py`, read from the archive)."""
    import zipfile  # pylint: disable=import-outside-toplevel

    with zipfile.ZipFile(pyz) as archive:
        text = archive.read("site-packages/cynode/__init__.py").decode()
    return text.split('__version__ = "', 1)[1].split('"', 1)[0]


def learned_output(case: Case, must_show: str) -> str:
    """What a command prints that holds server-made ids: run it once, check it shows `must_show`, and insist on
    exactly that output in every later run."""
    result = subprocess.run(case.argv, env=case.env, capture_output=True, text=True, check=False,
                            stdin=subprocess.DEVNULL)
    output = result.stdout.strip()
    if result.returncode != 0 or must_show not in output:
        raise BenchError(f"{case.name}: exit {result.returncode}, stdout {output[:300]!r} (expected it to show "
                         f"{must_show!r}), stderr {result.stderr.strip()!r}")
    return output


def _terminated(_signum, _frame):
    sys.exit(128 + signal.SIGTERM)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each command (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first (default 3)")
    parser.add_argument("--pyz", default=str(ROOT / "cynode.pyz"), help="the zipapp (default ./cynode.pyz)")
    parser.add_argument("--python", help="interpreter to run everything with (default: this one's real binary)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers to FILE as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be >= 1 and --warmup >= 0")
    signal.signal(signal.SIGTERM, _terminated)  # unwind, so the server is stopped and the temp dir removed
    try:
        with tempfile.TemporaryDirectory(prefix="cynode-bench-") as tmp:
            rows = run(args, Path(tmp))
    except BenchError as exc:
        print(f"cli_start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cli_start: interrupted", file=sys.stderr)
        return 130
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
