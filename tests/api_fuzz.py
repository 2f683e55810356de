"""Run schemathesis against a live `cynode serve` with its own OpenAPI document.

Fails on any 5xx, any response that breaks the document, and any schema-valid request the server rejects.
Usage: python tests/api_fuzz.py [--examples N]
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

PASSWORD = "fuzz-admin-password"
# Routes that end the fuzzer's own session would turn the rest of the run into 401s.
EXCLUDED = ["--exclude-path", "/v1/auth/logout", "--exclude-path", "/v1/users/{ref}/revoke_sessions",
            "--exclude-path", "/v1/users/{ref}/disable"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc) -> None:
    for _ in range(150):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not come up")


def _token(url: str) -> str:
    request = urllib.request.Request(url + "/v1/auth/login", method="POST",
                                     data=json.dumps({"handle": "admin", "password": PASSWORD}).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["access_token"]


def main(argv: list[str]) -> int:
    examples = argv[argv.index("--examples") + 1] if "--examples" in argv else "25"
    url = f"http://127.0.0.1:{_free_port()}"
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "CYNODE_ADMIN_PASSWORD": PASSWORD, "CYNODE_LOGIN_LIMIT_PER_IP": "100000",
               "CYNODE_JOB_DEFAULT_TIMEOUT_SECONDS": "5"}
        with open(os.path.join(data, "server.log"), "w", encoding="utf-8") as log:
            with subprocess.Popen([sys.executable, "-m", "cynode", "serve", "--listen", url[7:], "--data-dir",
                                   data], env=env, stderr=log) as server:
                try:
                    _wait(url, server)
                    command = [os.path.join(os.path.dirname(sys.executable), "st"), "run", url + "/openapi.json",
                               "-H", f"Authorization: Bearer {_token(url)}", "-n", examples, *EXCLUDED]
                    code = subprocess.run(command, check=False).returncode
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        if code:
            with open(os.path.join(data, "server.log"), encoding="utf-8") as log:
                print("server errors:\n" + "".join(line for line in log if "INFO" not in line)[-6000:])
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
