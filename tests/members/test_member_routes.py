"""Member pages through the test client: validation, field-level protection per role, actions."""

import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Consent, Invoice, Member, Subscription, Visit

VALID = {
    "first_name": "Jörg",
    "infix": "",
    "last_name": "Müller",
    "date_of_birth": "1985-04-12",
    "gender": "male",
    "email": "jorg@example.de",
    "phone": "0612345678",
    "street": "Oudegracht",
    "house_number": "12a",
    "postcode": "3511ab",
    "city": "Utrecht",
    "country": "NL",
    "iban": "NL91 ABNA 0417 1643 00",
    "joined_on": "2026-01-05",
}


def _page(response) -> str:
    return response.get_data(as_text=True)


def _error_after(html: str, field: str) -> str:
    """The error messages shown inside the field's own block."""
    block = re.search(rf'<div class="field has-error">\s*<label for="{field}".*?</div>', html, re.S)
    assert block, f"no error block for {field}"
    return " ".join(re.findall(r'<p class="error">(.*?)</p>', block.group(0)))


@pytest.fixture
def admin_client(client, make_user, login_as):
    login_as(make_user("administrator"))
    return client


def test_create_member_normalises_and_saves(admin_client, db, frozen_clock):
    frozen_clock(datetime(2026, 3, 1, 10, 0))
    response = admin_client.post("/members/new", data=VALID)
    assert response.status_code == 302
    member = db.session.scalar(select(Member))
    assert response.headers["Location"].endswith(f"/members/{member.member_number}")
    assert member.postcode == "3511 AB"
    assert member.iban == "NL91ABNA0417164300"
    assert member.phone == "+31 6 12345678"
    assert member.infix is None and member.first_name == "Jörg"
    assert "jorg" in member.search_text


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("postcode", "12345", "A Dutch postcode has four digits and two letters, like 1234 AB."),
        ("postcode", "0123 AB", "A Dutch postcode has four digits and two letters, like 1234 AB."),
        ("iban", "NL92ABNA0417164300", "This is not a valid IBAN"),
        ("date_of_birth", "2030-01-01", "The date of birth must be in the past."),
        ("date_of_birth", "1850-01-01", "This date of birth is not plausible"),
        ("date_of_birth", "12-12-nonsense", "Not a valid date value."),
        ("email", "jorg@@example", "Enter a valid email address"),
        ("phone", "12", "Enter a valid phone number"),
        ("first_name", "  ", "Enter the first name."),
        ("last_name", "", "Enter the last name."),
    ],
)
def test_bad_input_gets_a_message_next_to_the_field_and_nothing_is_lost(admin_client, db, frozen_clock, field, value,
                                                                        message):
    frozen_clock(datetime(2026, 3, 1, 10, 0))
    response = admin_client.post("/members/new", data={**VALID, field: value})
    assert response.status_code == 422
    html = _page(response)
    assert message in _error_after(html, field)
    assert db.session.scalar(select(Member)) is None
    # everything else the user typed is still in the form
    for other in ("first_name", "last_name", "email", "street", "city"):
        if other != field:
            assert f'value="{VALID[other]}"' in html, other
    if field not in ("iban",):
        assert 'value="NL91ABNA0417164300"' in html  # the (normalised) IBAN is kept too


def test_foreign_postcode_is_not_held_to_the_dutch_format(admin_client, db):
    response = admin_client.post("/members/new", data={**VALID, "country": "BE", "postcode": "1000",
                                                       "phone": "+32 470 12 34 56"})
    assert response.status_code == 302
    assert db.session.scalar(select(Member.postcode)) == "1000"


