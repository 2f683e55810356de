"""A streaming multipart/form-data reader (RFC 7578) that counts parts as it reads them.

bottle parses every part of a body on first access to its forms, so a body of 150,000 empty parts costs
~150 MiB and seconds of CPU before anyone can count them. This reader yields one part at a time and stops at
the first part past the caller's limit, before reading that part's headers. Memory stays bounded by the part
limit whatever the body holds: a part's header block is capped, and part bodies over 1 MiB spool to disk.
"""

import email.message
from dataclasses import dataclass, field
from tempfile import SpooledTemporaryFile

from cynode.server.errors import BadRequest

CHUNK_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024  # one part's header block; real ones are a few hundred bytes
SPOOL_BYTES = 1 << 20  # a part body past this moves from memory to a temp file
_PADDING_BYTES = 256  # what may follow a boundary on its line (RFC 2046 transport padding)


class MalformedMultipart(BadRequest):
    """400: the body is not multipart/form-data as its Content-Type says."""

    def __init__(self, problem: str):
        super().__init__(f"malformed multipart body: {problem}")


@dataclass
class Part:
    """One part: `filename` is None for a form field (no filename parameter), else a file as the client named it."""

    name: str
    filename: str | None
    content_type: str | None
    file: SpooledTemporaryFile = field(repr=False)

    @property
    def raw_filename(self) -> str | None:  # the name the upload code reads (as bottle's FileUpload has it)
        return self.filename


class _Buffer:
    """Reads of at most CHUNK_BYTES from a stream of known length; `data` is what is read but not yet consumed."""

    def __init__(self, stream, length: int):
        self.stream = stream
        self.left = length if length >= 0 else float("inf")  # unknown length (-1): read to the end of the stream
        self.data = b"\r\n"  # so the first boundary matches the delimiter's form "\r\n--boundary" too

    def fill(self) -> bool:
        """Read one more chunk; False at the end of the body."""
        chunk = self.stream.read(int(min(CHUNK_BYTES, self.left))) if self.left else b""
        if not chunk:
            self.left = 0
            return False
        self.left -= len(chunk)
        self.data += chunk
        return True

    def copy_until(self, delimiter: bytes, sink) -> None:
        """Pass everything before `delimiter` to `sink` (None drops it) and consume the delimiter."""
        while (index := self.data.find(delimiter)) < 0:
            keep = len(delimiter) - 1  # a delimiter may straddle two chunks
            if len(self.data) > keep:
                if sink is not None:
                    sink.write(self.data[:-keep])
                self.data = self.data[-keep:]
            if not self.fill():
                raise MalformedMultipart("unexpected end of body")
        if sink is not None:
            sink.write(self.data[:index])
        self.data = self.data[index + len(delimiter):]

    def take_through(self, marker: bytes, limit: int, what: str) -> bytes | None:
        """The bytes before `marker` (consumed with it); None when the body ends first; 400 past `limit` bytes."""
        while (index := self.data.find(marker)) < 0:
            if len(self.data) > limit:
                raise MalformedMultipart(f"{what} exceeds {limit} bytes")
            if not self.fill():
                return None
        if index > limit:
            raise MalformedMultipart(f"{what} exceeds {limit} bytes")
        taken, self.data = self.data[:index], self.data[index + len(marker):]
        return taken


def boundary_of(content_type: str) -> bytes:
    """The boundary parameter of a multipart Content-Type header; 400 when it is missing or invalid."""
    message = email.message.Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70 or not boundary.isascii():
        raise MalformedMultipart("Content-Type needs a boundary of 1 to 70 ASCII characters")
    return boundary.encode("ascii")


def _headers(block: bytes) -> dict[str, str]:
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMultipart("part headers are not UTF-8") from None
    headers: dict[str, str] = {}
    for line in text.split("\r\n") if text else ():
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or any(ord(c) < 32 and c != "\t" or c == "\x7f" for c in line):
            raise MalformedMultipart("invalid part header")
        headers[name.strip().lower()] = value.strip()
    return headers


def _part(block: bytes) -> Part:
    headers = _headers(block)
    disposition = email.message.Message()
    disposition["content-disposition"] = headers.get("content-disposition", "")
    name = disposition.get_param("name", header="content-disposition")
    if disposition.get_content_disposition() != "form-data" or not isinstance(name, str):
        raise MalformedMultipart("a part needs a Content-Disposition of form-data with a name")
    return Part(name, disposition.get_filename(), headers.get("content-type"),
                SpooledTemporaryFile(max_size=SPOOL_BYTES))  # pylint: disable=consider-using-with  # kept by caller


def parts(stream, length: int, content_type: str, *, max_parts: int, too_many: str):
    """Yield the parts of a multipart body one by one; 400 `too_many` at the first part past `max_parts`.

    Each part's file is rewound and ready to read. The preamble and epilogue are ignored (RFC 2046 5.1.1).
    """
    delimiter = b"\r\n--" + boundary_of(content_type)
    buffer = _Buffer(stream, length)
    buffer.copy_until(delimiter, None)  # the preamble
    count = 0
    while True:
        while len(buffer.data) < 2 and buffer.fill():
            pass
        if buffer.data.startswith(b"--"):
            return  # the close delimiter; what follows is the epilogue, never read
        padding = buffer.take_through(b"\r\n", _PADDING_BYTES, "a boundary line")
        if padding is None or padding.strip(b" \t"):
            raise MalformedMultipart("a boundary must end its line")
        count += 1
        if count > max_parts:
            raise BadRequest(too_many)
        buffer.data = b"\r\n" + buffer.data  # the header block ends at the first empty line, maybe at once
        block = buffer.take_through(b"\r\n\r\n", MAX_HEADER_BYTES, "a part's header block")
        if block is None:
            raise MalformedMultipart("unexpected end of body")
        part = _part(block[2:])
        buffer.copy_until(delimiter, part.file)
        part.file.seek(0)
        yield part
