"""A database lock per scheduled job, so two hosts never run the same job at once.

The lock is a row in job_locks (primary key = job name). Taking it is one INSERT: the
primary key makes exactly one of two racing hosts win, on SQLite and PostgreSQL alike.
A lock whose holder died is not held forever: it expires (expires_at), and the long
job renews it between chunks of work.

Lock rows are written on a connection of their own and committed at once, whatever the
caller's session is doing: a lock only helps when the other hosts can see it.
"""

import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import JobLock
from app.services import clock

DEFAULT_TTL = timedelta(minutes=30)


class JobBusyError(Exception):
    """Another process holds the job's lock."""

    def __init__(self, name: str, holder: str | None, acquired_at: datetime | None, expires_at: datetime | None):
        super().__init__(f"job {name!r} is already running")
        self.name = name
        self.holder = holder
        self.acquired_at = acquired_at
        self.expires_at = expires_at


class JobLockLostError(Exception):
    """Our lock expired and another process took the job over: stop working."""


@dataclass
class HeldLock:
    name: str
    holder: str
    ttl: timedelta
    progress: Callable | None = None  # a long job's progress report, called between chunks (retention sweep)

    def renew(self) -> None:
        renew(self)

    def release(self) -> None:
        release(self)


def default_holder() -> str:
    """Which process holds a lock: host, process id and a random part (no personal data)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def acquire(name: str, *, ttl: timedelta = DEFAULT_TTL, holder: str | None = None) -> HeldLock:
    """Take the named lock, clearing it first if it expired; raise JobBusyError when someone holds it."""
    holder = holder or default_holder()
    table = JobLock.__table__
    now = clock.utcnow()
    try:
        with db.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.name == name, table.c.expires_at <= now))
            conn.execute(insert(table).values(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
    except IntegrityError:
        current = current_lock(name)
        raise JobBusyError(
            name,
            current.holder if current else None,
            current.acquired_at if current else None,
            current.expires_at if current else None,
        ) from None
    return HeldLock(name=name, holder=holder, ttl=ttl)


def renew(lock: HeldLock) -> None:
    """Push the lock's expiry forward; JobLockLostError when it is no longer ours."""
    table = JobLock.__table__
    with db.engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.name == lock.name, table.c.holder == lock.holder)
            .values(expires_at=clock.utcnow() + lock.ttl)
        )
    if result.rowcount != 1:
        raise JobLockLostError(lock.name)


def release(lock: HeldLock) -> None:
    """Give the lock back (only if it is still ours)."""
    table = JobLock.__table__
    with db.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.name == lock.name, table.c.holder == lock.holder))


def current_lock(name: str):
    """The lock row's values (holder, acquired_at, expires_at), or None; read on its own connection."""
    table = JobLock.__table__
    with db.engine.connect() as conn:
        return conn.execute(
            select(table.c.holder, table.c.acquired_at, table.c.expires_at).where(table.c.name == name)
        ).first()
