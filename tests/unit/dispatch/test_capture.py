"""Output capture: the cap, UTF-8-safe cuts, and draining pipes."""

import os

import pytest

from cynode.dispatch.capture import CappedFile, Pump, utf8_cut

EURO = "€".encode()  # 3 bytes
FACE = "😀".encode()  # 4 bytes


@pytest.mark.parametrize("data, limit, cut", [
    (b"abcdef", 3, 3),
    (b"ab" + EURO + b"z", 2, 2),
    (b"ab" + EURO + b"z", 3, 2),
    (b"ab" + EURO + b"z", 4, 2),
    (b"ab" + EURO + b"z", 5, 5),
    (FACE + b"z", 3, 0),
    (FACE + FACE, 4, 4),
    (b"\x80\x80\x80\x80\x80", 4, 4),  # not UTF-8: cut where asked
    (b"\x80" + EURO, 2, 1),
])
def test_utf8_cut(data, limit, cut):
    assert utf8_cut(data, limit) == cut


def test_capped_file_keeps_the_prefix_and_nothing_after_a_cut(tmp_path):
    sink = CappedFile(tmp_path / "out", 10)
    for chunk in (b"12345678", EURO, b"9", b"x"):  # the euro would straddle the cap: dropped, and so is the rest
        sink.write(chunk)
    sink.close()
    assert (tmp_path / "out").read_bytes() == b"12345678" and sink.truncated


def test_capped_file_exactly_at_the_cap_is_not_truncated(tmp_path):
    sink = CappedFile(tmp_path / "out", 4)
    sink.write(b"1234")
    sink.write(b"")
    sink.close()
    assert (tmp_path / "out").read_bytes() == b"1234" and not sink.truncated


def test_pump_copies_until_eof_and_close_releases_a_held_pipe(tmp_path):
    (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
    sinks = CappedFile(tmp_path / "out", 100), CappedFile(tmp_path / "err", 100)
    pump = Pump({out_r: sinks[0], err_r: sinks[1]})
    os.write(out_w, b"hello")
    os.close(out_w)
    for _ in range(3):
        pump.pump(0.1)
    assert pump.is_open  # stderr still open
    assert (tmp_path / "out").read_bytes() == b"hello"
    pump.close()
    assert not pump.is_open
    with pytest.raises(BrokenPipeError):
        os.write(err_w, b"late")
    os.close(err_w)
    for sink in sinks:
        sink.close()
