"""What an erasure leaves in the database's files, and the duties that remove it.

Rows are only half of an erasure: the database files keep old copies of the bytes.
- SQLite: every connection sets `secure_delete` (freed pages and cells are zeroed), and after
  every commit that erased something, the WAL is checkpointed and truncated
  (`wal_checkpoint(TRUNCATE)`), because the WAL keeps the page images from before the erasure.
  Readers holding an old snapshot block that checkpoint: it is retried a few times, and a
  checkpoint that could not complete is recorded in `maintenance_status` (the dashboard shows
  it) until a later one succeeds.
- PostgreSQL: the tables an erasure touched are vacuumed outside the transaction (the small ones
  that hold free text rewritten by VACUUM FULL, see REWRITE_TABLES), so dead
  tuples do not linger in heap and index pages. PostgreSQL cannot promise that the bytes are
  gone from free space, the WAL archive or base backups (docs/privacy-requests.md says what to do).

The services mark what they touched with `touched(tables)`; the commit runs the duty
(`after_commit`), so the wizard, each chunk of the retention sweep and `reapply-erasures` all get
it without calling anything. `cleanup(tables)` is the function a job can call later.

`scan_files(patterns)` reads the raw bytes of the SQLite database, its WAL and the other SQLite
files in instance/, for the residual scan of the verification report.
"""

import json
import logging
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flask import has_app_context
from sqlalchemy import delete, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import MaintenanceStatus
from app.services import clock, installation

log = logging.getLogger(__name__)

PENDING = "clubhouse_storage_pending"
AFTER = "clubhouse_storage_after"
CHECKPOINT = "sqlite_checkpoint"
VACUUM = "postgres_vacuum"
CHECKPOINT_ATTEMPTS = 4
CHECKPOINT_BUSY_MS = 500  # how long one attempt waits for readers before it counts as blocked
CHECKPOINT_PAUSE = 0.2  # seconds between attempts (times the attempt number)

# The big tables a retention sweep touches in every chunk: vacuumed once at the end of the sweep.
LARGE_TABLES = frozenset({"visits", "audit_events", "erasure_records"})
# Small by nature, and every wizard step writes a new version of the request row with the
# requester's details: a plain VACUUM leaves their bytes in the pages' free space (measured:
# 40 of 65 copies), so these are rewritten (VACUUM FULL: a brief exclusive lock on a small table).
REWRITE_TABLES = frozenset({"data_requests", "staff_notes", "health_notes", "legal_holds", "consents"})


# --- marking what an erasure touched -------------------------------------------------------

def touched(tables, session: Session | None = None) -> None:
    """Note tables whose personal data this transaction removed: the commit cleans up after them."""
    session = session or db.session()
    session.info.setdefault(PENDING, set()).update(tables)


def after_cleanup(callback: Callable[[], None], session: Session | None = None) -> None:
    """Run callback after this transaction's commit and its cleanup (e.g. the file scan of a report)."""
    session = session or db.session()
    session.info.setdefault(AFTER, []).append(callback)


def defer_large_tables(session: Session | None = None) -> set:
    """For a job of many commits (the sweep): vacuum the big tables once, at the end (see vacuum_deferred)."""
    session = session or db.session()
    return session.info.setdefault("clubhouse_storage_deferred", set())


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    tables = session.info.pop(PENDING, None)
    callbacks = session.info.pop(AFTER, [])
    if not tables and not callbacks:
        return
    if not has_app_context():
        return
    engine = session.get_bind()
    if tables:
        deferred = session.info.get("clubhouse_storage_deferred")
        if deferred is not None and engine.dialect.name == "postgresql":
            deferred.update(tables & LARGE_TABLES)
            tables = tables - LARGE_TABLES
        cleanup(tables, engine=engine)
    for callback in callbacks:
        callback()


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
        session.info.pop(AFTER, None)


def cleanup(tables, *, engine: Engine | None = None) -> bool:
    """After an erasure committed: SQLite checkpoint, or PostgreSQL VACUUM of the tables. True when done."""
    engine = engine or db.engine
    if engine.dialect.name == "sqlite":
        return checkpoint(engine)
    if engine.dialect.name == "postgresql":
        return vacuum(tables, engine=engine)
    return True


