"""The audit log viewer: filters by actor, action, member number and date range; paginated."""

from datetime import datetime

import pytest

from app.services import audit


@pytest.fixture
def events(db, make_user, frozen_clock):
    desk = make_user("front_desk", username="desk")
    coach = make_user("trainer", username="coach")
    frozen_clock(datetime(2026, 3, 1, 10, 0))
    audit.record("member.viewed", desk, member_number=1001)
    frozen_clock(datetime(2026, 3, 5, 10, 0))
    audit.record("member.viewed", coach, member_number=1002)
    frozen_clock(datetime(2026, 3, 9, 22, 30))  # 23:30 in Amsterdam: still 9 March locally
    audit.record("member.edited", desk, member_number=1002)
    db.session.commit()
    frozen_clock(None)
    return desk, coach


@pytest.fixture
def auditor(client, make_user, login_as):
    user = make_user("privacy_officer", username="privacy")
    login_as(user)
    return user


def _rows(page: str) -> int:
    return page.count('<tr class="event">')


def test_all_events_without_filters(client, events, auditor):
    page = client.get("/admin/audit").get_data(as_text=True)
    assert _rows(page) == 4  # three events plus the auditor's own login
    assert "member.edited" in page and "desk" in page


def test_filter_by_actor_action_member_and_dates(client, events, auditor):
    page = client.get("/admin/audit?actor=DESK").get_data(as_text=True)
    assert _rows(page) == 2
    page = client.get("/admin/audit?action=member.viewed").get_data(as_text=True)
    assert _rows(page) == 2
    page = client.get("/admin/audit?member_number=1002").get_data(as_text=True)
    assert _rows(page) == 2
    page = client.get("/admin/audit?member_number=1002&actor=coach").get_data(as_text=True)
    assert _rows(page) == 1
    page = client.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-09").get_data(as_text=True)
    assert _rows(page) == 2  # 5 March and the late evening of 9 March (local time)
    page = client.get("/admin/audit?date_from=2026-03-10&date_to=2026-03-01").get_data(as_text=True)
    assert "The end date lies before the start date." in page


def test_bad_filter_input_is_explained_not_a_500(client, events, auditor):
    response = client.get("/admin/audit?member_number=abc&date_from=yesterday")
    assert response.status_code == 200
    assert "Not a valid integer value." in response.get_data(as_text=True)


def test_pagination_keeps_the_filters(client, db, auditor):
    for _ in range(120):
        audit.record("member.viewed", None, member_number=5000)
    db.session.commit()
    page = client.get("/admin/audit?member_number=5000").get_data(as_text=True)
    assert _rows(page) == 50 and "Page 1 of 3" in page
    assert "member_number=5000" in page and "page=2" in page
    page = client.get("/admin/audit?member_number=5000&page=3").get_data(as_text=True)
    assert _rows(page) == 20


def test_front_desk_cannot_read_the_audit_log(client, make_user, login_as):
    login_as(make_user("front_desk"))
    assert client.get("/admin/audit").status_code == 403
