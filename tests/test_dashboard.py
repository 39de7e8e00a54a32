"""The dashboard: every figure links to the list behind it, and that list shows the same count."""

import re
from datetime import datetime, timedelta
from html import escape

from flask_babel import refresh

from app.models import ConnectorMember, OutboxEvent, Visit
from app.services import clock, retention


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _figure(html: str, figure_id: str) -> tuple[str, str]:
    """(href, text) of the dashboard figure with this id."""
    found = re.search(rf'<a id="{figure_id}" href="([^"]+)">([^<]+)</a>', html)
    assert found, f"no figure {figure_id}"
    return found.group(1).replace("&amp;", "&"), found.group(2)


def test_active_members_and_visits_today_link_to_lists_with_the_same_counts(client, db, make_user, login_as,
                                                                              make_member):
    members = [make_member(last_name=f"Visser{i}") for i in range(3)]
    make_member(last_name="Gestopt", status="ended")
    for member in members[:2]:
        db.session.add(Visit(member_id=member.id, checked_in_at=clock.utcnow(), source="desk"))
    db.session.add(Visit(member_id=members[2].id, checked_in_at=clock.utcnow() - timedelta(days=1), source="gate"))
    db.session.commit()
    login_as(make_user("front_desk"))
    html = _page(client.get("/"))

    href, figure = _figure(html, "figure-active-members")
    assert figure == "3"
    assert "3 members found" in _page(client.get(href))

    href, figure = _figure(html, "figure-visits-today")
    assert figure == "2" and href == "/members/visits"
    visits = _page(client.get(href))
    assert "2 visits today" in visits
    assert "Visser0" in visits and "Visser1" in visits and "Visser2" not in visits  # yesterday's is not today's
    # The latest check-ins panel links to the same list.
    assert 'id="panel-visits"' in html and "Visser1" in html


def test_the_visits_list_needs_members_view(client, make_user, login_as):
    login_as(make_user(permissions=["privacy.register"]))
    assert client.get("/members/visits").status_code == 403


def test_figures_have_thousands_separators_in_both_languages(client, make_user, login_as, monkeypatch):
    from app.services import members

    monkeypatch.setattr(members, "dashboard_counts", lambda: {"active_members": 22629, "visits_today": 1204})
    login_as(make_user("front_desk"))
    client.post("/language", data={"lang": "en"})
    html = _page(client.get("/"))
    assert _figure(html, "figure-active-members")[1] == "22,629"
    assert _figure(html, "figure-visits-today")[1] == "1,204"
    client.post("/language", data={"lang": "nl"})
    refresh()  # the tests' app context outlives a request: forget the locale Flask-Babel cached on it
    html = _page(client.get("/"))
    assert _figure(html, "figure-active-members")[1] == "22.629"
    assert _figure(html, "figure-visits-today")[1] == "1.204"


def test_locked_accounts_link_to_the_locked_users_only(client, db, make_user, login_as):
    locked = make_user(username="opgesloten", locked_until=clock.utcnow() + timedelta(minutes=10))
    make_user(username="vrij")
    make_user(username="ooitopgesloten", locked_until=clock.utcnow() - timedelta(minutes=1))
    login_as(make_user("administrator"))
    html = _page(client.get("/"))
    href, figure = _figure(html, "figure-accounts-locked")
    assert figure == "1" and href == "/admin/users?filter=locked"
    users = _page(client.get(href))
    assert "1 user" in users and locked.username in users
    assert "vrij" not in users and "ooitopgesloten" not in users
    everyone = _page(client.get("/admin/users?filter=nonsense"))  # an unknown filter is the whole list
    assert "vrij" in everyone and 'id="user-filter"' not in everyone


def test_retention_figures_link_to_their_rows_and_the_warning_says_how_to_set_up_the_job(client, make_user,
                                                                                       login_as, make_member):
    # Ended long ago: due under the ended-membership policy (the sweep has never run).
    make_member(status="ended", ended_on=clock.today().replace(year=clock.today().year - 9))
    login_as(make_user("privacy_officer"))
    html = _page(client.get("/"))
    panel = html[html.index('id="panel-retention"'):]
    panel = panel[:panel.index("</section>")]
    assert escape(retention.CRON_LINE) in panel and retention.SWEEP_COMMAND in panel
    links = re.findall(r'<td class="num"><a href="([^"#]+)#([^"]+)">([^<]+)</a></td>', panel)
    assert links, panel
    target_pages = {path for path, _anchor, _n in links}
    assert target_pages == {"/privacy/retention/preview", "/privacy/retention"}
    for path, anchor, count in links:
        page = _page(client.get(path))
        row = re.search(rf'<tr id="{anchor}">(.*?)</tr>', page, re.S)
        assert row, (path, anchor)
        assert f'<td class="num">{count}</td>' in row.group(1)


def test_partner_sync_errors_panel_links_to_the_partner_overview(client, db, make_user, login_as, make_member):
    member = make_member()
    db.session.add(ConnectorMember(connector="egym", member_id=member.id, state="failed", error_code="conflict"))
    db.session.add_all([OutboxEvent(connector="egym", member_id=member.id, kind="update", state="parked")
                        for _ in range(2)])
    db.session.add(OutboxEvent(connector="egym", member_id=member.id, kind="update", state="done",
                               done_at=datetime(2026, 1, 1)))
    db.session.commit()
    login_as(make_user("manager"))
    html = _page(client.get("/"))
    assert "Partner sync errors" in html
    panel = html[html.index('id="panel-sync-errors"'):]
    panel = panel[:panel.index("</section>")]
    assert re.search(r'<a href="/integrations#connector-egym">1</a>', panel)  # failed
    assert re.search(r'<a href="/integrations#connector-egym">2</a>', panel)  # parked
    overview = _page(client.get("/integrations"))
    section = overview[overview.index('id="connector-egym"'):]
    assert re.search(r'<td class="num">1</td><td class="num">2</td></tr>', section)  # Failed, Parked deliveries


def test_no_sync_errors_no_panel(client, make_user, login_as):
    login_as(make_user("manager"))
    assert "Partner sync errors" not in _page(client.get("/"))
