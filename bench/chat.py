#!/usr/bin/env python3
"""Chat bench: what the gateway adds to a streamed answer, against the backend called directly (issue 8, "Bench").

  python -m bench.chat [--runs N] [--tokens N] [--apis ollama,openai] [--json FILE]

A fake backend (tests/fakes/inference.py, the real Ollama and OpenAI wire formats) streams an answer of N words
(200 by default) as fast as it can. Each round, interleaved: one streamed request straight to the backend in its
own API (the floor) and one `POST /v1/chat/completions` with `stream: true` through a real `cynode serve` (from
this tree, real interpreter, its own temp data dir and free loopback port, stopped with SIGTERM on the way out).
Both are timed the same way, from sending the request: to the first byte of the first answer chunk, and to the
end of the answer. The target: under 10 ms added at the median, for both.

Prints metric, value, floor, added, target and PASS/MISS. It reports; it exits non-zero only when something
could not run.
"""

import argparse
import http.client
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this tree's cynode and its test fake, also from a plain clone

# pylint: disable=wrong-import-position
from bench.common import child_env, free_port
from tests.fakes.inference import FakeInference

TARGET_MS = 10.0
PASSWORD = "bench-admin-password-1"
CHAT_PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions"}


def timed_stream(port: int, path: str, body: dict, token: str | None = None) -> tuple[float, float, int]:
    """(ms to the first body byte, ms to the end, body bytes) of one streamed POST on a fresh connection."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        first = response.read1(65536)
        first_at = time.perf_counter()
        size = len(first)
        while chunk := response.read1(65536):
            size += len(chunk)
        ended = time.perf_counter()
        if response.status != 200 or not first:
            raise RuntimeError(f"POST {path} -> {response.status}: {first[:200]!r}")
        return (first_at - started) * 1000, (ended - started) * 1000, size
    finally:
        conn.close()


class Gateway:
    """`cynode serve` on a free port with the fake as its backend."""

    def __init__(self, fake_url: str, api: str, workdir: Path):
        self.port = free_port()
        env = child_env(CYNODE_ADMIN_PASSWORD=PASSWORD, CYNODE_INFERENCE_URL=fake_url, CYNODE_INFERENCE_API=api,
                        CYNODE_INFERENCE_MODEL="fake-model", CYNODE_WORKERS="0")
        self.log = open(workdir / f"server-{api}.log", "wb")  # pylint: disable=consider-using-with
        self.process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-m", "cynode", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(workdir / api)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.token = self._login()

    def _login(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/v1/auth/login", body=json.dumps({"handle": "admin", "password": PASSWORD}),
                             headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                if response.status == 200:
                    return json.loads(response.read())["access_token"]
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"cynode serve exited with {self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("cynode serve did not come up within 30 s")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def rounds(api: str, runs: int, tokens: int, workdir: Path) -> tuple[list, list]:
    """(direct, through the gateway) timings, interleaved round by round after a warm-up of both paths."""
    body = {"model": "fake-model", "messages": [{"role": "user", "content": f"[[tokens {tokens}]]"}], "stream": True}
    with FakeInference(model="fake-model") as fake:
        gateway = Gateway(fake.url, api, workdir)
        try:
            fake_port = int(fake.url.rsplit(":", 1)[1])
            direct, through = [], []
            for _ in range(runs + 3):
                direct.append(timed_stream(fake_port, CHAT_PATHS[api], body))
                through.append(timed_stream(gateway.port, "/v1/chat/completions", body, gateway.token))
        finally:
            gateway.stop()
    return direct[3:], through[3:]  # the first 3 rounds warm both paths (imports, connection pools)


def measure(api: str, runs: int, tokens: int, workdir: Path) -> list[dict]:
    direct, through = rounds(api, runs, tokens, workdir)
    rows = []
    for index, name in ((0, "time to first streamed byte"), (1, f"total time, {tokens}-word answer")):
        value = statistics.median(t[index] for t in through)
        floor = statistics.median(t[index] for t in direct)
        rows.append({"metric": f"{api}: {name} (median ms)", "value": value, "floor": floor,
                     "added": value - floor, "target": f"< {TARGET_MS:g} ms added"})
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--apis", default="ollama,openai")
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="cynode-bench-chat-") as tmp:
        for api in args.apis.split(","):
            rows += measure(api, args.runs, args.tokens, Path(tmp))
    print(f"{'metric':<52} {'value':>9} {'floor':>9} {'added':>9}  target")
    for row in rows:
        verdict = "PASS" if row["added"] < TARGET_MS else "MISS"
        print(f"{row['metric']:<52} {row['value']:>9.2f} {row['floor']:>9.2f} {row['added']:>9.2f}  "
              f"{row['target']} {verdict}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
