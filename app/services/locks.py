"""Transaction-scoped locks with named keys: the one registry of the advisory lock numbers.

Each lock serialises one kind of writer until its transaction ends (commit or rollback).
PostgreSQL takes ``pg_advisory_xact_lock(key)``; SQLite has one write lock for the whole
database, which its driver takes only at the first write, so a lock that must hold before
anything is read upserts a counter row named after it. Writers of different kinds get
different keys: an erasure's ledger entries never wait for an administrator's change.
"""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Counter


@dataclass(frozen=True)
class Lock:
    key: int  # the PostgreSQL advisory lock number; unique in REGISTRY
    sqlite_counter: str | None  # the counter row whose upsert takes SQLite's write lock; None: not needed


REGISTRY = {
    # the audit log's hash chain: one writer reads the head and appends at a time
    "audit_chain": Lock(7301, "audit_chain"),
    # the erasure ledger's chain across hosts (on SQLite the erasure's own writes lock first)
    "erasure_ledger": Lock(7302, None),
    # the last-administrator check and the change it guards
    "admin_changes": Lock(7303, "admin_guard"),
}


def hold(name: str) -> None:
    """Take the named lock until the current transaction ends."""
    lock = REGISTRY[name]
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock.key})
    elif lock.sqlite_counter is not None:
        bump_counter(lock.sqlite_counter)


def bump_counter(name: str) -> None:
    """Add one to the counter row `name` (created at 1): one upsert statement."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Counter).values(name=name, value=1)
    db.session.execute(statement.on_conflict_do_update(index_elements=[Counter.name], set_={"value": Counter.value + 1}))