def test_member_page_shows_and_hides_fields_per_role(client, make_user, login_as, make_member, db):
    member = make_member(email="anna@example.nl", phone="+31 6 12345678", street="Kerkstraat", iban="NL91ABNA0417164300")
    db.session.add(Invoice(member_id=member.id, number="F2026-1", issued_on=date(2026, 1, 1), due_on=date(2026, 1, 15),
                           amount=10, billing_name="Anna van der Berg", billing_address="Kerkstraat 12"))
    member_page = f"/members/{member.member_number}"
    from app.models import HealthNote, StaffNote
    db.session.add(HealthNote(member_id=member.id, body="Knieblessure rechts"))
    db.session.add(StaffNote(member_id=member.id, body="Wil een intake"))
    db.session.commit()

    expectations = {
        # role: (contact, finance, notes, health)
        "front_desk": (True, False, True, False),
        "trainer": (False, False, True, True),
        "finance": (True, True, False, False),
        "administrator": (True, True, True, True),
    }
    for role, (contact, finance, notes, health) in expectations.items():
        login_as(make_user(role))
        html = _page(client.get(member_page))
        assert "Anna" in html
        assert ("anna@example.nl" in html) is contact, role
        assert ("+31 6 12345678" in html) is contact, role
        assert ("Kerkstraat" in html) is contact, role
        assert ("NL91 ABNA" in html) is finance, role
        assert ("?tab=invoices" in html) is finance, role
        assert ("?tab=notes" in html) is notes, role
        assert ("?tab=health" in html) is health, role
        assert (client.get(member_page + "?tab=invoices").status_code == 200) is finance, role
        assert (client.get(member_page + "?tab=health").status_code == 200) is health, role
        assert (client.get(member_page + "?tab=notes").status_code == 200) is notes, role
        if finance:
            assert "F2026-1" in _page(client.get(member_page + "?tab=invoices"))
        if health:
            assert "Knieblessure" in _page(client.get(member_page + "?tab=health"))
        else:
            assert client.get(member_page + "?tab=health").status_code == 403
            assert "Knieblessure" not in _page(client.get(member_page + "?tab=health"))
    assert client.get(member_page + "?tab=nonsense").status_code == 404


def test_member_list_hides_contact_details_without_permission(client, make_user, login_as, make_member):
    make_member(first_name="Jörg", email="jorg@example.de", city="Utrecht", postcode="3511 AB")
    login_as(make_user("trainer"))
    html = _page(client.get("/members?q=jorg"))
    assert "Jörg" in html and "jorg@example.de" not in html and "Utrecht" not in html
    assert "0 members found" in _page(client.get("/members?q=utrecht"))
    assert "0 members found" in _page(client.get("/members?q=3511ab"))
    login_as(make_user("front_desk"))
    html = _page(client.get("/members?q=3511ab"))
    assert "1 member found" in html and "jorg@example.de" in html


def test_viewing_a_member_is_audited_with_the_number_only(admin_client, make_member, db):
    member = make_member()
    admin_client.get(f"/members/{member.member_number}?tab=visits")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.view"))
    assert event.member_number == member.member_number
    assert json.loads(event.details) == {"tab": "visits"}
    assert "Anna" not in (event.details or "")


def test_member_list_paginates_and_sorts(admin_client, make_member, app):
    per_page = app.config["MEMBERS_PER_PAGE"]
    names = [f"Lid{i:03d}" for i in range(per_page + 5)]
    created = [make_member(first_name="Test", infix=None, last_name=name) for name in reversed(names)]
    first = _page(admin_client.get("/members?sort=name"))
    assert f"{per_page + 5} members found" in first
    assert "Lid000" in first and f"Lid{per_page - 1:03d}" in first and f"Lid{per_page:03d}" not in first
    assert 'rel="next"' in first
    second = _page(admin_client.get("/members?sort=name&page=2"))
    assert f"Lid{per_page:03d}" in second and "Lid000" not in second
    by_number = _page(admin_client.get("/members?sort=number&dir=desc"))
    numbers = [int(n) for n in re.findall(r'<tr>\s*<td><a href="/members/(\d+)">', by_number)]
    assert numbers == sorted((m.member_number for m in created), reverse=True)[:per_page]
    # nonsense parameters fall back to defaults instead of an error
    assert admin_client.get("/members?sort=evil&page=abc&status=zzz").status_code == 200


def test_visits_tab_is_paginated_newest_first(admin_client, make_member, db, app):
    member = make_member()
    start = datetime(2025, 1, 1, 9, 0)
    count = app.config["VISITS_PER_PAGE"] + 3
    db.session.add_all(Visit(member_id=member.id, checked_in_at=start + timedelta(days=i), location=f"Zaal {i}")
                       for i in range(count))
    db.session.commit()
    html = _page(admin_client.get(f"/members/{member.member_number}?tab=visits"))
    assert f"{count} visits" in html
    assert html.index(f"Zaal {count - 1}<") < html.index(f"Zaal {count - 2}<")
    assert "Zaal 0<" not in html
    assert "Zaal 0<" in _page(admin_client.get(f"/members/{member.member_number}?tab=visits&page=2"))


