"""A full synchronisation started from the page runs on the job queue, with its progress and outcome on a page."""

import pytest

from app.models import JobRun
from app.services import jobs, longjobs
from tests.queue_helpers import work_the_queue


def test_a_full_sync_from_the_page_runs_on_the_queue_and_shows_its_outcome(app, client, login_as, make_user, configure,
                                                                          egym, egym_member, db, clock_at):
    configure()
    egym_member()
    egym_member()
    egym_member(gender=None)  # eGym requires a gender: an error to resolve
    from app.models import OutboxEvent

    db.session.execute(OutboxEvent.__table__.delete())  # the members' own outbox rows: only the full sync sends
    db.session.commit()
    login_as(make_user("administrator", username="admin"))
    response = client.post("/integrations/egym/sync")
    run_page = response.headers["Location"]
    assert "/integrations/egym/sync/" in run_page
    assert egym.calls("POST") == []  # nothing was sent inside the request
    page = client.get(run_page).get_data(as_text=True)
    assert "has started" in page and "Waiting for a job worker" in page and 'http-equiv="refresh"' in page
    # A second start while it is queued is refused with a clear message, and shows the same run.
    again = client.post("/integrations/egym/sync")
    assert again.headers["Location"] == run_page
    assert "This job is already running" in client.get(run_page).get_data(as_text=True)
    overview = client.get("/integrations").get_data(as_text=True)
    assert "Full synchronisation running: 0 of ?" in overview and run_page in overview
    assert work_the_queue(app) == 1
    page = client.get(run_page).get_data(as_text=True)
    assert "Finished." in page and 'class="job-progress">3 / 3 (100%)' in page
    assert 'class="job-errors">1<' in page and "2 delivered, 1 parked" in page
    assert len(egym.accounts) == 2
    # Done: a new start is accepted.
    assert client.post("/integrations/egym/sync").headers["Location"] != run_page


def test_the_page_shows_progress_while_it_runs_and_an_outage_as_the_outcome(app, client, login_as, make_user, configure,
                                                                           egym, egym_member, db, clock_at):
    configure()
    egym_member()
    login_as(make_user("administrator", username="admin"))
    run_page = client.post("/integrations/egym/sync").headers["Location"]
    run = db.session.scalar(db.select(JobRun))
    run.state, run.total, run.processed, run.errors = "running", 40, 10, 2
    db.session.commit()
    page = client.get(run_page).get_data(as_text=True)
    assert "Running." in page and 'class="job-progress">10 / 40 (25%)' in page and 'value="25"' in page
    run.state = "queued"
    db.session.commit()
    egym.down = True
    work_the_queue(app)
    page = client.get(run_page).get_data(as_text=True)
    assert "Finished." in page and "The partner stopped answering; the rest is sent" in page


def test_the_job_lock_still_keeps_it_to_one_run_across_hosts(app, client, login_as, make_user, configure, egym,
                                                            egym_member, db, clock_at):
    configure()
    egym_member()
    login_as(make_user("administrator", username="admin"))
    other_host = jobs.acquire("connector-full-sync:egym", holder="other-host:1:abc")
    response = client.post("/integrations/egym/sync", follow_redirects=True)
    assert "by the nightly job or the command line" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(JobRun)) is None
    # The lock is taken between the start and the worker (the nightly tick): the run reports it, nothing was done.
    other_host.release()
    run_page = client.post("/integrations/egym/sync").headers["Location"]
    other_host = jobs.acquire("connector-full-sync:egym", holder="other-host:1:abc")
    work_the_queue(app)
    other_host.release()
    assert "held the job lock; nothing was done" in client.get(run_page).get_data(as_text=True)
    assert egym.calls("POST") == []


def test_a_run_whose_worker_died_is_given_up_once_stale(db, clock_at, make_user):
    from datetime import timedelta

    from app.services import clock

    first = longjobs.start(longjobs.RETENTION_SWEEP, actor=None)
    db.session.commit()
    with pytest.raises(longjobs.JobAlreadyRunningError):
        longjobs.start(longjobs.RETENTION_SWEEP, actor=None)
    db.session.rollback()
    clock.freeze(clock.utcnow() + longjobs.STALE_AFTER + timedelta(minutes=1))
    second = longjobs.start(longjobs.RETENTION_SWEEP, actor=None)
    db.session.commit()
    db.session.refresh(first)
    assert first.state == "failed" and first.active_key is None and second.active_key == longjobs.RETENTION_SWEEP
