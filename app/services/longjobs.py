"""Long jobs started from a page: the retention sweep and a connector's full sync, run on the job queue.

The page's request only records a run (`job_runs`, state queued) and puts a job holding the
run's id on the queue; the worker does the work and writes its progress (processed / total,
errors) on a connection of its own, so the page can show it while the work's own
transactions are still open. Afterwards the run keeps its outcome (counts, codes; no
personal data).

One run of a kind at a time, twice over:
- `job_runs.active_key` is unique and holds the kind while a run is queued or running, so a
  second start (another tab, another host) is refused by the database itself;
- the work runs under the job lock (`jobs.acquire`), as the nightly job does, so a page's
  run and the nightly run never overlap either.
A run whose worker died stays active until it is stale (no progress for STALE_AFTER and its
lock not held); the next start then marks it failed and starts anew.
"""

import json
import logging
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import JobRun, User
from app.services import clock, installation, jobs
from app.services.errors import DomainError

log = logging.getLogger(__name__)

RETENTION_SWEEP = "retention_sweep"
FULL_SYNC = "full_sync:"
STALE_AFTER = timedelta(minutes=15)
SYNC_BATCH = 50


class JobAlreadyRunningError(DomainError):
    """A run of this kind is queued or running: the second start is refused."""

    def __init__(self, run: JobRun | None, message=None):
        super().__init__(message or _l(
            "This job is already running (started %(when)s, %(processed)s of %(total)s done). Nothing was started; "
            "follow its progress on this page.",
            when=run.created_at.strftime("%Y-%m-%d %H:%M") if run else "?", processed=run.processed if run else 0,
            total=run.total if run and run.total is not None else "?"))
        self.run = run

    def __str__(self) -> str:
        return str(self.message)


def lock_name(kind: str) -> str:
    if kind == RETENTION_SWEEP:
        from app.services import retention

        return retention.JOB_NAME
    return f"connector-full-sync:{kind[len(FULL_SYNC):]}"


def active(kind: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.active_key == kind))


def latest(kind: str) -> JobRun | None:
    return db.session.scalar(select(JobRun).where(JobRun.kind == kind).order_by(JobRun.id.desc()).limit(1))


def _clear_stale(kind: str) -> None:
    run = active(kind)
    if run is None:
        return
    if clock.utcnow() - run.updated_at < STALE_AFTER or jobs.current_lock(lock_name(kind)) is not None:
        raise JobAlreadyRunningError(run)
    run.state, run.active_key, run.finished_at = "failed", None, clock.utcnow()
    run.outcome = json.dumps({"error": "abandoned"})
    db.session.flush()


def start(kind: str, *, actor, total: int | None = None) -> JobRun:
    """Record a queued run of `kind` (JobAlreadyRunningError when one is active). Flushes; the caller
    commits and then calls `enqueue(run)`."""
    if kind != RETENTION_SWEEP and not kind.startswith(FULL_SYNC):
        raise ValueError(kind)
    _clear_stale(kind)
    held = jobs.current_lock(lock_name(kind))
    if held is not None:  # the nightly job (or the CLI) is at it right now
        raise JobAlreadyRunningError(None, _l(
            "This job is already running (started %(when)s by the nightly job or the command line). Nothing was "
            "started; wait until it has finished.", when=held.acquired_at.strftime("%Y-%m-%d %H:%M")))
    now = clock.utcnow()
    run = JobRun(kind=kind, state="queued", active_key=kind, total=total, processed=0, errors=0,
                 started_by_id=getattr(actor, "id", None), created_at=now, updated_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(run)
            db.session.flush()
    except IntegrityError:
        raise JobAlreadyRunningError(active(kind)) from None
    return run


def enqueue(run: JobRun) -> None:
    """After the commit: put the run on the queue (only its id travels)."""
    from app.services import jobqueue

    jobqueue.run_long_job(current_app._get_current_object(), run.id)


def enqueue_or_fail(run: JobRun) -> bool:
    """Enqueue after the commit; when the queue cannot take it, the run is marked failed (committed) and False returned."""
    try:
        enqueue(run)
    except Exception:  # noqa: BLE001 - a queue that is down must give a message, not a stuck run
        log.warning("job queue unavailable; long job %s not started", run.kind)
        _write(run.id, state="failed", active_key=None, finished_at=clock.utcnow(),
               outcome=json.dumps({"error": "queue_unavailable"}))
        return False
    return True


def _write(run_id: int, **values) -> None:
    """Progress on a connection of its own: visible to the page at once, whatever the work's transaction does."""
    table = JobRun.__table__
    with db.engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == run_id).values(updated_at=clock.utcnow(), **values))


