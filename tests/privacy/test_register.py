"""The register: desk registration, filters, deadlines and extension, identity, dashboard, access."""

import json
from datetime import date, datetime

from sqlalchemy import select

from app.models import AuditEvent, DataRequest
from tests.privacy.helpers import get_request, register, verify


def test_only_privacy_staff_see_the_register(client, make_user, login_as):
    login_as(make_user("front_desk"))
    assert client.get("/privacy/requests").status_code == 403
    login_as(make_user("manager"))
    assert client.get("/privacy/requests").status_code == 200
    assert client.get("/privacy/requests/new").status_code == 403  # a manager has no privacy.register


def test_staff_register_a_desk_request_with_a_timeline(client, db, make_user, login_as, frozen_clock):
    frozen_clock(datetime(2026, 3, 10, 9, 0))
    officer = make_user("privacy_officer", username="petra")
    login_as(officer)
    reference = register(client, kind="access", channel="mail", received_on="2026-03-02")
    assert reference == "AVG-2026-0001"
    saved = get_request(db, reference)
    assert saved.channel == "mail" and saved.due_on == date(2026, 4, 2) and saved.created_by_id == officer.id
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Registered by staff" in page and "petra" in page and "By post" in page
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "privacy.request.registered"))
    assert json.loads(audit.details) == {"reference": reference, "kind": "access", "channel": "mail"}