def test_edit_without_finance_permission_keeps_the_iban(client, make_user, login_as, make_member, db):
    member = make_member(iban="NL91ABNA0417164300", city="Utrecht")
    login_as(make_user("front_desk"))
    form_page = _page(client.get(f"/members/{member.member_number}/edit"))
    assert "iban" not in form_page.lower()
    data = {**VALID, "postcode": "1234 AB", "city": "Zwolle"}
    data.pop("iban")
    assert client.post(f"/members/{member.member_number}/edit", data=data).status_code == 302
    db.session.refresh(member)
    assert member.city == "Zwolle" and member.iban == "NL91ABNA0417164300"
    assert member.joined_on == date(2020, 1, 1)


def test_trainer_cannot_edit_and_edit_without_contact_keeps_contact(client, make_user, login_as, make_member, db):
    member = make_member(email="keep@example.nl")
    login_as(make_user("trainer"))
    assert client.get(f"/members/{member.member_number}/edit").status_code == 403
    login_as(make_user(permissions=["members.view", "members.edit"]))
    assert "keep@example.nl" not in _page(client.get(f"/members/{member.member_number}/edit"))
    response = client.post(f"/members/{member.member_number}/edit",
                           data={"first_name": "Annie", "last_name": "Berg", "email": "evil@example.nl"})
    assert response.status_code == 302
    db.session.refresh(member)
    assert member.first_name == "Annie" and member.email == "keep@example.nl"


def test_edit_of_a_restricted_member_warns_and_needs_the_override(admin_client, make_member, db):
    member = make_member(processing_restricted=True, city="Utrecht")
    url = f"/members/{member.member_number}/edit"
    html = _page(admin_client.get(url))
    assert 'id="restriction-warning"' in html and "override_restriction" in html
    data = {**VALID, "postcode": "1234 AB", "city": "Zwolle"}
    refused = admin_client.post(url, data=data)
    assert refused.status_code == 422 and "restricted" in _page(refused)
    assert 'value="Zwolle"' in _page(refused)
    no_reason = admin_client.post(url, data={**data, "override_restriction": "y"})
    assert "Give the reason for overriding the restriction." in _error_after(_page(no_reason), "override_reason")
    db.session.refresh(member)
    assert member.city == "Utrecht"
    ok = admin_client.post(url, data={**data, "override_restriction": "y", "override_reason": "Address disputed"})
    assert ok.status_code == 302
    db.session.refresh(member)
    assert member.city == "Zwolle"
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.restriction_override")) is not None


def test_check_in_from_the_list_with_clear_refusals(admin_client, make_member, db):
    active = make_member()
    ended = make_member(status="ended", ended_on=date(2025, 1, 1))
    response = admin_client.post("/members/checkin", data={"member_number": str(active.member_number), "next": "/members"},
                                 follow_redirects=True)
    assert f"Checked in: Anna van der Berg ({active.member_number})." in _page(response)
    html = _page(admin_client.post("/members/checkin", data={"member_number": str(ended.member_number)},
                                   follow_redirects=True))
    assert "This membership has ended; the member cannot check in." in html
    html = _page(admin_client.post("/members/checkin", data={"member_number": "99999"}, follow_redirects=True))
    assert "No member has this member number." in html
    html = _page(admin_client.post("/members/checkin", data={"member_number": "abc"}, follow_redirects=True))
    assert "A member number consists of digits only." in html
    assert db.session.query(Visit).count() == 1


def test_dashboard_panel_counts_and_checks_in(admin_client, make_member, db):
    member = make_member()
    html = _page(admin_client.get("/"))
    assert 'id="panel-members"' in html and "Active members" in html
    admin_client.post("/members/checkin", data={"member_number": str(member.member_number), "next": "/"})
    html = _page(admin_client.get("/"))
    assert re.search(r'Visits today</dt><dd><a id="figure-visits-today" href="/members/visits">1</a></dd>', html)


