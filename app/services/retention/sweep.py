"""The sweep: every enabled policy applied in chunks, each chunk its own transaction; and the last sweep."""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Column, Integer, MetaData, Table, delete, select, text

from app.extensions import db
from app.models import (
    AuditEvent,
    Member,
    RateLimitBucket,
)
from app.services import audit, clock, holds, installation, jobs, search_index, storage
from app.services.retention.categories import CATEGORIES, DISPLAY_ORDER, SWEEP_ORDER
from app.services.retention.policies import policies
from app.services.retention.rules import RULES, due_condition

JOB_NAME = "retention-sweep"
# Members are erased in chunks of this many, other rows deleted in chunks of DELETE_CHUNK.
MEMBER_CHUNK = 25000
DELETE_CHUNK = 5000
SQLITE_CACHE_KIB = 64 * 1024  # page cache for the sweep's connection on SQLite
# How many days without a sweep before the dashboard asks whether the nightly job runs.
STALE_AFTER_DAYS = 2
# The nightly job as docs/retention.md and the README document it: the command, and a cron line.
SWEEP_COMMAND = "flask --app wsgi retention sweep"
CRON_LINE = "17 3 * * *  cd /srv/clubhouse && .venv/bin/flask --app wsgi retention sweep"


# ------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What a sweep did: rows (or members) per category, and the action applied."""

    run_id: str
    counts: dict[str, int]
    actions: dict[str, str]
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def run_sweep(
    actor,
    *,
    commit: Callable[[], None],
    via: str = "cli",
    member_chunk: int = MEMBER_CHUNK,
    delete_chunk: int = DELETE_CHUNK,
    today: date | None = None,
    progress: Callable[[str, int], None] | None = None,
    only_if: Callable[[], bool] | None = None,
) -> SweepResult | None:
    """Apply every enabled policy now, under the job lock (JobBusyError when another run holds it).

    `progress(category, count)` is called after each committed chunk (the page's long job shows it).
    `only_if()` is asked once the lock is held: when it says no, nothing runs and the result is None
    (the scheduler's "is tonight's sweep still to do", which another host may have just done).

    Unlike most services this one ends transactions: a sweep over 100,000 members cannot be
    one transaction. `commit` is the caller's commit (db.session.commit in the CLI and the
    view), called after each chunk and after the summary entry ('retention.sweep'). Every
    chunk is one transaction with its own audit entry, so a crash leaves each row or member
    fully processed or untouched, and the next run finishes the rest.
    """
    today = today or clock.today()
    lock = jobs.acquire(JOB_NAME)
    if only_if is not None and not only_if():
        jobs.release(lock)
        return None
    lock.progress = progress  # called by _chunk_done
    storage.defer_large_tables()  # PostgreSQL: visits and the like are vacuumed once, at the end
    search_index.defer_optimize()  # SQLite: the search index is merged once, before the last commit
    try:
        result = _sweep(actor, lock, commit, via, member_chunk, delete_chunk, today)
        search_index.optimize_deferred()
        commit()
        storage.vacuum_deferred()
        return result
    except BaseException:
        db.session.rollback()  # the unfinished chunk: undone, as if it never started
        raise
    finally:
        db.session.info.pop("clubhouse_storage_deferred", None)
        db.session.info.pop(search_index.DEFERRED, None)
        jobs.release(lock)


def _sweep(actor, lock, commit, via, member_chunk, delete_chunk, today) -> SweepResult:
    result = SweepResult(run_id=uuid.uuid4().hex[:12], counts={}, actions={}, started_at=clock.utcnow())
    by_category = {p.category: p for p in policies()}
    for key in SWEEP_ORDER:
        policy = by_category.get(key)
        if policy is None or not policy.enabled:
            continue
        if key == "ended_memberships":
            done = _erase_members(policy, today, actor, result.run_id, member_chunk, commit, lock)
        else:
            done = _delete_rows(policy, today, actor, result.run_id, delete_chunk, commit, lock)
        result.counts[key] = done
        result.actions[key] = policy.action
    result.finished_at = clock.utcnow()
    audit.record(
        "retention.sweep",
        actor,
        target_type="retention_sweep",
        target_id=result.run_id,
        details={"run": result.run_id, "via": via, "counts": result.counts, "actions": result.actions},
    )
    return result