def vacuum_deferred(session: Session | None = None, *, engine: Engine | None = None) -> bool:
    """Vacuum the big tables a sweep deferred (call once the sweep is done)."""
    session = session or db.session()
    tables = session.info.pop("clubhouse_storage_deferred", None) or set()
    return vacuum(tables, engine=engine) if tables else True


# --- SQLite -------------------------------------------------------------------------------

def checkpoint(engine: Engine | None = None, *, attempts: int = CHECKPOINT_ATTEMPTS) -> bool:
    """`wal_checkpoint(TRUNCATE)`, retried while readers block it; a failure is recorded, a success clears it."""
    engine = engine or db.engine
    if engine.dialect.name != "sqlite":
        return True
    busy = log_frames = done_frames = None
    for attempt in range(1, attempts + 1):
        busy, log_frames, done_frames = _checkpoint_once(engine)
        if busy == 0:
            break
        if attempt < attempts:
            time.sleep(CHECKPOINT_PAUSE * attempt)
    if busy == 0:
        _clear_failure(engine, CHECKPOINT)
        return True
    detail = f"{attempts} attempts; {max(log_frames - done_frames, 0) if log_frames and log_frames > 0 else 0} WAL frames left"
    log.warning("WAL checkpoint after an erasure could not complete: %s", detail)
    _record_failure(engine, CHECKPOINT, detail)
    return False


def _checkpoint_once(engine: Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_MS}")
        try:
            row = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        finally:
            conn.exec_driver_sql("PRAGMA busy_timeout=10000")
    return int(row[0]), int(row[1]), int(row[2])


# --- PostgreSQL ----------------------------------------------------------------------------

def vacuum(tables, *, engine: Engine | None = None) -> bool:
    """VACUUM the named tables (only tables of our model), outside any transaction; True when done."""
    engine = engine or db.engine
    if engine.dialect.name != "postgresql":
        return True
    known = {table.name for table in db.metadata.sorted_tables}
    names = sorted(set(tables) & known)
    if not names:
        return True
    preparer = engine.dialect.identifier_preparer
    rewrite = [name for name in names if name in REWRITE_TABLES]
    plain = [name for name in names if name not in REWRITE_TABLES]
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if rewrite:
                conn.exec_driver_sql("VACUUM FULL " + ", ".join(preparer.quote(name) for name in rewrite))
            if plain:
                conn.exec_driver_sql("VACUUM " + ", ".join(preparer.quote(name) for name in plain))
    except Exception as exc:  # noqa: BLE001 - a failed vacuum is recorded and shown, never raised into the page
        log.warning("VACUUM after an erasure failed: %s", type(exc).__name__)
        _record_failure(engine, VACUUM, f"{len(names)} tables; {type(exc).__name__}")
        return False
    _clear_failure(engine, VACUUM)
    return True


# --- failures, recorded until a later success ----------------------------------------------

def _record_failure(engine: Engine, name: str, detail: str) -> None:
    table = MaintenanceStatus.__table__
    now = clock.utcnow()
    with engine.begin() as conn:
        updated = conn.execute(table.update().where(table.c.name == name).values(
            last_attempt_at=now, attempts=table.c.attempts + 1, detail=detail[:200]))
        if updated.rowcount == 0:
            conn.execute(table.insert().values(name=name, failing_since=now, last_attempt_at=now, attempts=1,
                                               detail=detail[:200]))


def _clear_failure(engine: Engine, name: str) -> None:
    table = MaintenanceStatus.__table__
    with engine.connect() as conn:
        failing = conn.execute(select(table.c.name).where(table.c.name == name)).first()
    if failing is None:
        return
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.name == name))
    if name == CHECKPOINT:
        _checkpoint_once(engine)  # the delete itself went into the WAL: truncate it again


def failures() -> list[MaintenanceStatus]:
    """Storage duties that failed and have not succeeded since (for the dashboard)."""
    return list(db.session.scalars(select(MaintenanceStatus).order_by(MaintenanceStatus.failing_since)))


# --- the files ------------------------------------------------------------------------------

SQLITE_MAGIC = b"SQLite format 3\x00"
SIDE_FILES = ("-wal", "-shm", "-journal")


