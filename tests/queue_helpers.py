"""Working the job queue in a test: what `flask jobs worker` does, one task after another, in this process."""

from app.services import jobqueue


def work_the_queue(app, only: str | None = "longjobs.run") -> int:
    """Execute the queued tasks (by default only the long jobs; others are dropped); returns how many ran."""
    huey = jobqueue.get(app)
    ran = 0
    while (task := huey.dequeue()) is not None:
        if only is None or task.name == only:
            huey.execute(task)
            ran += 1
    return ran
