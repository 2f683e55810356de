"""`task artifacts get --out PATH`: the download streamed into a temp file beside PATH, then renamed over it, so
PATH is never a partial file (spec/cli.md §7.4.10). A local write failure is exit 8."""

import contextlib
import os
import tempfile

from cynode.cli.exits import CliError, ExitStatus, usage_error
from cynode.cli.gateway import pieces


def save(ctx, path: str, out: str, force: bool) -> None:
    """GET `path` into the file `out`; an existing `out` without `force` is a usage error, before any request."""
    if os.path.lexists(out) and not force:
        raise usage_error(f"{out} already exists (use --force)")
    response = ctx.gateway().call("GET", path, stream=True)
    directory = os.path.dirname(os.path.abspath(out))
    temp = None
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{os.path.basename(out)}.", suffix=".part",
                                         delete=False) as handle:
            temp = handle.name
            for chunk in pieces(response, "the download"):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), 0o666 & ~_umask())  # a temp file is 0600; the saved file is an ordinary one
        os.replace(temp, out)
        temp = None
    except OSError as exc:
        raise CliError(f"write {out}: {exc.strerror or exc}", ExitStatus.INTERNAL) from None
    finally:
        response.release_conn()
        if temp is not None:
            with contextlib.suppress(OSError):
                os.unlink(temp)


def _umask() -> int:
    mask = os.umask(0o022)  # the only way to read it is to set it
    os.umask(mask)
    return mask
