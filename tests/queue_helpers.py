"""Working the job queue in a test: what `flask jobs worker` does, one task after another, in this process."""

from app.extensions import db
from app.services import jobqueue


def work_the_queue(app, only: str | None = "longjobs.run") -> int:
    """Execute the queued tasks (by default only the long jobs; others are dropped); returns how many ran."""
    huey = jobqueue.get(app)
    # The test's own transaction ends first, as a page's does before a worker picks the job up: an
    # open one holds its locks (on PostgreSQL the VACUUM FULL after an erasure waited 5 s for it).
    db.session.commit()
    ran = 0
    while (task := huey.dequeue()) is not None:
        if only is None or task.name == only:
            huey.execute(task)
            ran += 1
    # A worker is another process: the next request must see what it wrote. The test client's
    # requests share the test's session, which would otherwise keep the rows it had loaded before
    # (a page read in production starts a session of its own).
    db.session.expire_all()
    return ran
