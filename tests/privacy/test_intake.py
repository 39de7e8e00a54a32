"""The public intake form: reference, honeypot, rate limit, CSRF, the intake-only portal."""

import re
from datetime import date, datetime

from sqlalchemy import func, select

from app.models import DataRequest

VALID = {
    "name": "Saskia Bloembollen", "email": "saskia@example.nl", "member_number": "1234",
    "date_of_birth": "1985-04-03", "kind": "erasure", "message": "Please remove me.", "website": "",
}


def stored(db):
    return db.session.scalar(select(func.count()).select_from(DataRequest))


def test_form_explains_every_kind_without_login(client):
    page = client.get("/request").get_data(as_text=True)
    for word in ("Access", "Portability", "Erasure", "Rectification", "Restriction", "Objection"):
        assert word in page
    assert "invoices, must be kept by law" in page
    assert 'autocomplete="off"' in page  # a kiosk must not offer the previous person's answers


def test_a_request_gets_a_reference_and_a_due_date(client, db, frozen_clock):
    frozen_clock(datetime(2026, 1, 31, 10, 0))
    response = client.post("/request", data=VALID)
    assert response.status_code == 302 and response.headers["Location"].endswith("/request/sent")
    page = client.get("/request/sent").get_data(as_text=True)
    assert "AVG-2026-0001" in page
    saved = db.session.scalar(select(DataRequest))
    assert saved.reference == "AVG-2026-0001" and saved.kind == "erasure" and saved.channel == "intake"
    assert saved.requester_name == "Saskia Bloembollen" and saved.requester_date_of_birth == date(1985, 4, 3)
    assert saved.due_on == date(2026, 2, 28)  # one month, clamped to the end of February
    assert [e.action for e in saved.events] == ["received"]
    # the confirmation is shown once; reloading goes back to an empty form
    assert client.get("/request/sent").status_code == 302
    client.post("/request", data=VALID)
    assert "AVG-2026-0002" in client.get("/request/sent").get_data(as_text=True)
    frozen_clock(datetime(2027, 1, 2, 10, 0))
    client.post("/request", data=VALID)
    assert "AVG-2027-0001" in client.get("/request/sent").get_data(as_text=True)


def test_bad_input_gets_messages_and_loses_nothing(client, db):
    response = client.post("/request", data={**VALID, "email": "not-an-email", "kind": ""})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Invalid email address" in page and "Choose what you would like." in page
    assert 'value="Saskia Bloembollen"' in page and "Please remove me." in page
    assert stored(db) == 0


def test_the_honeypot_looks_accepted_but_stores_nothing(client, db):
    response = client.post("/request", data={**VALID, "website": "http://spam.example"})
    assert response.status_code == 302
    page = client.get("/request/sent").get_data(as_text=True)
    assert re.search(r"AVG-\d{4}-\d{4}", page)
    assert stored(db) == 0


def test_rate_limit_per_address_and_email_keeps_what_was_typed(make_app, db):
    app = make_app(INTAKE_RATE_LIMIT=2)
    client = app.test_client()
    for _ in range(2):
        assert client.post("/request", data=VALID).status_code == 302
    response = client.post("/request", data={**VALID, "name": "Third Try"})
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "You can send this one from" in page and 'value="Third Try"' in page
    assert app.config["CLUB_EMAIL"] in page and "at the desk" in page  # other ways to reach the club
    assert stored(db) == 2
    # Someone else on the same network (another e-mail address) is not locked out; nor is another network.
    other_person = client.post("/request", data={**VALID, "email": "housemate@example.nl"})
    assert other_person.status_code == 302 and stored(db) == 3
    other = client.post("/request", data=VALID, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 302 and stored(db) == 4


def test_forms_that_fail_validation_count_nothing(make_app, db):
    app = make_app(INTAKE_RATE_LIMIT=1)
    client = app.test_client()
    for _ in range(4):  # a member who mistypes the date of birth several times
        assert client.post("/request", data={**VALID, "date_of_birth": "31-02-1990"}).status_code == 200
    assert client.post("/request", data=VALID).status_code == 302
    assert stored(db) == 1


def test_the_rate_limit_key_holds_no_address_or_email(make_app, db):
    from app.models import RateLimitBucket

    app = make_app()
    client = app.test_client()
    client.post("/request", data=VALID)
    keys = " ".join(db.session.scalars(db.select(RateLimitBucket.key)))
    assert VALID["email"] not in keys and VALID["email"].split("@")[0] not in keys and "127.0.0.1" not in keys


def test_the_coarse_cap_before_parsing_says_when_and_how_else(make_app, db):
    app = make_app(INTAKE_POST_LIMIT=2)
    client = app.test_client()
    for _ in range(2):
        client.post("/request", data={**VALID, "date_of_birth": ""})
    response = client.post("/request", data=VALID)
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "You can send the form again from" in page and app.config["CLUB_EMAIL"] in page
    assert stored(db) == 0


def test_csrf_is_required(make_app, db):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/request", data=VALID)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert stored(db) == 0
    page = client.get("/request").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post("/request", data={**VALID, "csrf_token": token}).status_code == 302
    assert stored(db) == 1


def test_intake_only_portal_serves_nothing_else(make_app, db):
    app = make_app(PORTAL_MODE="intake")
    client = app.test_client()
    assert client.get("/request").status_code == 200
    assert client.get("/healthz").status_code == 200
    for path in ("/login", "/", "/members", "/privacy/requests", "/admin/users"):
        assert client.get(path).status_code == 404, path
    endpoints = {rule.endpoint.split(".")[0] for rule in app.url_map.iter_rules()}
    assert endpoints <= {"intake", "core", "static"}
    assert client.post("/request", data=VALID).status_code == 302
    assert "AVG-" in client.get("/request/sent").get_data(as_text=True)


def test_after_sending_the_member_reads_what_happens_next_in_their_language(make_app, db):
    from app.services import clock

    app = make_app()
    client = app.test_client()
    client.post("/language", data={"lang": "nl", "next": "/request"})
    response = client.post("/request", data=VALID, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Wat er nu gebeurt" in page
    due = clock.add_months(clock.today(), 1)  # the club's day: between 23:00 and 24:00 UTC it is tomorrow in Amsterdam
    assert f"{due.day} " in page and str(due.year) in page
    assert "identiteitsbewijs" in page
