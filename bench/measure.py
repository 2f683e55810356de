"""What the task benches share (bench/tasks.py, bench/scaleout.py): the report table, percentiles, process
readings and a keep-alive loopback HTTP client."""

import http.client
import json
import os
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path


class BenchError(Exception):
    """Something the bench needs could not be set up or did not run as expected."""


# report -------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table. ratio = value / floor; target = (">=" or "<=", limit on the ratio)."""

    metric: str
    value: float
    unit: str
    floor: float | None = None
    target: tuple[str, float] | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor if self.floor else None

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return "info"
        op, limit = self.target
        return "PASS" if (self.ratio <= limit if op == "<=" else self.ratio >= limit) else "MISS"


@dataclass
class Report:
    """The table rows, notes printed as they come, and what could not run."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, *rows: Row) -> None:
        self.rows.extend(rows)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  - {text}", flush=True)

    def print(self) -> None:
        head = f"{'metric':<64} {'value':>12} {'floor':>12} {'ratio':>7} {'target':>7}  result"
        print("\n" + head + "\n" + "-" * len(head))
        for row in self.rows:
            floor = _fmt(row.floor, row.unit) if row.floor is not None else "-"
            ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "-"
            target = f"{row.target[0]}{row.target[1]:g}x" if row.target else "-"
            print(f"{row.metric:<64} {_fmt(row.value, row.unit):>12} {floor:>12} {ratio:>7} {target:>7}  {row.verdict}")
        for title, items in (("notes", self.notes), ("errors (could not run)", self.errors)):
            if items:
                print(f"\n{title}:\n" + "\n".join(f"  - {item}" for item in items))

    def as_json(self) -> dict:
        rows = [{**asdict(row), "ratio": row.ratio, "verdict": row.verdict} for row in self.rows]
        return {"rows": rows, "notes": self.notes, "errors": self.errors}


def _fmt(value: float, unit: str) -> str:
    return f"{value:.2f} {unit}" if unit == "ms" else f"{value:.1f} {unit}"


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def pct_ms(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile, in ms."""
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))] * 1000


# processes and HTTP -------------------------------------------------------------------------------------------


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a live process, in KiB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text("ascii").splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def descendants_pss_kib(pid: int) -> int:
    """Proportional set size (shared pages split among their sharers) of every live descendant of `pid`, in KiB:
    a server's job fork server and its spare children, whose pages are mostly shared with one another."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = _stat_cpu(int(entry.name))[0]
            except OSError:
                continue  # gone meanwhile
    found, total = {pid}, 0
    grew = True
    while grew:
        grew = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                grew = True
    for child in found - {pid}:
        try:
            for line in Path(f"/proc/{child}/smaps_rollup").read_text("ascii").splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _stat_cpu(pid: int) -> tuple[int, int, int]:
    """(parent pid, own CPU ticks, reaped children's CPU ticks) from /proc/<pid>/stat."""
    fields_ = Path(f"/proc/{pid}/stat").read_text("ascii").rpartition(")")[2].split()
    return int(fields_[1]), int(fields_[11]) + int(fields_[12]), int(fields_[13]) + int(fields_[14])


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds of the process and of its live children, of the children they reaped), user + system.

    The live children are the job fork servers: their own CPU is the server's work of starting jobs, and the
    jobs are theirs to reap."""
    _parent, own, reaped = _stat_cpu(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(pid):
            try:
                parent, child_own, child_reaped = _stat_cpu(int(entry.name))
            except OSError:
                continue  # gone meanwhile
            if parent == pid:
                own, reaped = own + child_own, reaped + child_reaped
    ticks = os.sysconf("SC_CLK_TCK")
    return own / ticks, reaped / ticks


class Client:
    """One keep-alive HTTP/1.1 connection to a loopback server, sending the bearer token when it has one."""

    def __init__(self, port: int, token: str = ""):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            raise BenchError(f"{method} {path}: {type(exc).__name__}: {exc}") from None

    def json(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        status, raw = self.call(method, path, body)
        if status != expect:
            raise BenchError(f"{method} {path}: HTTP {status} (expected {expect}): {raw[:200]!r}")
        return json.loads(raw)

    def close(self) -> None:
        self.conn.close()