def test_end_membership_subscription_consent_and_notes_through_the_page(admin_client, make_member, make_plan, db):
    member = make_member(joined_on=date(2024, 1, 1))
    basis = make_plan("Basis", price=Decimal("24.95"))
    base = f"/members/{member.member_number}"
    bad = admin_client.post(f"{base}/subscriptions", data={"plan_id": str(basis.id), "starts_on": "2026-01-01",
                                                          "ends_on": "2025-01-01", "monthly_fee": "24,95x"})
    assert bad.status_code == 422
    assert "A subscription cannot end before it starts." in _page(bad)
    assert f'<option selected value="{basis.id}">Basis' in _page(bad)  # the choice is kept
    ok = admin_client.post(f"{base}/subscriptions", data={"plan_id": str(basis.id), "starts_on": "2026-01-01",
                                                         "monthly_fee": "24.95"})
    assert ok.status_code == 302
    assert db.session.scalar(select(Subscription.plan_id)) == basis.id

    assert admin_client.post(f"{base}/consents", data={"purpose": "photos", "via": "form"}).status_code == 302
    consent = db.session.scalar(select(Consent))
    assert "Photos on the website and social media" in _page(admin_client.get(f"{base}?tab=consents"))
    assert admin_client.post(f"{base}/consents/{consent.id}/withdraw", data={"via": "email"}).status_code == 302
    db.session.refresh(consent)
    assert consent.withdrawn_at is not None

    empty = admin_client.post(f"{base}/notes", data={"body": "  "})
    assert empty.status_code == 422 and "Write the note first." in _page(empty)
    admin_client.post(f"{base}/notes", data={"body": "Belt graag terug"})
    admin_client.post(f"{base}/health-notes", data={"health-body": "Rugklachten"})
    assert "Belt graag terug" in _page(admin_client.get(f"{base}?tab=notes"))
    assert "Rugklachten" in _page(admin_client.get(f"{base}?tab=health"))

    ended = admin_client.post(f"{base}/end", data={"ended_on": "2026-02-28"})
    assert ended.status_code == 302
    db.session.refresh(member)
    assert member.status == "ended" and member.ended_on == date(2026, 2, 28)
    assert db.session.scalar(select(Subscription.status)) == "ended"


def test_actions_need_their_permission(client, make_user, login_as, make_member):
    member = make_member()
    base = f"/members/{member.member_number}"
    login_as(make_user("finance"))
    assert client.post("/members/checkin", data={"member_number": str(member.member_number)}).status_code == 403
    assert client.post(f"{base}/end", data={"ended_on": "2026-01-01"}).status_code == 403
    assert client.post(f"{base}/notes", data={"body": "x"}).status_code == 403
    login_as(make_user("front_desk"))
    assert client.post(f"{base}/health-notes", data={"health-body": "x"}).status_code == 403
    assert client.get("/members/new").status_code == 200
    login_as(make_user("trainer"))
    assert client.get("/members/new").status_code == 403
    assert client.post(f"{base}/health-notes", data={"health-body": "Let op knie"}).status_code == 302


