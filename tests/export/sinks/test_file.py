"""File sink: lines on disk after send, size rotation with `keep`, a restart appends, torn lines, refusals."""

from __future__ import annotations

from pathlib import Path

from signwatch.export.sinks import Record, open_sink
from tests.export.sinks.conftest import fails, records, run, send_all


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def fixed(count: int) -> list[Record]:
    """Records whose lines all have the same length (11 bytes with the newline)."""
    return [Record(seq=n, id=f"ev_{n}", tenant="acme", line=b"line-%05d" % n) for n in range(1, count + 1)]


def test_send_appends_one_line_per_record_and_it_is_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "events.ndjson"
    batch = records(3)
    sink = open_sink(f"file://{path}")
    assert sink.name == f"file://{path}"

    async def go() -> None:
        await sink.open()
        await sink.send(batch)
        # read through a separate handle while the sink still holds the file: the bytes were written and flushed
        assert lines(path) == [r.line for r in batch]
        await sink.send([])
        await sink.close()

    run(go())
    assert path.read_bytes().endswith(b"\n")
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_restarted_sink_appends_to_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    first, second = records(2), records(2, start=3)
    run(send_all(open_sink(f"file://{path}"), first))
    run(send_all(open_sink(f"file://{path}"), second))
    assert lines(path) == [r.line for r in first + second]


def test_a_line_torn_by_a_crash_is_closed_before_appending(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    path.write_bytes(b'{"id":"ev_1"}\n{"id":"ev_2", "tor')
    batch = records(1, start=3)
    run(send_all(open_sink(f"file://{path}"), batch))
    assert lines(path) == [b'{"id":"ev_1"}', b'{"id":"ev_2", "tor', batch[0].line]


def test_rotation_by_size_keeps_n_files_and_never_splits_a_line(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    batch = fixed(40)
    size = 11
    sink = open_sink(f"file://{path}?max_bytes={size * 5}&keep=3")
    run(send_all(sink, batch[:17], batch[17:]))

    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["events.ndjson", "events.ndjson.1", "events.ndjson.2", "events.ndjson.3"]
    # oldest first, the kept files hold the newest records in order, five per full file
    kept = [*lines(path.with_name("events.ndjson.3")), *lines(path.with_name("events.ndjson.2"))]
    kept += [*lines(path.with_name("events.ndjson.1")), *lines(path)]
    assert kept == [r.line for r in batch[-len(kept) :]]
    assert all(p.stat().st_size <= size * 5 for p in tmp_path.iterdir())
    assert len(lines(path.with_name("events.ndjson.1"))) == 5


def test_keep_zero_drops_the_full_file(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    batch = fixed(4)
    size = 11
    run(send_all(open_sink(f"file://{path}?max_bytes={size * 2}&keep=0"), batch))
    assert [p.name for p in tmp_path.iterdir()] == ["events.ndjson"]
    assert lines(path) == [r.line for r in batch[2:]]


def test_a_record_larger_than_max_bytes_still_goes_into_a_file_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "events.ndjson"
    small, big = records(1)[0], Record(seq=2, id="ev_big", tenant="acme", line=b"x" * 100)
    run(send_all(open_sink(f"file://{path}?max_bytes=50&keep=2"), [small, big]))
    assert lines(path.with_name("events.ndjson.1")) == [small.line]
    assert lines(path) == [big.line]


def test_a_csv_record_with_a_quoted_line_break_is_written_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    row = Record(seq=2, id="ev_2", tenant="acme", line=b'2,ev_2,acme,"two\nlines"')
    run(send_all(open_sink(f"file://{path}"), [row]))
    assert path.read_bytes() == row.line + b"\n"


def test_a_path_under_a_file_is_not_retryable(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a folder")
    fails(open_sink(f"file://{tmp_path}/plain/events.ndjson"), records(1), retryable=False)
