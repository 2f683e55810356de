"""The streamed multipart body of `task create --attach`: the server's own parser reads it back exactly, it is
produced lazily in small chunks, and a file that changed size since its check fails the upload."""

import io
import json
import os
import tracemalloc

import pytest

from cynode.cli.exits import CliError, ExitStatus
from cynode.cli.gateway import Gateway, Raw
from cynode.cli.taskinput import attachment
from cynode.cli.upload import CHUNK_BYTES, Multipart
from cynode.server import multipart

REQUEST = {"prompt": "cat attachments/*", "input_mode": "commands", "commands": ["cat attachments/*"]}


def _file(tmp_path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _parse(body: Multipart) -> list:
    data = b"".join(body.chunks())
    assert len(data) == body.length == int(body.headers["Content-Length"])
    parts = multipart.parts(io.BytesIO(data), len(data), body.headers["Content-Type"], max_parts=20, too_many="!")
    return [(part.name, part.filename, part.content_type, part.file.read()) for part in parts]


def test_the_server_reads_back_the_request_and_every_file(tmp_path):
    names = ["a.txt", "data.bin", "naïve \"quoted\"\\.json", "line\nbreak.png"]
    payloads = [b"hello\n", bytes(range(256)) * 3, b"{}", b"\r\n--not-a-boundary\r\n"]
    files = [attachment(_file(tmp_path, name, data)) for name, data in zip(names, payloads)]
    body = Multipart(REQUEST, files)
    assert body.headers["Content-Type"] == f"multipart/form-data; boundary={body.boundary}"
    assert _parse(body) == [("request", None, "application/json", json.dumps(REQUEST).encode())] + [
        ("attachments", name, kind, data)
        for name, kind, data in zip(names, ["text/plain", "application/octet-stream", "application/json",
                                            "image/png"], payloads)]


def test_each_send_starts_over(tmp_path):
    body = Multipart(REQUEST, [attachment(_file(tmp_path, "a.txt", b"x" * 100))])
    assert b"".join(body.chunks()) == b"".join(body.chunks())


def test_chunks_are_small_and_files_are_read_only_when_their_part_is_sent(tmp_path):
    big = attachment(_file(tmp_path, "big.bin", os.urandom(3 * CHUNK_BYTES + 5)))
    late = attachment(_file(tmp_path, "late.bin", b"12345"))
    body = Multipart({"prompt": "p" * (1 << 20), "input_mode": "prompt"}, [big, late])
    chunks = body.chunks()
    first = [next(chunks) for _ in range(20)]  # the 1 MiB request part and the start of big.bin
    with open(late.path, "ab") as handle:  # changed after the check, before its part: seen when it is reached
        handle.write(b"6")
    rest = []
    with pytest.raises(CliError) as failure:
        for chunk in chunks:
            rest.append(chunk)
    assert max(len(chunk) for chunk in first + rest) <= CHUNK_BYTES
    assert b"".join(first + rest).endswith(b'filename="late.bin"\r\nContent-Type: application/octet-stream\r\n\r\n')
    assert (failure.value.status, failure.value.message) == (
        ExitStatus.USAGE, f'attachment "{late.path}" changed size since it was checked (5 bytes)')


def test_a_ten_mebibyte_file_never_sits_in_memory(tmp_path):
    body = Multipart(REQUEST, [attachment(_file(tmp_path, "ten.bin", os.urandom(10 << 20)))])
    tracemalloc.start()
    try:
        sent = sum(len(chunk) for chunk in body.chunks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sent == body.length
    assert peak < 4 * CHUNK_BYTES, peak


@pytest.mark.parametrize("change", ["shrink", "grow while sending", "swap for a symlink"])
def test_a_file_changed_since_its_check_fails_before_the_body_is_complete(tmp_path, change):
    path = _file(tmp_path, "a.bin", b"a" * (2 * CHUNK_BYTES))
    body = Multipart(REQUEST, [attachment(path)])
    if change == "shrink":
        os.truncate(path, CHUNK_BYTES)
    elif change == "swap for a symlink":
        os.replace(_file(tmp_path, "b.bin", b"b" * (2 * CHUNK_BYTES)), tmp_path / "b2.bin")
        os.unlink(path)
        os.symlink(tmp_path / "b2.bin", path)
    sent = b""
    with pytest.raises(CliError) as failure:
        for chunk in body.chunks():
            sent += chunk
            if change == "grow while sending" and len(sent) > CHUNK_BYTES:
                with open(path, "ab") as handle:
                    handle.write(b"more")
    assert failure.value.status == ExitStatus.USAGE
    assert not sent.endswith(f"--{body.boundary}--\r\n".encode()) and len(sent) < body.length


def test_a_changed_file_fails_the_request_and_no_task_is_created(tmp_path, server):
    token = server.session().access
    path = _file(tmp_path, "a.txt", b"abc")
    body = Multipart(REQUEST, [attachment(path)])
    with open(path, "ab") as handle:
        handle.write(b"d")
    with pytest.raises(CliError) as failure:
        Gateway(server.url).json("POST", "/v1/tasks", body=Raw(body.headers, body.chunks), auth=token)
    assert failure.value.status == ExitStatus.USAGE
    assert Gateway(server.url).json("GET", "/v1/tasks", auth=token)["tasks"] == []
    os.truncate(path, 3)  # as checked again: the same body now goes through
    task = Gateway(server.url).json("POST", "/v1/tasks", body=Raw(body.headers, body.chunks), auth=token)
    assert task["attachments"] == ["attachments/a.txt"]