def execute(run_id: int) -> None:
    """The worker's side: do the run's work, with progress and an outcome. Never raises for the work's failures."""
    run = db.session.get(JobRun, run_id)
    if run is None or run.state != "queued":
        return
    kind, actor = run.kind, db.session.get(User, run.started_by_id) if run.started_by_id else None
    db.session.rollback()
    _write(run_id, state="running", started_at=clock.utcnow())
    try:
        if kind == RETENTION_SWEEP:
            outcome = _sweep(run_id, actor)
        else:
            outcome = _full_sync(run_id, kind[len(FULL_SYNC):])
    except jobs.JobBusyError:
        db.session.rollback()
        _write(run_id, state="failed", active_key=None, finished_at=clock.utcnow(), outcome=json.dumps({"error": "busy"}))
        return
    except Exception as error:  # noqa: BLE001 - the run must end with an outcome, not stay "running"
        db.session.rollback()
        log.exception("long job %s (run %s) failed", kind, run_id)
        _write(run_id, state="failed", active_key=None, finished_at=clock.utcnow(),
               outcome=json.dumps({"error": type(error).__name__}))
        return
    _write(run_id, state="done", active_key=None, finished_at=clock.utcnow(), outcome=json.dumps(outcome))


def _due_now(categories=None) -> int:
    """Rows (members) the enabled policies would process now; counted again as the sweep moves on."""
    from sqlalchemy import func

    from app.services import retention

    today = clock.today()
    total = 0
    for policy in retention.policies():
        if policy.enabled and (categories is None or policy.category in categories):
            model = retention.RULES[policy.category].model
            total += db.session.scalar(
                select(func.count()).select_from(model).where(retention.due_condition(policy, today))) or 0
    return total


def _sweep(run_id: int, actor) -> dict:
    """The sweep with its progress. The total is honest rather than fixed: ended memberships come
    first, and erasing a member takes their notes, visits and consents with them, so the other
    categories are counted when the sweep reaches them (processed so far + what is still due)."""
    from app.services import retention

    state = {"processed": 0, "seen": set()}

    def progress(category: str, count: int) -> None:
        state["processed"] += count
        values = {"processed": state["processed"]}
        if category not in state["seen"]:
            state["seen"].add(category)
            if category != "ended_memberships":
                values["total"] = state["processed"] + _due_now()
        _write(run_id, **values)

    first = _due_now({"ended_memberships"})
    _write(run_id, total=first or _due_now())
    result = retention.run_sweep(actor, commit=db.session.commit, via="web", progress=progress)
    # Erasure letters nobody marked sent go after their own keeping period, with the sweep (as in the CLI).
    from app.services import privacy_requests

    privacy_requests.expire_letters(installation.letter_keep_days(), actor=actor)
    db.session.commit()
    _write(run_id, processed=result.total, total=result.total)
    return {"counts": result.counts, "actions": result.actions, "total": result.total}


def _full_sync(run_id: int, name: str) -> dict:
    from app.models import OutboxEvent
    from app.services.connectors import delivery, outbox, settings

    lock = jobs.acquire(lock_name(FULL_SYNC + name), ttl=timedelta(minutes=10))
    try:
        row = settings.connector(name, create=False)
        if row is None or not row.enabled:
            return {"error": "disabled"}
        queued = outbox.enqueue_full_sync(row)
        db.session.commit()
        from sqlalchemy import func

        total = db.session.scalar(select(func.count()).select_from(OutboxEvent).where(
            OutboxEvent.connector == name, OutboxEvent.state.in_(("pending", "claimed")))) or 0
        _write(run_id, total=total)
        done = {"delivered": 0, "parked": 0, "retrying": 0, "queued": queued, "stopped": None}
        while True:
            result = delivery.run_pending(name, max_rows=SYNC_BATCH)
            done["delivered"] += result.delivered
            done["parked"] += result.parked
            done["retrying"] += result.retrying
            _write(run_id, processed=done["delivered"] + done["parked"], errors=done["parked"])
            lock.renew()
            if result.stopped:
                done["stopped"] = result.stopped  # the partner stopped answering: the rest waits for the retry
                break
            if result.delivered + result.parked + result.retrying == 0:
                break
        return done
    finally:
        lock.release()


def describe(run: JobRun | None) -> dict | None:
    """What the page shows of a run."""
    if run is None:
        return None
    outcome = json.loads(run.outcome) if run.outcome else {}
    percent = None
    if run.total:
        percent = min(100, int(run.processed * 100 / run.total))
    labels = {}
    if isinstance(outcome.get("counts"), dict):  # a sweep's counts are keyed by retention category
        from app.services.retention import CATEGORIES

        labels = {key: CATEGORIES[key].label for key in outcome["counts"] if key in CATEGORIES}
    return {"run": run, "outcome": outcome, "percent": percent, "running": run.state in ("queued", "running"),
            "labels": labels}

