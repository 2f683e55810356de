"""`task create --attach`: a multipart/form-data body (design.md, "attachments") streamed from disk.

The body is a `request` JSON part, then one `attachments` file part per file. Its exact length is known up front
from the checked file sizes, so it goes out with a Content-Length (no chunked encoding) as chunks of at most
CHUNK_BYTES read while sending: sixteen 10 MiB files never sit in memory at once. A file whose size changed since
it was checked fails the upload before the body is complete, so the server never accepts a wrong length.
"""

import json
import os
import secrets
from urllib.parse import quote

from cynode.cli.exits import usage_error
from cynode.cli.taskinput import open_checked
from cynode.contract import MAX_ATTACHMENT_BYTES

CHUNK_BYTES = 64 * 1024


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _filename(name: str) -> str:
    """The filename parameter: quoted when plain printable ASCII, else RFC 5987/2231 `filename*` in UTF-8 (a CR,
    LF or quote in a name can then never break the part's header)."""
    if name.isascii() and name.isprintable():
        return f"filename={_quoted(name)}"
    return "filename*=UTF-8''" + quote(name, safe="")


class Multipart:
    """The body for `request` (a dict) and `files` (taskinput.Attachment): `headers`, and `chunks()` per send."""

    def __init__(self, request: dict, files: list):
        self.boundary = "cynode-" + secrets.token_hex(16)
        self.head = (self._part_head('name="request"', "application/json", first=True)
                     + json.dumps(request, ensure_ascii=False).encode("utf-8"))
        self.files = [(item, self._part_head(f'name="attachments"; {_filename(item.name)}', item.content_type))
                      for item in files]
        self.tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        self.length = (len(self.head) + sum(len(head) + item.size for item, head in self.files) + len(self.tail))

    def _part_head(self, disposition: str, content_type: str, first: bool = False) -> bytes:
        """A part's opening: the delimiter (which ends the previous part's content), then the part's headers."""
        lead = "" if first else "\r\n"
        return (f"{lead}--{self.boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
                f"Content-Type: {content_type}\r\n\r\n").encode("utf-8")

    @property
    def headers(self) -> dict:
        return {"Content-Type": f"multipart/form-data; boundary={self.boundary}", "Content-Length": str(self.length)}

    def chunks(self):
        """The body, produced as it is sent; each call starts over (a retry sends it all again)."""
        for at in range(0, len(self.head), CHUNK_BYTES):  # a task file's JSON may be a megabyte
            yield self.head[at:at + CHUNK_BYTES]
        for item, head in self.files:
            yield head
            yield from _file_chunks(item)
        yield self.tail


def _file_chunks(item):
    """The file's bytes, exactly `item.size` of them; a usage error as soon as the file is seen to differ."""
    with open_checked(item.path, "attachment", MAX_ATTACHMENT_BYTES) as handle:
        if os.fstat(handle.fileno()).st_size != item.size:
            raise _changed(item)
        left = item.size
        while left:
            chunk = _read(handle, item.path, min(CHUNK_BYTES, left))
            if not chunk:
                raise _changed(item)
            left -= len(chunk)
            yield chunk
        if _read(handle, item.path, 1):  # grew while being sent
            raise _changed(item)


def _changed(item):
    return usage_error(f'attachment "{item.path}" changed size since it was checked ({item.size} bytes)')


def _read(handle, path: str, size: int) -> bytes:
    try:
        return handle.read(size)
    except OSError as exc:
        raise usage_error(f'path "{path}": cannot be read: {exc.strerror or exc}') from None
