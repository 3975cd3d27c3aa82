"""Checking stored files against the sizes and sha256 their manifest recorded."""

from __future__ import annotations

import os
from pathlib import Path

from corpus.errors import DamagedVersionError
from corpus.ids import file_sha256
from corpus.models import FileRecord

# Files whose checksum was checked in this process: (path, inode, size, mtime) of each.
_VERIFIED: set[tuple[str, int, int, int]] = set()
# Tables whose row count was checked: their shard paths and the count the manifest records.
_COUNTED: set[tuple[int, tuple[str, ...]]] = set()


def check_file(path: Path | str, record: FileRecord, version: str) -> None:
    """The file exists with the recorded size and sha256, else :class:`DamagedVersionError`."""
    try:
        st = os.stat(path)  # noqa: PTH116 - a str path: no Path built per read
    except FileNotFoundError:
        raise DamagedVersionError(
            f"version {version} is damaged: {path} is missing", path=Path(path)
        ) from None
    key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _VERIFIED:
        return
    path = Path(path)
    if st.st_size != record.bytes:
        raise DamagedVersionError(
            f"version {version} is damaged: {path} has {st.st_size} bytes, "
            f"the manifest recorded {record.bytes}",
            path=path,
        )
    if file_sha256(path) != record.sha256:
        raise DamagedVersionError(
            f"version {version} is damaged: {path} does not have the sha256 its manifest "
            "recorded (the file was changed after it was written)",
            path=path,
        )
    _VERIFIED.add(key)


def check_rows(shards: list[Path], rows: int, version: str, table: str) -> None:
    """The table's shards hold the number of rows its manifest records, else
    :class:`DamagedVersionError`: an edited count is caught by every reader, not only by
    ``corpus check --deep``. Counted from the Arrow stream's batch headers, memory-mapped,
    so the data itself is not read."""
    import pyarrow as pa

    key = (rows, tuple(str(s) for s in shards))
    if key in _COUNTED:
        return
    found = 0
    for shard in shards:
        try:
            with pa.memory_map(str(shard)) as source:
                found += sum(batch.num_rows for batch in pa.ipc.open_stream(source))
        except (OSError, ValueError) as exc:  # missing, or not an Arrow stream (ArrowInvalid)
            raise DamagedVersionError(
                f"version {version} is damaged: {shard} cannot be read ({exc})", path=shard
            ) from None
    if found != rows:
        raise DamagedVersionError(
            f"version {version} is damaged: its table {table} holds {found} rows, its "
            f"manifest records {rows} (the manifest was edited after it was written)",
            path=shards[0].parent if shards else None,
        )
    _COUNTED.add(key)


def forget_verified() -> None:
    """Check every file again on its next read (tests; long-running processes)."""
    _VERIFIED.clear()
    _COUNTED.clear()