def _chunk_done(policy, actor, run_id, count, commit, lock, extra: dict | None = None) -> None:
    """Audit a chunk inside its own transaction, commit it, and keep the lock alive."""
    details = {"run": run_id, "category": policy.category, "action": policy.action, "count": count}
    audit.record(
        "retention.applied",
        actor,
        target_type="retention_policy",
        target_id=policy.category,
        details={**details, **(extra or {})},
    )
    commit()
    lock.renew()
    if lock.progress:  # a long job started from the page shows it
        lock.progress(policy.category, count)


def _delete_rows(policy, today, actor, run_id, chunk_size, commit, lock) -> int:
    """Delete the category's due rows, a chunk per transaction (oldest ids first)."""
    rule = RULES[policy.category]
    model = rule.model
    condition = due_condition(policy, today)
    total = 0
    if model is RateLimitBucket:  # small table without an id column: one statement
        deleted = db.session.execute(
            delete(model).where(condition).execution_options(synchronize_session=False)
        ).rowcount
        if deleted:
            total = deleted
            _chunk_done(policy, actor, run_id, deleted, commit, lock)
        return total
    while True:
        chunk = select(model.id).where(condition).order_by(model.id).limit(chunk_size)
        deleted = db.session.execute(
            delete(model).where(model.id.in_(chunk.scalar_subquery())).execution_options(synchronize_session=False)
        ).rowcount
        if not deleted:
            return total
        total += deleted
        storage.touched({model.__tablename__})  # the chunk's commit checkpoints / vacuums after it
        extra = _audit_anchor() if model is AuditEvent else None
        _chunk_done(policy, actor, run_id, deleted, commit, lock, extra)


def _audit_anchor() -> dict:
    """Where the pruned audit log now starts: a verifier accepts that entry's prev_hash as its anchor.

    This entry is itself part of the chain, so the anchor cannot be changed unnoticed.
    """
    first = db.session.execute(
        select(AuditEvent.id, AuditEvent.prev_hash).order_by(AuditEvent.id).limit(1)
    ).first()
    return {"first_kept_id": first.id, "anchor_hash": first.prev_hash} if first else {}


SQLITE_BULK_PRAGMAS = (
    f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}",  # the default 2 MB cannot hold a chunk's index pages
    "PRAGMA temp_store = MEMORY",  # the erasure engine's batch table and IN-subqueries
)


def _tune_connection() -> None:
    """SQLite settings for bulk work on the sweep's connection (PostgreSQL needs none)."""
    if db.session.get_bind().dialect.name == "sqlite":
        for pragma in SQLITE_BULK_PRAGMAS:
            db.session.execute(text(pragma))


def _due_member_ids(condition, last_id: int, chunk_size: int) -> list[int]:
    """The next chunk of due member ids (ascending), as plain ints.

    The selection runs as INSERT ... SELECT into a temporary table (SQLAlchemy binds the
    parameters), and the ids are read back through the driver: 25,000 SQLAlchemy Row objects
    per chunk cost more than the selection itself.
    """
    connection = db.session.connection()
    connection.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS retention_due (id INTEGER PRIMARY KEY)")
    connection.exec_driver_sql("DELETE FROM retention_due")
    connection.execute(_DUE.insert().from_select(
        ["id"], select(Member.id).where(condition, Member.id > last_id).order_by(Member.id).limit(chunk_size)))
    cursor = connection.connection.cursor()
    try:
        cursor.execute("SELECT id FROM retention_due ORDER BY id")
        return [member_id for (member_id,) in cursor.fetchall()]
    finally:
        cursor.close()


_DUE = Table("retention_due", MetaData(), Column("id", Integer, primary_key=True))


def _erase_members(policy, today, actor, run_id, chunk_size, commit, lock) -> int:
    """Anonymise (or delete) due ended memberships through the erasure engine, a chunk at a time."""
    condition = due_condition(policy, today)
    total = 0
    last_id = 0
    while True:
        _tune_connection()
        ids = _due_member_ids(condition, last_id, chunk_size)
        if not ids:
            return total
        from app.services import erasure  # the wizard's engine, so the ledger and its checks apply

        try:
            done = erasure.erase_members(ids, policy.action, actor, source="retention")
        except erasure.LegalHoldError:
            # A hold placed between our selection and the erasure: leave those members alone.
            free = sorted(set(ids) - holds.held_among(ids))
            done = erasure.erase_members(free, policy.action, actor, source="retention") if free else 0
        total += done
        last_id = ids[-1]
        _chunk_done(policy, actor, run_id, done, commit, lock)


