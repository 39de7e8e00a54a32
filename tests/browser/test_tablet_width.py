"""Every main page at tablet width (820x1180): nothing scrolls sideways, in English and Dutch."""

import pytest

from app.extensions import db as _db
from app.services import audit, privacy_requests

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}

PAGES = [
    "/", "/members", "/members/new", "/members/visits", "/plans", "/plans/new", "/privacy/requests",
    "/privacy/requests/new", "/privacy/retention", "/privacy/retention/preview", "/privacy/retention/sweep/confirm",
    "/integrations", "/integrations/api-clients",
    "/admin/users", "/admin/users/new", "/admin/roles", "/admin/roles/new", "/admin/audit", "/account",
]


def _overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture
def club(make_member, make_user, make_plan):
    """A few members with long addresses, a request and audit events: content that would push a page wide."""
    members = [
        make_member(first_name="Maximiliaan", infix="van den", last_name="Oosterhout-Wittebrood",
                    email=f"maximiliaan.oosterhout-wittebrood{n}@voorbeeld-sportvereniging.nl",
                    city="Westervoort-Noord", postcode="6931 AB")
        for n in range(3)
    ]
    make_plan()
    user = make_user("administrator", "privacy_officer", username="tablet")
    data_request = privacy_requests.register("erasure", channel="intake", requester_name="Maximiliaan Oosterhout",
                                             requester_email="maximiliaan@voorbeeld-sportvereniging.nl")
    audit.record("member.viewed", actor=user, target_type="member", target_id=members[0].id,
                 member_number=members[0].member_number, details={"two_factor": False})
    _db.session.commit()
    return user, members, data_request


@pytest.mark.parametrize("language", ["en", "nl"])
def test_no_main_page_scrolls_sideways_at_tablet_width(logged_in_page, base_url, club, language):
    user, members, data_request = club
    page = logged_in_page(user)
    page.set_viewport_size(TABLET)
    if language == "nl":
        page.get_by_role("button", name="Nederlands").click()
    paths = [*PAGES, f"/members/{members[0].member_number}", f"/members/{members[0].member_number}?tab=privacy",
             f"/members/{members[0].member_number}/edit",
             f"/privacy/requests/{data_request.reference}"]
    wide = {}
    for path in paths:
        response = page.goto(f"{base_url}{path}")
        assert response.status == 200, path
        if (extra := _overflow(page)) > 0:
            wide[path] = extra
    assert wide == {}, f"pages wider than 820 px (by px): {wide}"


def test_public_pages_fit_at_tablet_width(page, base_url):
    page.set_viewport_size(TABLET)
    for path in ("/login", "/request"):
        page.goto(f"{base_url}{path}")
        assert _overflow(page) <= 0, path
