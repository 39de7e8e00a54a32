"""The member page: the desk's actions in one row at the top, what changes a membership for good on its own tab."""

import re

from sqlalchemy import func, select

from app.models import Visit


def _html(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _action_row(html: str) -> str:
    found = re.search(r'<div class="actions member-actions no-print" id="member-actions">(.*?)</div>', html, re.S)
    assert found, "no action row"
    return found.group(1)


def test_front_desk_checks_in_with_one_click_from_the_top_row(client, db, login_as, make_user, make_member):
    member = make_member()
    login_as(make_user("front_desk"))
    page = f"/members/{member.member_number}"
    row = _action_row(_html(client, page))
    assert 'id="member-check-in"' in row and f'href="{page}/edit"' in row
    assert f'href="{page}?tab=privacy"' in row  # front desk may opt a member out of a partner, end a membership
    assert 'type="text"' not in row  # the number is the page's: nothing to type
    response = client.post("/members/checkin", data={"member_number": str(member.member_number), "next": page})
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert db.session.scalar(select(func.count()).select_from(Visit).where(Visit.member_id == member.id)) == 1


def test_nothing_destructive_on_the_default_tab(client, login_as, make_user, make_member):
    member = make_member()
    login_as(make_user("administrator"))
    profile = _html(client, f"/members/{member.member_number}")
    assert "End membership" not in profile and 'id="data-export"' not in profile
    assert "Place a legal hold" not in profile
    assert 'id="contact-details"' in profile  # the profile itself is right under the actions
    privacy = _html(client, f"/members/{member.member_number}?tab=privacy")
    assert 'id="end-membership"' in privacy and 'id="data-export"' in privacy and "Place a legal hold" in privacy
    assert 'aria-current="page">Privacy and membership</a>' in privacy


def test_a_trainer_has_no_privacy_tab_and_no_edit(client, login_as, make_user, make_member):
    member = make_member()
    login_as(make_user("trainer"))  # members.view, check-in, notes, health
    html = _html(client, f"/members/{member.member_number}")
    row = _action_row(html)
    assert 'id="member-check-in"' in row and "/edit" not in row and "tab=privacy" not in row
    assert "tab=privacy" not in html
    _html(client, f"/members/{member.member_number}?tab=privacy", status=403)


def test_an_ended_member_shows_no_check_in_and_no_end_membership(client, login_as, make_user, make_member):
    from datetime import date

    member = make_member(status="ended", ended_on=date(2025, 1, 1))
    login_as(make_user("administrator"))
    row = _action_row(_html(client, f"/members/{member.member_number}"))
    assert 'id="member-check-in"' not in row and "/edit" in row
    assert 'id="end-membership"' not in _html(client, f"/members/{member.member_number}?tab=privacy")


def test_a_bad_end_date_comes_back_on_the_privacy_tab_with_the_error(client, login_as, make_user, make_member):
    member = make_member()
    login_as(make_user("administrator"))
    response = client.post(f"/members/{member.member_number}/end", data={"ended_on": "31-02-2026x"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-current="page">Privacy and membership</a>' in html
    assert re.search(r'<div class="field has-error">\s*<label for="ended_on"', html)
