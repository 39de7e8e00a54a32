"""The defects the bad-input campaign found, one user-visible behaviour each."""

import unicodedata
from datetime import datetime

import pytest
from sqlalchemy import select

from app.auth.permissions import CODES
from app.blueprints.form_helpers import without_control_characters
from app.models import DataRequest, LegalHold
from app.services import clock


@pytest.fixture
def staff(client, make_user, login_as):
    clock.freeze(datetime(2026, 6, 15, 10, 0))
    login_as(make_user(permissions=sorted(CODES)))
    return client


@pytest.mark.parametrize("path", ["/admin/users/9223372036854775808", "/admin/roles/2147483648",
                                  "/members/99999999999999999999", "/privacy/members/2147483648/legal-hold"])
def test_an_id_beyond_the_database_range_is_not_found(staff, path):
    response = staff.get(path)
    assert response.status_code == 404
    assert "This page does not exist" in response.get_data(as_text=True)


def test_a_nul_byte_in_a_url_part_is_not_found(staff):
    assert staff.get("/privacy/requests/AVG-2026-0001%00x").status_code == 404
    assert staff.get("/privacy/retention/policies/visits%00").status_code == 404


@pytest.mark.parametrize("page", ["²", "-1", "abc", str(2**70)])
def test_an_odd_page_number_shows_the_first_page(staff, make_member, page):
    make_member(last_name="Pagina")
    for path in ("/members", "/privacy/requests", "/admin/users", "/admin/audit"):
        response = staff.get(f"{path}?page={page}")
        assert response.status_code == 200, path
    assert "Pagina" in staff.get(f"/members?page={page}").get_data(as_text=True)


def test_a_superscript_digit_in_the_member_search_is_just_text(staff, make_member):
    make_member(last_name="Zoekbaar")
    assert staff.get("/members?q=²").status_code == 200


def test_the_identity_step_takes_odd_member_numbers_as_unknown(staff, db, make_member):
    make_member()
    reference = _register(staff)
    for typed in ("²", str(2**70), "-1001"):
        page = staff.post(f"/privacy/requests/{reference}/identity", data={"member_number": typed, "method": "Passport"})
        assert page.status_code == 200
        assert "No member with this number." in page.get_data(as_text=True)
    assert staff.post(f"/privacy/requests/{reference}/identity/search", data={"q": "9" * 40}).status_code == 200
    assert staff.post(f"/privacy/requests/{reference}/identity/search", data={"q": "a " * 3000}).status_code == 200


def _register(client, **fields):
    data = {"kind": "access", "channel": "desk", "requester_name": "Ria Rood", **fields}
    response = client.post("/privacy/requests/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rsplit("/", 1)[-1]


def test_control_characters_are_dropped_from_text_fields_and_the_rest_is_kept(staff, db, make_member):
    member = make_member()
    response = staff.post(f"/privacy/members/{member.member_number}/legal-hold",
                          data={"reason": "Claim\x00 about\x07 the\x1b invoice\nsecond line"})
    assert response.status_code == 302
    assert db.session.scalar(select(LegalHold.reason)) == "Claim about the invoice\nsecond line"
    reference = _register(staff, requester_name="Ria\x00 Rood", message="Tab\there")
    saved = db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))
    assert (saved.requester_name, saved.message) == ("Ria Rood", "Tab\there")


def test_the_filter_drops_exactly_unicodes_control_characters_except_line_breaks_and_tab():
    """The text filter drops what Unicode calls a control character (Cc), every code point checked, but
    keeps the line feed, the carriage return and the tab."""
    every = "".join(chr(point) for point in range(0x110000) if not 0xD800 <= point <= 0xDFFF)
    expected = "".join(ch for ch in every if ch in "\n\r\t" or unicodedata.category(ch) != "Cc")
    assert without_control_characters(every) == expected
    assert without_control_characters("a\x85b\u2028c\x9fd") == "ab\u2028cd"  # NEL is Cc, the line separator is not


def test_a_nul_byte_in_the_username_is_an_ordinary_failed_login(client, make_user):
    make_user(username="desk")
    response = client.post("/login", data={"username": "de\x00sk", "password": "wrong"})
    assert response.status_code == 200
    assert "Unknown username or wrong password." in response.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["9999-12-31", "0001-01-01"])
def test_a_date_out_of_any_sensible_range_is_refused_next_to_the_field(staff, db, make_member, make_plan, typed):
    member = make_member()
    page = staff.get(f"/admin/audit?date_from=2026-01-01&date_to={typed}").get_data(as_text=True)
    assert "Enter a date between 1900 and 2199." in page
    response = staff.post(f"/members/{member.member_number}/subscriptions",
                          data={"plan_id": str(make_plan("Basic").id), "starts_on": "2026-06-01", "ends_on": typed,
                                "monthly_fee": "10"})
    assert response.status_code == 422
    assert "Enter a date between 1900 and 2199." in response.get_data(as_text=True)
    assert member.subscriptions == []


def test_a_date_of_birth_in_the_future_is_refused_on_both_request_forms(staff, app, db):
    page = staff.post("/privacy/requests/new", data={"kind": "access", "channel": "desk", "requester_name": "Ria",
                                                     "requester_date_of_birth": "2030-01-01"})
    assert "The date of birth must be in the past." in page.get_data(as_text=True)
    guest = app.test_client()
    page = guest.post("/request", data={"name": "Ria", "email": "ria@example.nl", "date_of_birth": "2030-01-01",
                                        "kind": "access"})
    assert page.status_code == 200
    assert "The date of birth must be in the past." in page.get_data(as_text=True)
    assert db.session.scalar(select(DataRequest)) is None


def test_an_error_page_does_not_repeat_the_address_that_failed(staff):
    response = staff.get("/privacy/requests/ria.rood@example.nl")
    assert response.status_code == 404
    assert "ria.rood" not in response.get_data(as_text=True)


def test_a_nul_byte_in_the_audit_action_filter_is_dropped(staff):
    response = staff.get("/admin/audit?action=login%00.succeeded&actor=x%00y")
    assert response.status_code == 200