def test_registering_someone_who_may_already_be_a_member_asks_first(admin_client, make_member, db, frozen_clock):
    frozen_clock(datetime(2026, 3, 1, 10, 0))
    existing = make_member(first_name="Jörg", infix=None, last_name="Müller", date_of_birth=date(1985, 4, 12),
                           email="other@example.nl")
    response = admin_client.post("/members/new", data=VALID)
    assert response.status_code == 409
    html = _page(response)
    assert 'id="duplicate-warning"' in html and f'href="/members/{existing.member_number}"' in html
    assert 'value="jorg@example.de"' in html  # the form is kept
    assert db.session.query(Member).count() == 1
    response = admin_client.post("/members/new", data={**VALID, "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert db.session.query(Member).count() == 2
    # the same email address is a likely duplicate too
    assert admin_client.post("/members/new", data={**VALID, "first_name": "Eva", "date_of_birth": ""}).status_code == 409


def test_odd_member_numbers_are_a_friendly_404_or_refusal(admin_client):
    for number in ("99999999999999999999", "2147483648", "0"):
        assert admin_client.get(f"/members/{number}").status_code == 404
        html = _page(admin_client.post("/members/checkin", data={"member_number": number}, follow_redirects=True))
        assert "No member has this member number." in html
    assert admin_client.get("/members?q=99999999999999999999999").status_code == 200


def test_anonymised_member_page_offers_no_changes(admin_client, make_member):
    member = make_member(first_name="Anoniem", infix=None, last_name="Lid", status="anonymised", email=None)
    html = _page(admin_client.get(f"/members/{member.member_number}"))
    assert "Anonymised" in html
    assert f"/members/{member.member_number}/edit" not in html and "Check in" not in html
    assert admin_client.get(f"/members/{member.member_number}/edit").status_code == 302


def test_a_member_anonymised_by_erasure_has_a_visible_label_in_the_list_and_on_the_page(admin_client, make_member):
    # What the erasure engine leaves: empty name fields (a link with no text cannot be seen or clicked).
    member = make_member(first_name="", infix=None, last_name="", status="anonymised", email=None)
    listing = _page(admin_client.get("/members?status=anonymised"))
    assert f'<a href="/members/{member.member_number}">Anonymised member</a>' in listing
    assert f'<a href="/members/{member.member_number}"></a>' not in listing
    page = _page(admin_client.get(f"/members/{member.member_number}"))
    assert "<h1>Anonymised member" in page


def test_member_pages_speak_dutch(make_app, make_user, make_member, db):
    from tests.conftest import TEST_PASSWORD

    app = make_app(BABEL_DEFAULT_LOCALE="nl")
    client = app.test_client()
    user = make_user("front_desk")
    make_member()
    make_member()
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    html = _page(client.get("/members"))
    assert "2 leden gevonden" in html and "Nieuw lid" in html
    html = _page(client.get("/members/new"))
    assert "Voornaam" in html and "Tussenvoegsel" in html


def test_control_characters_never_reach_the_database(admin_client, make_member, db):
    make_member(first_name="Jörg")
    assert admin_client.get("/members?q=jo%00rg").status_code == 200
    response = admin_client.post("/members/new", data={**VALID, "first_name": "Jö\x00rg", "city": "Utr\x00echt",
                                                       "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert db.session.scalar(select(Member.city).where(Member.first_name == "Jörg", Member.city == "Utrecht"))


@pytest.mark.parametrize("fee", ["NaN", "sNaN", "Infinity", "1e5000", "-1", "abc"])
def test_a_fee_must_be_a_real_amount(admin_client, make_member, make_plan, db, fee):
    member = make_member()
    response = admin_client.post(f"/members/{member.member_number}/subscriptions",
                                 data={"plan_id": str(make_plan().id), "starts_on": "2026-01-01", "monthly_fee": fee})
    assert response.status_code == 422
    assert db.session.scalar(select(Subscription)) is None


def test_member_page_warns_about_restricted_processing(admin_client, make_member):
    member = make_member(processing_restricted=True, restricted_since=datetime(2026, 3, 2, 9, 0))
    html = _page(admin_client.get(f"/members/{member.member_number}"))
    assert "Processing restricted" in html
    assert "(GDPR Art. 18)" in html and "2026" in html


def test_ending_a_subscription_and_ids_of_other_members_are_404(admin_client, make_member, make_plan, db,
                                                                 frozen_clock):
    frozen_clock(datetime(2026, 5, 10, 10, 0))
    member, other = make_member(), make_member()
    db.session.add_all([Subscription(member_id=member.id, plan=make_plan("Basis"), starts_on=date(2025, 1, 1), monthly_fee=20),
                        Consent(member_id=other.id, purpose="photos")])
    db.session.commit()
    subscription = db.session.scalar(select(Subscription))
    consent = db.session.scalar(select(Consent))
    assert admin_client.post(f"/members/{other.member_number}/subscriptions/{subscription.id}/end",
                             data={"ended_on": "2026-05-10"}).status_code == 404
    assert admin_client.post(f"/members/{member.member_number}/consents/{consent.id}/withdraw",
                             data={"via": "desk"}).status_code == 404
    response = admin_client.post(f"/members/{member.member_number}/subscriptions/{subscription.id}/end",
                                 data={"ended_on": "2026-05-10"}, follow_redirects=True)
    assert "The subscription has been ended." in _page(response)
    db.session.refresh(subscription)
    assert subscription.status == "ended" and subscription.ends_on == date(2026, 5, 10)
    assert db.session.scalar(select(Consent.withdrawn_at)) is None
