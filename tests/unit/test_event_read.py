"""The one reader of ``events.jsonl``: complete lines only while a log grows, the cut last line on a
final read, damaged lines skipped and counted, chunk boundaries anywhere in a line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monerosim_actors.events import read
from monerosim_actors.events.read import LogReader, decode_lines, is_event, read_events


def line(n: int, **fields: object) -> str:
    return json.dumps({"t": float(n), "host": "h", "actor": "a", "event": "tick", "n": n, **fields}) + "\n"


def test_a_growing_log_is_read_one_complete_line_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    reader = LogReader(path)
    with pytest.raises(FileNotFoundError):
        reader.read()
    path.write_text(line(0) + line(1)[:10])
    assert [e["n"] for e in reader.read()] == [0]
    assert reader.read() == []
    with path.open("a") as f:
        f.write(line(1)[10:] + line(2))
    assert [e["n"] for e in reader.read()] == [1, 2]
    assert (reader.events, reader.bad_lines, reader.torn) == (3, 0, False)
    assert reader.offset == path.stat().st_size


def test_a_final_read_decodes_the_cut_last_line_and_marks_the_log_torn(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(line(0) + line(1).rstrip("\n"))
    reader = LogReader(path)
    assert [e["n"] for e in reader.read(final=True)] == [0, 1]
    assert reader.torn and reader.bad_lines == 0
    path.write_text(line(0) + line(1)[:12])
    assert read_events(path) == [json.loads(line(0))]
    cut = LogReader(path)
    cut.read(final=True)
    assert (cut.events, cut.bad_lines, cut.torn) == (1, 1, True)


def test_an_event_glued_to_a_torn_line_by_an_older_writer_is_read(tmp_path: Path) -> None:
    """Before the writer ended a torn line on restart, the restarted host's first event was appended
    to it: that event is whole and is read; a line with no whole event at its end is still skipped."""
    path = tmp_path / "events.jsonl"
    nested = json.dumps({"t": 3, "event": "x", "inner": {"t": 4}})
    path.write_text(line(0) + line(1)[:12] + line(2) + nested[:30] + nested + "\n" + '{"t": 5, "ev{"t": 6}\n')
    reader = LogReader(path)
    assert [e["t"] for e in reader.read(final=True)] == [0, 2, 3]
    assert (reader.events, reader.bad_lines, reader.torn) == (3, 1, False)


def test_what_is_not_an_event_is_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"garbage\n[1, 2]\n\n   \n" + line(0).encode() + b'{"event": "no_time"}\n'
                     b'{"t": "7", "event": "x"}\n{"t": 1, "event": 3}\n\x00\xff\n' + line(1).encode())
    reader = LogReader(path)
    assert [e["n"] for e in reader.read(final=True)] == [0, 1]
    assert (reader.events, reader.bad_lines, reader.torn) == (2, 6, False)


@pytest.mark.parametrize("chunk_bytes", [7, 50, 97, 10_000])
def test_chunks_split_lines_anywhere_and_lose_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   chunk_bytes: int) -> None:
    monkeypatch.setattr(read, "CHUNK_BYTES", chunk_bytes)
    lines = [line(i, pad="x" * (i * 13 % 90)) for i in range(40)]
    lines[17] = lines[17][:20] + "\n"  # damaged in the middle
    path = tmp_path / "events.jsonl"
    path.write_text("".join(lines))
    reader = LogReader(path)
    chunks = list(reader.chunks(final=True))
    assert [e["n"] for chunk in chunks for e in chunk] == [i for i in range(40) if i != 17]
    assert (reader.events, reader.bad_lines) == (39, 1)
    assert len(chunks) > 1 or chunk_bytes > path.stat().st_size


def test_decoding_a_chunk_with_a_damaged_line_falls_back_to_line_by_line() -> None:
    assert decode_lines([b'{"a": 1}', b"1, 2", b"[3]"]) == [{"a": 1}, None, [3]]
    assert decode_lines([]) == []


def test_an_event_is_an_object_with_a_string_event_and_a_number_t() -> None:
    assert is_event({"t": 1, "event": "x"}) and is_event({"t": 1.5, "event": "x"})
    assert not any(is_event(v) for v in ({"t": True, "event": "x"}, {"t": 1}, {"event": "x"}, [1], None))
