"""Run schemathesis against a live `cynode serve` with its own OpenAPI document.

Fails on any 5xx, any response that breaks the document, and any schema-valid request the server rejects.
Usage: python -m tests.api_fuzz [--examples N]
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.bdd.harness import Server

CONFIG = Path(__file__).with_name("api") / "schemathesis.toml"
# Routes that end the fuzzer's own session would turn the rest of the run into 401s.
EXCLUDED = ["--exclude-path", "/v1/auth/logout", "--exclude-path", "/v1/users/{ref}/revoke_sessions",
            "--exclude-path", "/v1/users/{ref}/disable"]


def main(argv: list[str]) -> int:
    examples = argv[argv.index("--examples") + 1] if "--examples" in argv else "25"
    with tempfile.TemporaryDirectory() as data:
        server = Server(Path(data), settings={"CYNODE_LOGIN_LIMIT_PER_IP": "100000",
                                              "CYNODE_JOB_DEFAULT_TIMEOUT_SECONDS": "5"}).start()
        try:
            command = [os.path.join(os.path.dirname(sys.executable), "st"), "--config-file", str(CONFIG), "run",
                       server.url + "/openapi.json",
                       "-H", f"Authorization: Bearer {server.admin_token()}", "-n", examples, *EXCLUDED]
            code = subprocess.run(command, check=False).returncode
        finally:
            server.stop()
        if code:
            print("server errors:\n" + "".join(line for line in server.log().splitlines(keepends=True)
                                               if "INFO" not in line)[-6000:])
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