def test_register_form_errors_are_shown_next_to_the_field(client, make_user, login_as):
    login_as(make_user("privacy_officer"))
    response = client.post("/privacy/requests/new", data={"kind": "access", "channel": "desk",
                                                          "requester_name": "", "requester_email": "x"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "This field is required." in page and "Invalid email address" in page


def test_filters_overdue_due_soon_and_the_dashboard(client, db, make_user, login_as, frozen_clock):
    officer = make_user("privacy_officer")

    def at(moment):  # weeks pass between the steps: the idle timeout asks for a new login
        frozen_clock(moment)
        login_as(officer)

    at(datetime(2026, 1, 5, 9, 0))
    old = register(client, kind="access")          # due 2026-02-05
    at(datetime(2026, 1, 30, 9, 0))
    soon = register(client, kind="rectification")  # due 2026-02-28
    at(datetime(2026, 2, 25, 9, 0))
    fresh = register(client, kind="erasure")       # due 2026-03-25

    def listed(query):
        page = client.get(f"/privacy/requests?{query}").get_data(as_text=True)
        return {ref for ref in (old, soon, fresh) if ref in page}

    assert listed("filter=open") == {old, soon, fresh}
    assert "Wubbeltje ter Quastenbroek" in client.get("/privacy/requests").get_data(as_text=True)
    assert listed("filter=overdue") == {old}
    assert listed("filter=due_soon") == {soon}
    assert listed("filter=all&kind=erasure") == {fresh}
    assert listed("filter=open&status=received") == {old, soon, fresh}
    dashboard = client.get("/").get_data(as_text=True)
    assert "1 overdue" in dashboard and "1 due within 7 days" in dashboard and "3 open" in dashboard and old in dashboard


def test_extend_once_by_at_most_two_months_with_a_reason(client, db, make_user, login_as, frozen_clock):
    frozen_clock(datetime(2026, 1, 31, 9, 0))
    officer = make_user("privacy_officer")
    login_as(officer)
    reference = register(client)
    assert get_request(db, reference).due_on == date(2026, 2, 28)
    url = f"/privacy/requests/{reference}/extend"

    client.post(url, data={"new_due_on": "2026-04-20", "reason": ""})
    future = client.post("/privacy/requests/new", data={"kind": "access", "channel": "desk", "requester_name": "X",
                                                          "received_on": "2026-02-02"}, follow_redirects=True)
    assert "cannot be in the future" in future.get_data(as_text=True)
    assert get_request(db, reference).extended_due_on is None
    page = client.post(url, data={"new_due_on": "2026-05-01", "reason": "Many systems"},
                       follow_redirects=True).get_data(as_text=True)
    assert "at most two months" in page and get_request(db, reference).extended_due_on is None

    client.post(url, data={"new_due_on": "2026-04-28", "reason": "Many systems to search"})
    saved = get_request(db, reference)
    assert saved.extended_due_on == date(2026, 4, 28) and saved.extension_reason == "Many systems to search"

    page = client.post(url, data={"new_due_on": "2026-04-27", "reason": "again"},
                       follow_redirects=True).get_data(as_text=True)
    assert "cannot be extended again" in page
    assert get_request(db, reference).extended_due_on == date(2026, 4, 28)
    # past the original date it is not overdue, because it was extended
    frozen_clock(datetime(2026, 3, 15, 9, 0))
    login_as(officer)  # weeks later: the idle timeout asks for a new login
    assert reference not in client.get("/privacy/requests?filter=overdue").get_data(as_text=True)
    frozen_clock(datetime(2026, 4, 29, 9, 0))
    login_as(officer)
    assert reference in client.get("/privacy/requests?filter=overdue").get_data(as_text=True)
    assert "Deadline extended" in client.get(f"/privacy/requests/{reference}").get_data(as_text=True)


def test_identity_search_and_verification(client, db, make_user, login_as, make_member):
    login_as(make_user("privacy_officer"))
    member = make_member(first_name="Jörg", last_name="Zandvoort", date_of_birth=date(1977, 7, 7))
    make_member(first_name="Other", last_name="Person", date_of_birth=date(1988, 8, 8))
    reference = register(client)
    for query in (str(member.member_number), "jorg zandvoort", "1977-07-07", "07-07-1977", member.email):
        page = client.post(f"/privacy/requests/{reference}/identity/search", data={"q": query}).get_data(as_text=True)
        assert "Zandvoort" in page and "Person" not in page, query
    # the term travels in the body only: a ?q= on the page's address is not a search
    assert "Zandvoort" not in client.get(f"/privacy/requests/{reference}/identity?q=zandvoort").get_data(as_text=True)
    bad = client.post(f"/privacy/requests/{reference}/identity", data={"member_number": "999999", "method": "x"})
    assert "No member with this number." in bad.get_data(as_text=True)
    verify(client, reference, member)
    saved = get_request(db, reference)
    assert saved.member_id == member.id and saved.member_number == member.member_number
    assert saved.identity_method == "Passport shown at the desk" and saved.status == "in_progress"
    details = [e.details for e in db.session.scalars(select(AuditEvent))]
    assert not any("Zandvoort" in d or "Passport" in d for d in details)


def test_identity_search_keeps_the_field_level_rules_of_the_member_list(client, db, make_user, login_as, make_member):
    """privacy.view + privacy.handle without members.contact: no email shown, and an email finds nobody."""
    member = make_member(first_name="Hester", last_name="Wolkenkrabber", email="hester.wolk@contact.example",
                         city="Sneek")
    login_as(make_user(permissions=["privacy.view", "privacy.handle", "members.view"]))
    reference = register(client, requester_email="hester.wolk@contact.example")
    base = f"/privacy/requests/{reference}/identity"
    for page in (client.get(base), client.post(f"{base}/search", data={"q": "wolkenkrabber"})):
        text = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "hester.wolk@contact.example" not in text.split("What the requester told us")[1].split("</dl>", 1)[1]
    text = client.post(f"{base}/search", data={"q": "wolkenkrabber"}).get_data(as_text=True)
    assert str(member.member_number) in text and "Wolkenkrabber" in text
    for term in ("hester.wolk@contact.example", "sneek"):
        text = client.post(f"{base}/search", data={"q": term}).get_data(as_text=True)
        assert "Wolkenkrabber" not in text, term
    login_as(make_user("privacy_officer"))
    text = client.post(f"{base}/search", data={"q": "hester.wolk@contact.example"}).get_data(as_text=True)
    assert "Wolkenkrabber" in text and text.count("hester.wolk@contact.example") >= 2


def test_access_request_closes_and_minimises(client, db, make_user, login_as, make_member):
    login_as(make_user("privacy_officer"))
    member = make_member()
    reference = register(client, kind="access")
    verify(client, reference, member)
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Give the requester everything the club holds on them" in page
    client.post(f"/privacy/requests/{reference}/close", data={"status": "completed", "outcome": "Export handed over"})
    saved = get_request(db, reference)
    assert saved.status == "completed" and saved.closed_at and saved.minimised_at
    assert saved.requester_name is None and saved.requester_email is None
    assert saved.member_number == member.member_number
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Contact details removed" in page and "Closed: completed" in page


def test_the_front_desk_registers_requests_but_does_not_see_the_register(client, db, make_user, login_as):
    login_as(make_user("front_desk"))
    assert "Register a request" in client.get("/").get_data(as_text=True)
    response = client.post("/privacy/requests/new", data={"kind": "erasure", "channel": "desk",
                                                          "requester_name": "Kees Balie"})
    assert response.headers["Location"].endswith("/privacy/requests/new")
    page = client.get("/privacy/requests/new").get_data(as_text=True)
    assert "Request AVG-" in page and "registered" in page
    saved = db.session.scalar(select(DataRequest))
    assert saved.kind == "erasure" and saved.channel == "desk"
    assert client.get(f"/privacy/requests/{saved.reference}").status_code == 403
    assert client.get("/privacy/requests").status_code == 403


def test_identity_hits_come_from_the_name_too_and_one_click_links_the_member(client, db, make_user, make_member,
                                                                             login_as):
    from app.services import privacy_requests as requests_service

    lotte = make_member(first_name="Lotte", infix=None, last_name="Jansen", email="lotte.j@example.nl")
    make_member(first_name="Piet", infix=None, last_name="Bakker")
    data_request = requests_service.register("erasure", channel="email", requester_name="Lotte Jansen",
                                             requester_email="another-address@example.org")
    db.session.commit()
    login_as(make_user("privacy_officer"))
    page = client.get(f"/privacy/requests/{data_request.reference}/identity").get_data(as_text=True)
    assert "Jansen, Lotte" in page and "Bakker" not in page  # the email matches nobody; the name does
    assert f'name="pick" value="{lotte.member_number}"' in page
    client.post(f"/privacy/requests/{data_request.reference}/identity",
                data={"pick": str(lotte.member_number), "method": "Passport at the desk.", "member_number": ""})
    db.session.refresh(data_request)
    assert data_request.member_id == lotte.id
