"""Small tables the application needs to run on several hosts without local state."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Counter(db.Model):
    """Monotonic counters (member numbers, request references): never handed out twice."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class RateLimitBucket(db.Model):
    """Hits per key per fixed window, kept in the database so all workers share them."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    hits: Mapped[int] = mapped_column(default=0)


class JobLock(db.Model):
    """A named lock so two hosts never run the same scheduled job at once."""

    __tablename__ = "job_locks"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class MaintenanceStatus(db.Model):
    """The state of a storage duty that must not fail silently (the WAL checkpoint after an erasure).

    A row exists while the duty is failing: `failing_since` is the first failure, the dashboard
    shows it, and the next success removes the row. `detail` holds counts, never personal data.
    """

    __tablename__ = "maintenance_status"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    failing_since: Mapped[datetime]
    last_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=1)
    detail: Mapped[str] = mapped_column(String(200), default="")
