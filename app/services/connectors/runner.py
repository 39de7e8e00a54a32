"""What the queue's jobs do: drain a connector's outbox, the minute tick, the worker heartbeat.

Jobs commit (they are the caller); each delivery commits on its own.
"""

from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, update

from app.extensions import db
from app.models import Connector, OutboxEvent, WorkerHeartbeat
from app.services import clock, jobs
from app.services.connectors import delivery, outbox, settings

WORKER = jobs.default_holder()


# A run stopped by the partner is resumed by a delayed job when the wait is short (a rate
# limit); longer waits (an outage's backoff) are left to the minute tick.
RESUME_WITHIN_SECONDS = 60


def drain(name: str) -> delivery.RunResult:
    row = db.session.get(Connector, name)
    if row is None or not row.enabled:
        return delivery.RunResult()
    result = delivery.run_pending(name, worker=WORKER)
    if result.resume_after is not None and result.resume_after < RESUME_WITHIN_SECONDS:
        from flask import current_app

        from app.services import jobqueue

        jobqueue.kick(current_app._get_current_object(), name, delay=max(1.0, result.resume_after))
    return result


def heartbeat() -> None:
    now = clock.utcnow()
    table = WorkerHeartbeat.__table__
    with db.engine.begin() as conn:
        changed = conn.execute(update(table).where(table.c.worker == WORKER).values(seen_at=now)).rowcount
        if not changed:
            conn.execute(insert(table).values(worker=WORKER, started_at=now, seen_at=now))
        # Workers silent for a day are gone; their rows only clutter the health page.
        conn.execute(delete(table).where(table.c.seen_at < now - timedelta(days=1)))


def full_sync_due(row: Connector, now_local: datetime) -> bool:
    if not row.sync_time or row.last_full_sync_on == now_local.date().isoformat():
        return False
    return now_local.strftime("%H:%M") >= row.sync_time


def tick() -> None:
    """Every minute: say we are alive, start the daily full syncs that are due, drain what is due."""
    heartbeat()
    now_local = clock.utcnow().replace(tzinfo=clock.UTC).astimezone(clock.LOCAL_ZONE)
    for name in settings.enabled_names():
        row = db.session.get(Connector, name)
        if full_sync_due(row, now_local):
            try:
                lock = jobs.acquire(f"connector-full-sync:{name}", ttl=timedelta(minutes=10))
            except jobs.JobBusyError:
                continue
            try:
                outbox.enqueue_full_sync(row)
                row.last_full_sync_on = now_local.date().isoformat()
                db.session.commit()
            finally:
                lock.release()
        drain(name)


def worker_status() -> dict:
    """For /healthz and the dashboard: is a worker alive, the outbox backlog, parked deliveries."""
    now = clock.utcnow()
    waiting = OutboxEvent.state.in_(("pending", "claimed"))
    # One statement: the last heartbeat, the backlog, the parked deliveries and the oldest waiting row.
    seen, backlog, parked, oldest = db.session.execute(select(
        select(func.max(WorkerHeartbeat.seen_at)).scalar_subquery(),
        select(func.count()).select_from(OutboxEvent).where(waiting).scalar_subquery(),
        select(func.count()).select_from(OutboxEvent).where(OutboxEvent.state == "parked").scalar_subquery(),
        select(func.min(OutboxEvent.created_at)).where(waiting).scalar_subquery(),
    )).one()
    from app.services.jobqueue import HEARTBEAT_ALIVE_SECONDS

    return {
        "worker_alive": seen is not None and (now - seen).total_seconds() <= HEARTBEAT_ALIVE_SECONDS,
        "worker_seen_at": seen.isoformat(timespec="seconds") if seen else None,
        "outbox_backlog": int(backlog or 0),
        "outbox_oldest_at": oldest.isoformat(timespec="seconds") if oldest else None,
        "parked": int(parked or 0),
    }
