"""The erasure ledger: a keyed hash per erased member, in a table AND an append-only file.

A database restore rolls the table back, so the file (outside the database, not beside the
backups) is the source of truth. Each entry holds the HMAC-SHA256 of the member number under
a key that never leaves instance/ (or ERASURE_LEDGER_KEY), the time, method, request
reference and source, and is chained to the previous entry by hash.

Lines are staged in the session while the erasure runs and appended to the file (fsync)
just before the transaction commits: a rolled-back erasure never reaches the file, and a
committed one never misses it. If the database commit itself fails after the append, the
file holds an entry whose member still exists; `privacy reapply-erasures` then erases that
member, which is the safe side of the mistake.
"""

import fcntl
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import ErasureRecord, Member
from app.models.member import ANONYMISED
from app.services import installation, locks

GENESIS = "0" * 64
PENDING = "clubhouse_ledger_pending"
FIELDS = ("member_key", "erased_at", "method", "request_reference", "source", "prev_hash")


class LedgerError(Exception):
    """The ledger file is damaged: a line is unreadable or the chain is broken."""


@dataclass(frozen=True)
class Entry:
    member_key: str
    erased_at: datetime
    method: str
    request_reference: str | None
    source: str
    prev_hash: str
    entry_hash: str

    def as_row(self) -> dict:
        return {field: getattr(self, field) for field in (*FIELDS, "entry_hash")}


# --- the key and the keyed hash -------------------------------------------------------

def _key_file() -> Path:
    return installation.instance_dir() / "erasure_ledger_key"


def ledger_key() -> bytes:
    """ERASURE_LEDGER_KEY, else a key generated once into instance/ beside the secret key."""
    configured = installation.ledger_key_setting()
    if configured:
        return configured.encode()
    path = _key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def member_key(member_number: int, key: bytes | None = None) -> str:
    """The keyed hash of a member number (hex): comparable, but not reversible without the key."""
    return hmac.digest(key or ledger_key(), str(int(member_number)).encode(), "sha256").hex()


def member_keys(member_numbers, key: bytes) -> list[str]:
    """member_key() for many numbers at once: the same HMAC-SHA256, with the key schedule done once.

    The keyed state is made once and copied per member (the standard library's hmac copy).
    A test holds it equal to member_key().
    """
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    keys = []
    append = keys.append
    for number in member_numbers:
        state = keyed.copy()
        state.update(b"%d" % number)
        append(state.hexdigest())
    return keys


def _hash_text(member_key_: str, erased_at: str, method: str, request_reference: str | None,
               source: str, prev_hash: str) -> str:
    return "|".join((member_key_, erased_at, method, request_reference or "", source, prev_hash))


def entry_hash(fields: dict) -> str:
    """The hash chaining an entry to its predecessor (covers every field and prev_hash)."""
    erased_at = fields["erased_at"]
    if isinstance(erased_at, datetime):
        erased_at = erased_at.isoformat(timespec="microseconds")
    text_ = _hash_text(fields["member_key"], erased_at, fields["method"], fields["request_reference"],
                       fields["source"], fields["prev_hash"])
    return hashlib.sha256(text_.encode()).hexdigest()


# --- the file -----------------------------------------------------------------------

def ledger_path() -> Path:
    return installation.ledger_path()


