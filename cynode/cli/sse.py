"""Server-sent events from a streamed body, and the answer inside OpenAI `chat.completion.chunk` events.

Works on any iterable of byte chunks, cut anywhere (mid-line, mid-`\\r\\n`, mid-UTF-8 character): no HTTP here.
"""

import json
import re

from cynode.cli.exits import CliError, ExitStatus

LINE_END = re.compile(rb"\r\n|\r|\n")
MAX_LINE = 4 * 1024 * 1024  # a line this long is not an event a gateway sends: stop before memory runs out
DONE = "[DONE]"
BOM = b"\xef\xbb\xbf"


def lines(chunks):
    """Each whole line of the body, without its end (\r\n, \n or \r, which may be cut across two chunks)."""
    buffer, first = b"", True
    for chunk in chunks:
        buffer += chunk
        if first:  # a byte order mark may open the stream: wait until it is clear whether this one does
            if BOM.startswith(buffer):
                continue
            buffer, first = buffer.removeprefix(BOM), False
        held = buffer.endswith(b"\r")  # maybe the first half of \r\n: decide when the next chunk comes
        *whole, buffer = LINE_END.split(buffer[:-1] if held else buffer)
        buffer += b"\r" if held else b""
        if len(buffer) > MAX_LINE:
            raise CliError("the gateway sent an answer line too long to be an event", ExitStatus.GATEWAY)
        yield from whole
    if buffer.endswith(b"\r"):  # the body's last line end was a lone \r after all
        yield buffer[:-1]


def events(chunks):
    """The `data` of each event, as text (several data lines joined by newlines). Comments and other fields are
    skipped; an event left without its closing blank line at the end of the body is dropped (as the SSE
    standard says), so a cut stream never yields half an event."""
    data = None
    for raw in lines(chunks):
        # Line ends are ASCII and never inside a UTF-8 sequence, so a whole line always decodes.
        line = raw.decode("utf-8", "replace")
        if not line:
            if data is not None:
                yield "\n".join(data)
            data = None
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            if field == "data":
                data = [*(data or []), value[1:] if value.startswith(" ") else value]


def _error_message(error) -> str:
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return error if isinstance(error, str) else "the gateway reported an error"


def _content(chunk) -> str:
    """The text a chunk adds ("" for a chunk that carries none, like the role-only or final one)."""
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    if not isinstance(choices, list):
        raise ValueError("no choices")
    if not choices:
        return ""  # e.g. a usage-only chunk
    delta = choices[0].get("delta") if isinstance(choices[0], dict) else None
    content = delta.get("content") if isinstance(delta, dict) else None
    if not isinstance(delta, dict) or not isinstance(content, (str, type(None))):
        raise ValueError("no delta")
    return content or ""


def answer_pieces(payloads):
    """The answer's text, piece by piece, from the events of a streamed chat completion. An error event, an event
    that is not a completion chunk, or a stream that ends before `[DONE]` raise CliError (exit 7)."""
    for payload in payloads:
        if payload == DONE:
            return
        try:
            chunk = json.loads(payload)
            if isinstance(chunk, dict) and "error" in chunk:
                raise CliError(f"the answer broke off: {_error_message(chunk['error'])}", ExitStatus.GATEWAY)
            piece = _content(chunk)
        except ValueError:
            raise CliError("the gateway sent a piece of the answer that is not a completion chunk",
                           ExitStatus.GATEWAY) from None
        if piece:
            yield piece
    raise CliError("the answer broke off: the stream ended before the gateway said it was done", ExitStatus.GATEWAY)
