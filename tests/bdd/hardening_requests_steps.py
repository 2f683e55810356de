"""Steps for section 3 of the hardening feature: no request can exhaust the server.

Hostile requests go over real HTTP to a real `cynode serve`; what they cost is read from the server's
/proc/<pid>/status (VmRSS), as an operator would see it. Bounds are generous: they separate "bounded" from the
old behaviour (tens to hundreds of MiB kept), never measure time.
"""

import json
import re
import uuid

from pytest_bdd import parsers, then, when
from urllib3 import encode_multipart_formdata

from tests.bdd.task_steps_support import tasks_of, token_for


def resident_mib(world) -> float:
    """The server process's resident memory (VmRSS) in MiB."""
    with open(f"/proc/{world.server.process.pid}/status", encoding="ascii") as proc_status:
        status = proc_status.read()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1)) / 1024


def _measured(world, send) -> None:
    """Run `send()`, remembering the server's resident memory before and after it."""
    before = resident_mib(world)
    send()
    world.remembered["memory"] = (before, resident_mib(world))


def _send_as(world, handle: str, method: str, path: str, **kwargs):
    response = world.send(method, path, token=token_for(world.server, handle), **kwargs)
    if response.status == 201:
        tasks_of(world).add(response.json["id"], handle)
    return response


# --- multipart bodies -------------------------------------------------------------------------------------------


@when(parsers.re(r'"(?P<handle>[^"]+)" sends a multipart task of a request part and (?P<count>\d+) empty attachment '
                 r'parts'))
def _many_parts(world, handle, count):
    boundary = uuid.uuid4().hex
    request = (f'--{boundary}\r\nContent-Disposition: form-data; name="request"\r\n\r\n'
               '{"input_mode": "script", "prompt": "true"}\r\n').encode()
    empty = f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="a"\r\n\r\n\r\n'.encode()
    body = request + empty * int(count) + f"--{boundary}--\r\n".encode()
    token_for(world.server, handle)  # signed in before the measurement: a login's scrypt costs 32 MiB
    _measured(world, lambda: _send_as(world, handle, "POST", "/v1/tasks", body=body, headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"}))


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a multipart task whose request part is \'(?P<text>.*)\''))
def _multipart_request_text(world, handle, text):
    body, content_type = encode_multipart_formdata([("request", (None, text, "application/json"))])
    _send_as(world, handle, "POST", "/v1/tasks", body=body, headers={"Content-Type": content_type})


@when(parsers.re(r'"(?P<handle>[^"]+)" creates a commands task of (?P<count>\d+) commands of (?P<size>\d+) bytes '
                 r'each'))
def _big_commands(world, handle, count, size):
    commands = ["echo " + "a" * (int(size) - 5)] * int(count)
    _send_as(world, handle, "POST", "/v1/tasks", body={"input_mode": "commands", "prompt": "x", "commands": commands})


@when(parsers.re(r'"(?P<handle>[^"]+)" sends a JSON task body of (?P<mib>\d+) MiB'))
def _big_json(world, handle, mib):
    body = json.dumps({"input_mode": "script", "prompt": "true", "padding": "x" * (int(mib) << 20)})
    _send_as(world, handle, "POST", "/v1/tasks", body=body, headers={"Content-Type": "application/json"})


# --- logins -------------------------------------------------------------------------------------------------------


@when(parsers.re(r"(?P<count>\d+) failed logins with (?:other )?distinct (?P<mib>\d+) MB handles are sent"))
def _huge_handles(world, count, mib):
    def send():
        world.responses = []
        for _ in range(int(count)):
            handle = uuid.uuid4().hex + "h" * (int(mib) * 1000 * 1000)
            world.responses.append(world.send("POST", "/v1/auth/login", body={"handle": handle, "password": "x"}))

    _measured(world, send)


def _login_from(world, handle: str, password: str, address: str):
    return world.send("POST", "/v1/auth/login", body={"handle": handle, "password": password},
                      headers={"X-Forwarded-For": address})


@when(parsers.re(r'(?P<count>\d+) logins as "(?P<handle>[^"]+)" with a wrong password come from address '
                 r'"(?P<address>[^"]+)"'))
def _wrong_logins(world, count, handle, address):
    world.responses = [_login_from(world, handle, "not-the-password", address) for _ in range(int(count))]


@when(parsers.re(r'"(?P<handle>[^"]+)" logs in with the right password from address "(?P<address>[^"]+)"'))
def _right_login(world, handle, address):
    _login_from(world, handle, world.passwords[handle], address)


@then(parsers.re(r"the responses had the statuses (?P<statuses>\d+(?:, \d+)*)"))
def _statuses(world, statuses):
    assert [r.status for r in world.responses] == [int(s) for s in statuses.split(", ")], \
        [(r.status, r.body[:120]) for r in world.responses]


# --- memory and the log -------------------------------------------------------------------------------------------


@then(parsers.re(r"the server's resident memory grew by less than (?P<mib>\d+) MiB over that"))
def _memory_bounded(world, mib):
    before, after = world.remembered["memory"]
    assert after - before < int(mib), f"VmRSS {before:.1f} -> {after:.1f} MiB"


@then(parsers.re(r'no line of the server log starts with "(?P<text>[^"]+)"'))
def _no_line_starts(world, text):
    assert not [line for line in world.server.log().splitlines() if line.startswith(text)], world.server.log()
