"""The job workers' scheduled sweep (RETENTION_SWEEP_AT): due once a day, run once however often asked."""

from datetime import date, datetime

from app.models import Member
from app.services import retention


def test_the_scheduled_sweep_runs_once_a_day_from_its_time_on(app, db, make_member, policies, frozen_clock,
                                                             monkeypatch):
    member = make_member(status="ended", joined_on=date(2015, 1, 1), ended_on=date(2020, 6, 30))
    frozen_clock(datetime(2026, 12, 1, 1, 30))  # 02:30 in Amsterdam
    assert retention.run_nightly() is None  # not configured: cron runs the sweep

    monkeypatch.setitem(app.config, "RETENTION_SWEEP_AT", "03:15")
    assert not retention.nightly_due()  # before its time
    frozen_clock(datetime(2026, 12, 1, 2, 20))  # 03:20 in Amsterdam
    assert retention.nightly_due()
    result = retention.run_nightly()
    assert result is not None and result.counts["ended_memberships"] == 1
    assert db.session.get(Member, member.id).status == "anonymised"

    # A second scheduler asking the same night, or the same one a minute later: nothing runs.
    assert retention.run_nightly() is None
    frozen_clock(datetime(2026, 12, 1, 21, 0))
    assert retention.run_nightly() is None
    frozen_clock(datetime(2026, 12, 2, 2, 16))  # the next night
    assert retention.nightly_due()


def test_the_scheduler_that_gets_the_lock_asks_again_before_it_sweeps(app, db, policies, frozen_clock, monkeypatch):
    monkeypatch.setitem(app.config, "RETENTION_SWEEP_AT", "03:15")
    frozen_clock(datetime(2026, 12, 1, 2, 20))
    # Due when asked, done by another scheduler by the time the lock was taken.
    assert retention.run_sweep(None, commit=db.session.commit, via="scheduler", only_if=lambda: False) is None
    assert retention.last_sweep() is None
    retention.run_sweep(None, commit=db.session.commit, via="cli")
    assert not retention.nightly_due()  # any completed sweep since 03:15 counts


def test_a_mistyped_sweep_time_stops_the_start_with_the_form_it_wants(make_app):
    import pytest

    from app.services.retention.sweep import BadSweepTimeError

    for wrong in ("3h15", "25:00", "03:75", "3:5", "soon"):
        with pytest.raises(BadSweepTimeError, match="is not a time of day: write it as HH:MM"):
            make_app(RETENTION_SWEEP_AT=wrong)
    make_app(RETENTION_SWEEP_AT="3:15")  # one-digit hours are a time of day too
    make_app(RETENTION_SWEEP_AT="")  # unset: cron starts the sweep
