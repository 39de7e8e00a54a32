"""The job queue: huey, with SQLite storage in instance/ (one club) or Redis or PostgreSQL (a chain).

Jobs carry no personal data: a connector's name at most. The outbox in the database is
the truth about what must be delivered; a job only says "drain now", and the periodic
tick (every minute) drains whatever is due, so a lost job loses nothing.
"""

import logging
import os
import urllib.parse
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)

NAME = "clubhouse"
HEARTBEAT_ALIVE_SECONDS = 180
JOBS_SCHEMA = "clubhouse_jobs"


class JobQueueError(Exception):
    """JOBS_URL names a storage this installation cannot use."""


def _sqlite_path(url: str) -> Path:
    return Path(urllib.parse.urlsplit(url).path if url.startswith("sqlite:////") else url[len("sqlite:///"):])


def make_huey(url: str):
    """A huey instance for JOBS_URL (sqlite:///path, redis://..., postgresql://...)."""
    if url.startswith("sqlite:///"):
        path = _sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)
        return SqliteHuey(NAME, filename=str(path))
    if url.startswith(("redis://", "rediss://", "unix://")):
        try:
            return RedisHuey(NAME, url=url)
        except ImportError as error:  # the redis client is an optional package
            raise JobQueueError("JOBS_URL names Redis but the 'redis' package is not installed") from error
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return _postgres_huey("postgresql://" + url.split("://", 1)[1])
    raise JobQueueError("JOBS_URL must start with sqlite:///, redis:// or postgresql://")


def _postgres_huey(dsn: str):
    """huey's PostgreSQL storage (dequeue with SKIP LOCKED), in a schema of its own.

    Its tables live in the schema `clubhouse_jobs`, not beside the application's tables, so
    the migrations never see them (and never propose to drop them).
    """
    import psycopg
    from huey import PostgresHuey

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {JOBS_SCHEMA}")
    return PostgresHuey(NAME, dsn=dsn, options=f"-c search_path={JOBS_SCHEMA}")


def get(app):
    """The app's huey, built once (again when the SQLite file was removed) with the tasks registered."""
    url = app.config["JOBS_URL"]
    huey = app.extensions.get("huey")
    if huey is not None and url.startswith("sqlite:///") and not _sqlite_path(url).exists():
        huey = None
    if huey is None:
        huey = make_huey(url)
        app.extensions["huey"] = huey
        app.extensions["huey_tasks"] = _register(huey, app)
    return huey


def _register(huey, app) -> dict:
    from app.services.connectors import runner

    @huey.task(name="connectors.drain")
    def drain(connector: str):
        with app.app_context():
            runner.drain(connector)

    @huey.periodic_task(crontab(minute="*"), name="connectors.tick")
    def tick():
        with app.app_context():
            runner.tick()

    @huey.periodic_task(crontab(minute="*"), name="retention.nightly")
    def nightly():
        from app.services import retention

        with app.app_context():
            retention.run_nightly()

    @huey.task(name="longjobs.run")
    def long_job(run_id: int):
        from app.services import longjobs

        with app.app_context():
            longjobs.execute(run_id)

    from app.services import importer, mail

    return {"drain": drain, "tick": tick, "nightly": nightly, "long_job": long_job,
            **importer.register_tasks(huey, app), **mail.register_tasks(huey, app)}


def run_long_job(app, run_id: int) -> None:
    """Put a long job's run on the queue (only its id travels); raises JobQueueError when the queue is unusable."""
    get(app)
    app.extensions["huey_tasks"]["long_job"](run_id)


def kick(app, connector: str, delay: float | None = None) -> None:
    """Ask a worker to drain a connector's outbox now (or after `delay` seconds). Never raises: the tick is the fallback."""
    try:
        get(app)
        task = app.extensions["huey_tasks"]["drain"]
        if delay:
            task.schedule(args=(connector,), delay=delay)
        else:
            task(connector)
    except Exception:  # noqa: BLE001 - a queue that is down must not undo a committed change
        log.warning("job queue unavailable; the outbox waits for the next tick")


def run_worker(app, workers: int = 1) -> None:
    """Run a huey consumer in this process until stopped (SIGINT/SIGTERM)."""
    huey = get(app)
    with app.app_context():
        from app.services.connectors import runner

        runner.heartbeat()
    if app.config.get("RETENTION_SWEEP_AT"):
        # A worker started after the sweep's time (a restart, a new host) does not wait for the next
        # minute's tick: the queue gets the check now, and whichever worker takes it asks the lock.
        app.extensions["huey_tasks"]["nightly"]()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                    check_worker_health=True, initial_delay=0.1, max_delay=2.0)
    consumer.run()
