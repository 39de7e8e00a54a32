"""Backups of the database, and a restore that erases again by itself.

`create()` writes one consistent copy into BACKUP_DIR: SQLite's online backup API (a page
copy of one snapshot, safe while the portal runs) or `pg_dump --format=custom`. `restore(file)`
puts it back, then applies the erasure ledger again (members erased after the backup was
taken are erased again, the same way) and scans what is left. The ledger file and its key
must never lie inside BACKUP_DIR: a restore must not be able to roll them back too, and the
portal refuses to start when they do.

A restore refuses while another restore runs (a file lock beside the database, because the
restore replaces the database's own lock table) or while a scheduled job holds its lock.
"""

import fcntl
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select

from app.extensions import db
from app.models import JobLock
from app.services import clock, erasure, installation, jobs, storage
from app.services.errors import DomainError

RESTORE_JOB = "backup-restore"


class BackupError(DomainError):
    """A backup or restore that cannot be done; the message says why and what to do."""


class LedgerInBackupDirError(RuntimeError):
    """The erasure ledger or its key lies inside BACKUP_DIR: the portal must not start."""


# --- where things are ------------------------------------------------------------------------

backup_dir = installation.backup_dir


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def inside_backup_dir(config) -> list[tuple[str, Path]]:
    """What of the ledger lies inside BACKUP_DIR: ("ledger", its file) and ("key", the key file), of `config`.

    A restore would roll those back with the database and bring erased members back for good;
    the startup check below and `deploy-check` (app/production.py) both ask this.
    """
    folder = backup_dir(config)
    key_file = None if config.get("ERASURE_LEDGER_KEY") else Path(config["INSTANCE_DIR"]) / "erasure_ledger_key"
    return [(what, path) for what, path in (("ledger", Path(config["ERASURE_LEDGER_PATH"])), ("key", key_file))
            if path is not None and _inside(path, folder)]


def refuse_ledger_in_backup_dir(config) -> None:
    """Raise LedgerInBackupDirError when the ledger file or its key file lies inside BACKUP_DIR."""
    folder = backup_dir(config)
    problems = [f"the erasure ledger ERASURE_LEDGER_PATH={path}" if what == "ledger" else f"the ledger key file {path}"
                for what, path in inside_backup_dir(config)]
    if problems:
        raise LedgerInBackupDirError(
            f"{' and '.join(problems)} lie(s) inside BACKUP_DIR={folder}: a restore would roll them back and "
            "bring erased members back for good. Move them out of BACKUP_DIR (keep them beside the database) "
            "or choose another BACKUP_DIR."
        )


# --- create ------------------------------------------------------------------------------------

@dataclass
class BackupFile:
    path: Path
    size: int


def create() -> BackupFile:
    """Write a consistent backup into BACKUP_DIR (0700 folder, 0600 file); returns what was written."""
    folder = backup_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    engine = db.engine
    if engine.dialect.name == "sqlite":
        target = _free_name(folder, f"clubhouse-{stamp}", ".db")
        _sqlite_copy(storage.database_path(engine), target)
    elif engine.dialect.name == "postgresql":
        target = _free_name(folder, f"clubhouse-{stamp}", ".dump")
        _run(["pg_dump", "--format=custom", "--no-owner", f"--file={target}"], engine)
    else:
        raise BackupError(f"no backup method for {engine.dialect.name}")
    target.chmod(0o600)
    return BackupFile(target, target.stat().st_size)


def _free_name(folder: Path, stem: str, suffix: str) -> Path:
    candidate = folder / f"{stem}{suffix}"
    number = 1
    while candidate.exists():
        number += 1
        candidate = folder / f"{stem}-{number}{suffix}"
    return candidate


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup API: one snapshot, page by page, into a new file."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _pg_env(engine) -> dict:
    url = engine.url
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[name] = str(value)
    return env


def _run(command: list[str], engine) -> None:
    """A PostgreSQL client tool; the connection travels in the environment, never on the command line."""
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(command, env=_pg_env(engine), capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
        raise BackupError(f"{command[0]} failed: {last[0]}")


# --- restore -------------------------------------------------------------------------------------

@dataclass
class RestoreResult:
    backup: Path
    reapply: erasure.ReapplyResult | None = None
    files: dict = field(default_factory=dict)
    rows: dict | None = None


def _restore_lock_path() -> Path:
    main = storage.database_path()
    return Path(f"{main}.restore-lock") if main else installation.instance_dir() / "restore.lock"


def restore(path, actor=None) -> RestoreResult:
    """Put a backup back, then re-apply the erasure ledger and scan what is left (rows and files)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    engine = db.engine
    lock_file = _restore_lock_path()
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(lock_file, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("another restore is running; wait for it to finish") from None
        busy = _held_job_locks()
        if busy:
            raise BackupError(f"a job holds its lock ({', '.join(busy)}); wait until it has finished")
        held = jobs.acquire(RESTORE_JOB)
        try:
            db.session.remove()
            if engine.dialect.name == "sqlite":
                _restore_sqlite(path, storage.database_path(engine))
            else:
                _restore_postgres(path, engine)
        finally:
            db.session.remove()
            engine.dispose()
            _clear_job_locks()  # the restored lock table is the backup's: no job of then is running now
            del held
        return _after_restore(path, actor)
    finally:
        os.close(handle)


def _held_job_locks() -> list[str]:
    now = clock.utcnow()
    return list(db.session.scalars(select(JobLock.name).where(JobLock.expires_at > now).order_by(JobLock.name)))


def _clear_job_locks() -> None:
    with db.engine.begin() as conn:
        conn.execute(delete(JobLock.__table__))


def _restore_sqlite(backup: Path, live: Path) -> None:
    try:
        with backup.open("rb") as check:
            if check.read(16) != storage.SQLITE_MAGIC:
                raise BackupError(f"{backup.name} is not an SQLite backup")
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        try:
            if src.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise BackupError(f"{backup.name} is damaged (quick_check failed)")
            if not src.execute("SELECT 1 FROM sqlite_master WHERE name = 'members'").fetchone():
                raise BackupError(f"{backup.name} is not a Clubhouse backup")
            dst = sqlite3.connect(live, timeout=30)
            try:
                dst.execute("PRAGMA secure_delete=ON")
                src.backup(dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{backup.name} cannot be read as an SQLite database ({exc})") from None


def _restore_postgres(backup: Path, engine) -> None:
    with backup.open("rb") as check:
        if check.read(5) != b"PGDMP":
            raise BackupError(f"{backup.name} is not a pg_dump custom-format backup")
    engine.dispose()
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={engine.url.database}", str(backup)], engine)


MAX_ROW_SCAN_MEMBERS = 200


def _after_restore(path: Path, actor) -> RestoreResult:
    result = RestoreResult(backup=path)
    result.reapply = erasure.reapply(actor)
    db.session.commit()  # the commit checkpoints the WAL (SQLite) or vacuums (PostgreSQL)
    identifiers = result.reapply.identifiers
    if identifiers:
        if len(result.reapply.found) <= MAX_ROW_SCAN_MEMBERS:
            result.rows = erasure.verify(identifiers)
            db.session.rollback()
        result.files = erasure.verify_files(identifiers, result.rows)
    else:
        result.files = {"scanned": storage.database_path() is not None, "files": [], "failures": 0,
                        "explained": 0, "shared": 0, "ok": True}
    return result