def _parse(line: str, lineno: int) -> Entry:
    try:
        data = json.loads(line)
        return Entry(
            member_key=data["member_key"],
            erased_at=datetime.fromisoformat(data["erased_at"]),
            method=data["method"],
            request_reference=data.get("request_reference"),
            source=data["source"],
            prev_hash=data["prev_hash"],
            entry_hash=data["entry_hash"],
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerError(f"line {lineno} of the ledger file is unreadable") from exc


def read_file(path: Path | None = None) -> list[Entry]:
    """Every entry of the ledger file, in order (empty when there is no file yet)."""
    path = path or ledger_path()
    if not path.exists():
        return []
    entries = []
    with path.open("r", encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                entries.append(_parse(line, lineno))
    return entries


def verify_chain(entries: list[Entry]) -> list[str]:
    """Problems found in a chain of entries (empty when every link and hash holds)."""
    problems = []
    previous = GENESIS
    for number, entry in enumerate(entries, start=1):
        if entry.prev_hash != previous:
            problems.append(f"entry {number}: does not follow the previous entry")
        if entry_hash(entry.as_row()) != entry.entry_hash:
            problems.append(f"entry {number}: its content does not match its hash")
        previous = entry.entry_hash
    return problems


def _last_file_hash(path: Path) -> str | None:
    """The entry_hash of the file's last line, reading only the end of the file."""
    if not path.exists() or path.stat().st_size == 0:
        return None
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        chunk = b""
        position = size
        while position > 0:
            step = min(4096, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + chunk
            lines = [line for line in chunk.split(b"\n") if line.strip()]
            if len(lines) >= 2 or (lines and position == 0):
                return _parse(lines[-1].decode(), 0).entry_hash
    return None


def _append_lines(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = ("\n".join(lines) + "\n").encode()
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    finally:
        os.close(fd)


# --- recording entries ---------------------------------------------------------------

def lock() -> None:
    """Serialise ledger writers across hosts on PostgreSQL (SQLite's write lock does it there).

    A transaction-scoped advisory lock: released by the commit or rollback.
    """
    locks.hold("erasure_ledger")


def _chain_head() -> str:
    pending = db.session.info.get(PENDING)
    if pending and pending["head"]:
        return pending["head"]
    from_file = _last_file_hash(ledger_path())
    if from_file:
        return from_file
    last = db.session.scalar(select(ErasureRecord.entry_hash).order_by(ErasureRecord.id.desc()).limit(1))
    return last or GENESIS


def record(member_numbers, method: str, *, source: str, request_reference: str | None,
           erased_at: datetime) -> int:
    """Write one chained entry per member number: table rows now (flushed), file lines at commit.

    Kept lean on purpose (one HMAC, one SHA-256 and one formatted line per member): the
    retention sweep records tens of thousands of entries in one go.
    """
    if not member_numbers:
        return 0
    lock()
    key = ledger_key()
    previous = _chain_head()
    stamp = erased_at.isoformat(timespec="microseconds")
    reference = request_reference or ""
    # The fields every entry of this batch shares, JSON-encoded once.
    shared = json.dumps({"erased_at": stamp, "method": method, "request_reference": request_reference,
                         "source": source}, sort_keys=True, separators=(",", ":"))[1:-1]
    suffix = f"|{stamp}|{method}|{reference}|{source}|"
    sha256 = hashlib.sha256
    stored_at = erased_at.isoformat(" ", "microseconds") if _is_sqlite() else erased_at
    rows, lines = [], []
    add_row, add_line = rows.append, lines.append
    for member_key_ in member_keys(member_numbers, key):
        digest = sha256(f"{member_key_}{suffix}{previous}".encode()).hexdigest()
        add_row((member_key_, stored_at, method, request_reference, source, previous, digest))
        add_line(f'{{"entry_hash":"{digest}",{shared},"member_key":"{member_key_}","prev_hash":"{previous}"}}')
        previous = digest
    _insert_rows(rows)
    pending = db.session.info.setdefault(PENDING, {"lines": [], "head": None})
    pending["lines"].extend(lines)
    pending["head"] = previous
    return len(rows)


COLUMNS = ("member_key", "erased_at", "method", "request_reference", "source", "prev_hash", "entry_hash")


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _insert_rows(rows: list[tuple], chunk: int = 10_000) -> None:
    """Plain driver executemany of tuples in COLUMNS order: the sweep inserts many rows at once.

    On SQLite the erased_at value must already be text in SQLAlchemy's DateTime format.
    """
    connection = db.session.connection()
    columns = ", ".join(COLUMNS)
    if connection.dialect.name == "postgresql":
        # COPY: the fastest way into PostgreSQL, inside the same transaction.
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY erasure_records ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    # Built from the fixed column names; every value is bound (bandit and ruff cannot see that).
    sql = f"INSERT INTO erasure_records ({columns}) VALUES ({', '.join(['?'] * len(COLUMNS))})"  # noqa: S608 # nosec B608
    for start in range(0, len(rows), chunk):
        connection.exec_driver_sql(sql, rows[start:start + chunk])


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending and pending["lines"]:
        _append_lines(installation.ledger_path(), pending["lines"])


@event.listens_for(Session, "after_transaction_end")
def _drop_pending(session: Session, transaction) -> None:
    """Lines staged in a transaction that ended without commit (rollback, close) are dropped."""
    if transaction.parent is None:
        session.info.pop(PENDING, None)


# --- reading the ledger back -----------------------------------------------------------

_key_cache: dict = {}


def file_keys() -> frozenset[str]:
    """The member keys in the ledger file; cached while the file is unchanged (size, mtime)."""
    path = ledger_path()
    if not path.exists():
        return frozenset()
    stat = path.stat()
    signature = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if _key_cache.get("signature") != signature:
        _key_cache["keys"] = frozenset(entry.member_key for entry in read_file(path))
        _key_cache["signature"] = signature
    return _key_cache["keys"]


def is_erased_number(member_number: int) -> bool:
    """True when this member number was ever erased (table or file): it must not be handed out."""
    key = member_key(member_number)
    if db.session.scalar(select(ErasureRecord.id).where(ErasureRecord.member_key == key).limit(1)):
        return True
    return key in file_keys()


def missing_table_rows(entries: list[Entry] | None = None) -> list[Entry]:
    """File entries the table lacks (a restore rolled the table back)."""
    entries = read_file() if entries is None else entries
    present = set(db.session.scalars(select(ErasureRecord.entry_hash)))
    return [entry for entry in entries if entry.entry_hash not in present]


def restore_table_rows(entries: list[Entry]) -> int:
    """Re-insert file entries into the table (flushed)."""
    sqlite = _is_sqlite()
    _insert_rows([
        tuple(entry.erased_at.isoformat(" ", "microseconds") if c == "erased_at" and sqlite else getattr(entry, c)
              for c in COLUMNS)
        for entry in entries
    ])
    return len(entries)


def file_line_count(path: Path | None = None) -> int:
    """Entries in the ledger file, counted without parsing them (cheap enough for the dashboard)."""
    path = path or ledger_path()
    if not path.exists():
        return 0
    count = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            count += block.count(b"\n")
    return count


def table_count() -> int:
    from sqlalchemy import func

    return db.session.scalar(select(func.count()).select_from(ErasureRecord)) or 0


# --- health: is the ledger whole, and are erased members back? -----------------------------

def members_back(entries: list[Entry] | None = None) -> list[tuple[int, int, str, str | None]]:
    """Members whose keyed number is in the ledger file but who are present again.

    A member anonymised and found anonymised is not back; one deleted (or anonymised and now
    carrying personal data again) is. Returns (member id, member number, method, request reference).
    """
    entries = read_file() if entries is None else entries
    if not entries:
        return []
    methods: dict[str, tuple[str, str | None]] = {}
    for entry in entries:
        if methods.get(entry.member_key, ("",))[0] != "delete":
            methods[entry.member_key] = (entry.method, entry.request_reference)
    members = db.session.execute(select(Member.id, Member.member_number, Member.status)).all()
    keys = member_keys([number for _member_id, number, _status in members], ledger_key())
    found = []
    for (member_id, number, status), key in zip(members, keys, strict=True):
        method, reference = methods.get(key, (None, None))
        if method is None or (method == "anonymise" and status == ANONYMISED):
            continue
        found.append((member_id, number, method, reference))
    return found


@dataclass
class Health:
    """The ledger's state: the one answer the dashboard, `privacy verify-ledger` and reapply share."""

    entries: list[Entry]
    chain_problems: list[str]
    missing: list[Entry]  # file entries the table lacks: a restore rolled the table back
    back: list[tuple]  # members_back(): erased members present again
    error: str | None = None  # the file cannot be read

    @property
    def warning(self) -> dict | None:
        """What the dashboard warns about, or None when all is well."""
        if self.error is not None:
            return {"broken": True}
        if self.missing or self.back:
            return {"missing": len(self.missing), "back": len(self.back)}
        return None


def check(entries: list[Entry], *, members: bool = True) -> Health:
    """Check the file's entries: the chain, the rows the table lacks and (members=True) who is back."""
    return Health(entries, verify_chain(entries), missing_table_rows(entries), members_back(entries) if members else [])


def health() -> Health:
    """The dashboard's check, cheap when all is well.

    A restore leaves the table with fewer rows than the file has lines, so the file is only
    read when it has more lines than the table has rows; and since only a restore makes
    members come back, the costlier search for them runs only when rows are missing.
    """
    if file_line_count() <= table_count():
        return Health([], [], [], [])
    try:
        entries = read_file()
    except LedgerError as exc:
        return Health([], [], [], [], error=str(exc))
    missing = missing_table_rows(entries)
    return Health(entries, [], missing, members_back(entries) if missing else [])
