"""Export sinks (design §2 export/sinks): file — append records to a local file, fsync'd, rotated by size.

URL: `file:///var/log/signwatch/events.ndjson?max_bytes=104857600&keep=10`

- Each record is one line (`line` + "\\n"); the file is created (mode 0640, parent folders too) when missing and
  appended to when present, so a restarted forwarder continues the same file. A last line torn by a crash is
  closed with a newline before anything is appended, so it never swallows the next record.
- Rotation by size: when the next line would take the file past `max_bytes` (default 100 MiB; 0 = never rotate),
  `events.ndjson` becomes `events.ndjson.1`, `.1` becomes `.2` …, and the oldest beyond `keep` (default 10; 0 =
  keep none) is dropped. Rotation happens between lines, never inside one, and never inside an empty file.
- Acknowledged = written and `fsync`ed; after a create or a rotation the folder is fsynced too, so the new name
  survives a power cut. A crash between fsync and the forwarder's checkpoint appends those lines again on restart
  (at least once; dedupe on the event id).
- The blocking writes run in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO
from urllib.parse import SplitResult, unquote

from signwatch.export.sinks import Options, Record, SinkError, integer, options

DEFAULT_MAX_BYTES = 100 * 1024 * 1024
DEFAULT_KEEP = 10
FILE_MODE = 0o640
# an operator has to fix these; anything else (a full disk, an I/O error) may pass
FATAL_ERRORS = (PermissionError, IsADirectoryError, NotADirectoryError, FileNotFoundError, FileExistsError)


def from_url(parts: SplitResult, _options: Options) -> FileSink:
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file sink: remote host {parts.netloc!r} is not supported (use file:///path)")
    path = unquote(parts.path)
    if not path or path.endswith("/"):
        raise ValueError("file sink: the URL names no file (file:///var/log/signwatch/events.ndjson)")
    found = options(parts, {"max_bytes", "keep"})
    return FileSink(
        Path(path),
        max_bytes=integer(found, "max_bytes", DEFAULT_MAX_BYTES),
        keep=integer(found, "keep", DEFAULT_KEEP),
    )


class FileSink:
    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, keep: int = DEFAULT_KEEP) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.name = f"file://{path}"
        self._file: BinaryIO | None = None
        self._size = 0

    async def open(self) -> None:
        await self._run(self._open)

    async def send(self, batch: Sequence[Record]) -> None:
        if batch:
            await self._run(self._write, batch)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    async def _run(self, work: Callable[..., None], *args: object) -> None:
        try:
            await asyncio.to_thread(work, *args)
        except OSError as exc:
            await asyncio.to_thread(self._close)  # the next send reopens and re-reads the size
            raise SinkError(f"{self.name}: {exc}", retryable=not isinstance(exc, FATAL_ERRORS)) from exc

    # -- in the worker thread ---------------------------------------------------------------------------------

    def _open(self) -> None:
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        existed = self.path.exists()
        file = open(self.path, "a+b", opener=_opener)  # noqa: SIM115 - kept open across batches
        try:
            self._size = os.fstat(file.fileno()).st_size
            if self._size:
                file.seek(self._size - 1)
                if file.read(1) != b"\n":  # a line torn by a crash: close it so the next record stands alone
                    self._append(file, [b"\n"])
            if not existed:
                _fsync_dir(self.path.parent)
        except BaseException:
            file.close()
            raise
        self._file = file

    def _write(self, batch: Sequence[Record]) -> None:
        self._open()
        pending: list[bytes] = []
        for record in batch:
            data = record.line + b"\n"
            if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
                self._flush(pending)
                pending = []
                self._rotate()
            pending.append(data)
            self._size += len(data)
        self._flush(pending)

    def _flush(self, chunks: list[bytes]) -> None:
        if chunks:
            assert self._file is not None
            self._append(self._file, chunks)

    @staticmethod
    def _append(file: BinaryIO, chunks: list[bytes]) -> None:
        file.write(b"".join(chunks))
        file.flush()
        os.fsync(file.fileno())

    def _rotate(self) -> None:
        self._close()
        if self.keep == 0:
            self.path.unlink()
        else:
            for n in range(self.keep - 1, 0, -1):
                older = self._rotated(n)
                if older.exists():
                    os.replace(older, self._rotated(n + 1))
            os.replace(self.path, self._rotated(1))
        _fsync_dir(self.path.parent)
        self._open()

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _opener(path: str, flags: int) -> int:
    return os.open(path, flags, FILE_MODE)
