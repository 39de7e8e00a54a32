"""`make screenshots`: the main pages in Dutch and English, at desktop and tablet width, into docs/screenshots/.

Not a test (the name does not start with test_, so `make test` leaves it out); it runs on the test
fixtures so that it needs no running portal: demo members, a data request, and a privacy officer
who is also an administrator, so every menu item shows.
"""

from pathlib import Path

import pytest

from app.extensions import db as _db
from app.models import Member
from app.services import demo, privacy_requests

pytestmark = pytest.mark.browser

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SIZES = {"desktop": {"width": 1280, "height": 800}, "tablet": {"width": 820, "height": 1180}}


def test_screenshots(logged_in_page, base_url, make_user):
    demo.load(members=60, years=1, visits_per_year=20, seed=17)
    data_request = privacy_requests.register("erasure", channel="intake", requester_name="Lotte Jansen",
                                             requester_email="lotte@example.nl")
    user = make_user("administrator", "privacy_officer", username="officer", full_name="Petra de Wit")
    _db.session.commit()
    member = _db.session.scalars(_db.select(Member).order_by(Member.member_number)).first()
    pages = {
        "dashboard": "/", "members": "/members", "member": f"/members/{member.member_number}",
        "member-privacy": f"/members/{member.member_number}?tab=privacy",
        "requests": "/privacy/requests", "request": f"/privacy/requests/{data_request.reference}",
        "retention": "/privacy/retention", "audit": "/admin/audit", "public-form": "/request",
    }
    OUT.mkdir(parents=True, exist_ok=True)
    page = logged_in_page(user)
    for language, button in (("en", "English"), ("nl", "Nederlands")):
        page.get_by_role("button", name=button).click()
        for size_name, size in SIZES.items():
            page.set_viewport_size(size)
            for name, path in pages.items():
                page.goto(f"{base_url}{path}")
                page.screenshot(path=OUT / f"{name}-{language}-{size_name}.jpg", type="jpeg", quality=70)
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (name, size_name)