# -------------------------------------------------------------------- the last sweep


class BadSweepTimeError(RuntimeError):
    """RETENTION_SWEEP_AT is set but is no time of day: the portal must not start with it."""


def sweep_time(text: str) -> tuple[int, int]:
    """"03:17" -> (3, 17); anything else that is not a time of day (HH:MM) raises BadSweepTimeError."""
    hour, colon, minute = text.strip().partition(":")
    if colon and hour.isdecimal() and minute.isdecimal() and len(minute) == 2 and int(hour) < 24 and int(minute) < 60:
        return int(hour), int(minute)
    raise BadSweepTimeError(f"RETENTION_SWEEP_AT={text!r} is not a time of day: write it as HH:MM on the club's "
                            "clock, for example 03:17, or leave it unset to start the sweep from cron.")


def refuse_bad_sweep_time(config) -> None:
    """At startup: a mistyped RETENTION_SWEEP_AT is named now, not as a worker's error every minute."""
    if (config.get("RETENTION_SWEEP_AT") or "").strip():
        sweep_time(config["RETENTION_SWEEP_AT"])


def nightly_start(now: datetime | None = None) -> datetime | None:
    """Today's time for the scheduled sweep (UTC, naive), or None when RETENTION_SWEEP_AT is not set.

    RETENTION_SWEEP_AT is "HH:MM" on the club's clock; unset, the job workers leave the sweep to cron.
    """
    at = installation.retention_sweep_at()
    if not at:
        return None
    hour, minute = sweep_time(at)
    now = (now or clock.utcnow()).replace(tzinfo=clock.UTC).astimezone(clock.LOCAL_ZONE)
    start = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return start.astimezone(clock.UTC).replace(tzinfo=None)


def nightly_due(now: datetime | None = None) -> bool:
    """Is today's scheduled sweep due: its time has come and no sweep has completed since."""
    now = now or clock.utcnow()
    start = nightly_start(now)
    if start is None or now < start:
        return False
    done = db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "retention.sweep", AuditEvent.occurred_at >= start).limit(1))
    db.session.rollback()  # end the read: the answer must not come from an old snapshot next time
    return done is None


def run_nightly() -> SweepResult | None:
    """The job workers' scheduled sweep: once a day, by whichever scheduler gets the job lock first.

    Every scheduler asks each minute. The one that holds the lock asks again whether it is still due
    (another host may have just finished it), so the sweep runs once however many schedulers there are.
    """
    if not nightly_due():
        return None
    try:
        return run_sweep(None, commit=db.session.commit, via="scheduler", only_if=nightly_due)
    except jobs.JobBusyError:
        return None  # another scheduler (or the page, or cron) is sweeping right now


def last_sweep() -> AuditEvent | None:
    """The audit entry of the most recent completed sweep."""
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "retention.sweep").order_by(AuditEvent.id.desc()).limit(1)
    )


def sweep_summary(event: AuditEvent | None) -> dict | None:
    """A completed sweep's counts for display: {'when', 'who', 'via', 'rows': [(category, action, count)]}."""
    if event is None:
        return None
    details = json.loads(event.details or "{}")
    counts = details.get("counts", {})
    actions = details.get("actions", {})
    rows = [
        (CATEGORIES[key], actions.get(key, "delete"), counts[key])
        for key in DISPLAY_ORDER
        if key in counts and key in CATEGORIES
    ]
    return {
        "when": event.occurred_at,
        "who": event.actor_username,
        "via": details.get("via"),
        "rows": rows,
        "total": sum(counts.values()),
    }


def sweep_is_stale(event: AuditEvent | None, now: datetime | None = None) -> bool:
    """True when no sweep has completed in the last STALE_AFTER_DAYS days; `event` is last_sweep()."""
    now = now or clock.utcnow()
    return event is None or event.occurred_at < now - timedelta(days=STALE_AFTER_DAYS)

