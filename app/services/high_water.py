"""High-water marks of the counters, kept outside the database (beside the erasure ledger).

A restore rolls the `counters` table back to the backup's values; the file does not roll back,
so `members.take_counter_block` never hands out a member number or request reference again
that was given out before the restore. One JSON object {counter name: last value}, replaced
atomically (write, fsync, rename) under an exclusive lock, and only ever raised.

Like the ledger file, it must live beside the database (or on its own volume), never inside
BACKUP_DIR; on several hosts, on the volume they share with the ledger.
"""

import fcntl
import json
import os
from contextlib import contextmanager
from pathlib import Path

from app.services import installation

FILE_NAME = "counters-high-water.json"


class HighWaterError(Exception):
    """The high-water file exists but cannot be read: refuse rather than risk reusing a value."""


def path() -> Path:
    return installation.ledger_path().with_name(FILE_NAME)


def read(file: Path | None = None) -> dict[str, int]:
    file = file or path()
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text() or "{}")
        return {str(name): int(value) for name, value in data.items()}
    except (ValueError, TypeError, AttributeError) as exc:
        raise HighWaterError(f"{file} cannot be read; restore it from its backup") from exc


@contextmanager
def guard():
    """Yield the marks under an exclusive lock; whatever the caller raised in them is written on exit."""
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(f"{file}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marks = read(file)
        before = dict(marks)
        yield marks
        merged = {name: max(value, before.get(name, 0)) for name, value in marks.items()}
        if merged != before:
            _write(file, {**before, **merged})
    finally:
        os.close(lock)


def _write(file: Path, marks: dict[str, int]) -> None:
    temporary = file.with_name(f".{file.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(marks, sort_keys=True).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, file)
    directory = os.open(file.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
