"""Property tests (hypothesis) over the public intake form and the member forms.

Whatever is typed (control characters, RTL overrides, 100k strings, HTML and SQL fragments):
never a 500, and a value that was stored comes back only escaped in the HTML pages. The number
of examples is bounded so the file takes seconds.
"""

import html

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.auth.permissions import CODES
from app.models import DataRequest, Member

FRAGMENTS = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>", "'; DROP TABLE members; --",
             "\u202egnp.exe", "\u200f\u200e", "\x00", "\x1b[31m", "=cmd|' /C calc'!A0", "{{7*7}}", "%s%n"]
hostile_text = st.one_of(
    st.text(max_size=60),
    st.sampled_from(FRAGMENTS),
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), min_size=1, max_size=6).map("".join),
    st.integers(min_value=1, max_value=3).map(lambda n: "x" * (100_000 if n == 3 else 300 * n)),
)
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _escaped_only(page: str, value: str) -> bool:
    """A value with markup in it appears in the page only in its escaped form."""
    return "<" not in value or value not in page or html.escape(value) in page and value not in page.replace(
        html.escape(value), "")


@pytest.fixture(scope="module")
def unthrottled_app(make_app):
    """The portal without the intake form's flood limits, built once for all of a test's examples."""
    return make_app(INTAKE_RATE_LIMIT=10**6, INTAKE_POST_LIMIT=10**6)


@SETTINGS
@given(name=hostile_text, message=hostile_text, email=st.sampled_from(["a@example.nl", "bad", "<b>@x.nl"]),
       number=st.one_of(st.just(""), hostile_text, st.integers(min_value=-2**40, max_value=2**40).map(str)))
@pytest.mark.slow
def test_the_public_form_never_fails_on_what_is_typed(unthrottled_app, db, name, message, email, number):
    client = unthrottled_app.test_client()  # a new visitor for every example
    response = client.post("/request", data={"name": name, "email": email, "member_number": number,
                                             "date_of_birth": "1980-02-03", "kind": "access", "message": message})
    assert response.status_code in (200, 302)
    page = response.get_data(as_text=True)
    for value in (name, message):
        assert _escaped_only(page, value)


@SETTINGS
@given(first=hostile_text, last=hostile_text, city=hostile_text, phone=hostile_text, iban=hostile_text)
@pytest.mark.slow
def test_the_member_form_never_fails_and_stored_text_is_escaped(app, db, make_user, login_as, first, last, city, phone,
                                                               iban):
    client = login_as(make_user(permissions=sorted(c for c in CODES if not c.startswith("api."))), on=app.test_client())
    count = db.session.scalar(select(func.count()).select_from(Member))
    response = client.post("/members/new", data={"first_name": first, "last_name": last, "city": city,
                                                 "phone": phone, "iban": iban, "country": "NL",
                                                 "confirm_duplicate": "y"})
    assert response.status_code in (302, 422), response.status_code
    if response.status_code == 302:
        assert db.session.scalar(select(func.count()).select_from(Member)) == count + 1
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        for value in (first, last, city):
            assert _escaped_only(page, value.strip())
        assert client.get("/members?q=" + last[:50]).status_code == 200
    else:
        assert db.session.scalar(select(func.count()).select_from(Member)) == count  # refused: nothing stored
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 0


@SETTINGS
@given(first=hostile_text, last=hostile_text, city=hostile_text)
@pytest.mark.slow
def test_the_export_escapes_typed_text_in_its_pdf_source_and_csv(app, db, make_user, make_member, first, last, city):
    import csv
    import io

    from app.services.export import gather
    from app.services.export.document import render_export_html
    from app.services.export.package import FORMULA_STARTS, PLAIN_NUMBER, csv_files

    officer = make_user(permissions=sorted(c for c in CODES if not c.startswith("api.")))
    # Stored values, as the forms leave them: they never hold a NUL (and PostgreSQL's text cannot).
    first, last, city = (value.replace("\x00", "") for value in (first, last, city))
    member = make_member(first_name=first[:100] or "A", last_name=last[:100] or "B", city=city[:100] or None)
    with app.test_request_context():
        export = gather(member, officer)
        source = render_export_html(export)
        files = csv_files(export)
    for value in (member.first_name, member.last_name, member.city or ""):
        assert _escaped_only(source, value)
    for content in files.values():
        for row in csv.reader(io.StringIO(content.decode("utf-8"))):
            for cell in row:
                assert not cell.startswith(FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(cell), cell