def database_path(engine: Engine | None = None) -> Path | None:
    """The SQLite database file, or None (PostgreSQL, or an in-memory database)."""
    engine = engine or db.engine
    if engine.dialect.name != "sqlite" or not engine.url.database or engine.url.database == ":memory:":
        return None
    return Path(engine.url.database).resolve()


def _candidates(engine: Engine | None = None) -> tuple[list[Path], list[Path]]:
    """(the database and its side files, the other files of instance/ that may be SQLite files)."""
    known: list[Path] = []
    main = database_path(engine)
    if main is not None:
        for path in (main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)):
            if path.exists():
                known.append(path)
    sniff: list[Path] = []
    folder = installation.instance_dir()
    if folder.is_dir():
        seen = {p.resolve() for p in known}
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.resolve() not in seen:
                (known if path.name.endswith(SIDE_FILES) else sniff).append(path)
    return known, sniff


def _run_scan(paths: list[Path], sniff: list[Path], needles: list[bytes], block: int) -> list[dict]:
    """rawscan.py in a child process (it alone opens the live SQLite files: see its docstring)."""
    job = json.dumps({"paths": [str(p) for p in paths], "sniff": [str(p) for p in sniff],
                      "needles": [n.hex() for n in needles], "block": block})
    child = subprocess.run(  # noqa: S603 - our own script, no shell, input on stdin; -S: it needs no site-packages
        [sys.executable, "-I", "-S", str(Path(__file__).with_name("rawscan.py"))],
        input=job, capture_output=True, text=True, check=True, timeout=3600)
    return json.loads(child.stdout)


def sqlite_files(engine: Engine | None = None) -> list[Path]:
    """The database file, its WAL, shared memory and journal, and every other SQLite file in instance/."""
    known, sniff = _candidates(engine)
    return known + [Path(r["path"]) for r in _run_scan([], sniff, [], 1 << 16)]


def scan_files(patterns: dict[str, list[str]], paths: list[Path] | None = None,
               block: int = 16 << 20) -> list[dict]:
    """Count each pattern's occurrences in the raw bytes of the files (ASCII case folded).

    patterns: kind -> values (lower-case). Returns per file {file, bytes, hits: {kind: count}, values:
    {value: count}} (the values stay in memory for the caller; a report keeps only counts per kind).
    The files are read by a child process, never by this one (rawscan.py says why).
    """
    needles = []
    for kind, values in patterns.items():
        for value in values:
            encoded = value.lower().encode()
            if encoded:
                needles.append((kind, value, encoded))
    if paths is None:
        known, sniff = _candidates()
    else:
        known, sniff = list(paths), []
    results = []
    for found in _run_scan(known, sniff, [n for _k, _v, n in needles], block):
        counts: dict[str, int] = {}
        per_value: dict[str, int] = {}
        for (kind, value, _needle), n in zip(needles, found["counts"], strict=True):
            if n:
                counts[kind] = counts.get(kind, 0) + n
                per_value[value] = per_value.get(value, 0) + n
        results.append({"file": Path(found["path"]).name, "bytes": found["bytes"], "hits": counts, "values": per_value})
    return results


# --- file permissions -------------------------------------------------------------------------

def secure_sqlite_files(database: str | None) -> None:
    """The database file and its side files 0600; the instance folder 0700 when the database lives there."""
    if not database or database == ":memory:":
        return
    main = Path(database)
    for path in (main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)):
        try:
            if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
                path.chmod(0o600)
        except OSError:
            continue
    secure_instance_dir(main.parent)


def secure_instance_dir(folder: Path | None = None, *, instance: Path | None = None) -> None:
    """The instance folder (secret key, ledger key, SQLite database) is the owner's only: 0700.

    `instance` is the app's instance folder (create_app passes it; otherwise the current app's).
    """
    if instance is None:
        if not has_app_context():
            return  # no app, so no folder known to be ours
        instance = installation.instance_dir()
    instance = instance.resolve()
    folder = (folder or instance).resolve()
    if folder != instance:
        return  # never change the mode of a folder that is not ours (a test's tmp folder, /var/lib)
    try:
        if folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) != 0o700:
            os.chmod(folder, 0o700)
    except OSError:
        pass
