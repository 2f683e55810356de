"""The streaming multipart reader: parts one at a time, counted as they come, memory bounded by the part limit."""

import io

import pytest

from cynode.server.errors import BadRequest
from cynode.server.multipart import MAX_HEADER_BYTES, SPOOL_BYTES, parts

CONTENT_TYPE = "multipart/form-data; boundary=b0und"


class CountingStream(io.BytesIO):
    """A request body that remembers how many bytes the reader took from it."""

    taken = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def read_all(raw: bytes, content_type: str = CONTENT_TYPE, max_parts: int = 17):
    stream = CountingStream(raw)
    found = [(part.name, part.filename, part.content_type, part.file.read())
             for part in parts(stream, len(raw), content_type, max_parts=max_parts, too_many="too many parts")]
    return found, stream


def refusal(raw: bytes, content_type: str = CONTENT_TYPE, max_parts: int = 17) -> str:
    with pytest.raises(BadRequest) as error:
        read_all(raw, content_type, max_parts)
    assert error.value.status == 400
    return error.value.detail


def field(name: str, value: bytes = b"") -> bytes:
    return b'--b0und\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value + b"\r\n"


END = b"--b0und--\r\n"


def test_fields_and_files_with_their_names_types_and_exact_bytes():
    raw = (b"a preamble line\r\n" + field("request", b'{"prompt": "x"}')
           + b'--b0und\r\nContent-Disposition: form-data; name="attachments"; filename="na\xc3\xafve.txt"\r\n'
             b"Content-Type: text/plain\r\n\r\nline 1\r\n--b0un not yet\r\n\r\n" + END + b"an epilogue")
    found, _ = read_all(raw)
    assert found == [("request", None, None, b'{"prompt": "x"}'),
                     ("attachments", "na\u00efve.txt", "text/plain", b"line 1\r\n--b0un not yet\r\n")]


def test_a_part_over_the_spool_size_comes_back_whole():
    big = bytes(range(256)) * (SPOOL_BYTES // 256 + 5)
    found, _ = read_all(field("attachments", big).replace(b'name="attachments"',
                                                          b'name="attachments"; filename="big.bin"') + END)
    assert found[0][3] == big


def test_the_first_part_past_the_limit_stops_the_reading():
    raw = field("request", b"{}") + field("attachments") * 150_000 + END  # ~9 MiB of empty parts
    stream = CountingStream(raw)
    reader = parts(stream, len(raw), CONTENT_TYPE, max_parts=17, too_many="attachments: at most 16 files")
    with pytest.raises(BadRequest) as error:
        list(reader)
    assert error.value.detail == "attachments: at most 16 files"
    assert stream.taken <= 128 * 1024 < len(raw)  # it stopped after 18 parts, in its second read


def test_transport_padding_after_a_boundary_is_allowed():
    found, _ = read_all(field("a").replace(b"--b0und\r\n", b"--b0und  \t\r\n") + END)
    assert found == [("a", None, None, b"")]


@pytest.mark.parametrize("raw, content_type, problem", [
    (b"", "multipart/form-data", "Content-Type needs a boundary of 1 to 70 ASCII characters"),
    (b"", "multipart/form-data; boundary=" + "x" * 71, "Content-Type needs a boundary of 1 to 70 ASCII characters"),
    (b"no boundary at all", CONTENT_TYPE, "unexpected end of body"),
    (field("a")[:-2], CONTENT_TYPE, "unexpected end of body"),
    (b"--b0und\r\nContent-Disposition: form-data; name=a\r\n", CONTENT_TYPE, "unexpected end of body"),
    (b"--b0undX\r\n\r\n\r\n" + END, CONTENT_TYPE, "a boundary must end its line"),
    (b"--b0und\r\nno colon here\r\n\r\n\r\n" + END, CONTENT_TYPE, "invalid part header"),
    (b"--b0und\r\nX: a\x01b\r\n\r\n\r\n" + END, CONTENT_TYPE, "invalid part header"),
    (b"--b0und\r\nX: \xff\r\n\r\n\r\n" + END, CONTENT_TYPE, "part headers are not UTF-8"),
    (b"--b0und\r\n\r\nbody\r\n" + END, CONTENT_TYPE, "a part needs a Content-Disposition of form-data with a name"),
    (b"--b0und\r\nContent-Disposition: attachment; name=a\r\n\r\n\r\n" + END, CONTENT_TYPE,
     "a part needs a Content-Disposition of form-data with a name"),
    (b"--b0und\r\n" + b"X-Filler: yes\r\n" * (MAX_HEADER_BYTES // 15 + 1) + b"\r\n\r\n" + END, CONTENT_TYPE,
     f"a part's header block exceeds {MAX_HEADER_BYTES} bytes"),
    (b"--b0und" + b" " * 300 + b"\r\n\r\n\r\n" + END, CONTENT_TYPE, "a boundary line exceeds 256 bytes"),
])
def test_malformed_bodies_are_a_400_naming_the_problem(raw, content_type, problem):
    assert refusal(raw, content_type) == f"malformed multipart body: {problem}"


def test_a_body_of_unknown_length_is_read_to_its_end():
    raw = field("a", b"x") + END
    found = [(p.name, p.file.read()) for p in parts(io.BytesIO(raw), -1, CONTENT_TYPE, max_parts=1, too_many="")]
    assert found == [("a", b"x")]
