"""Field-level protection across every page a role can open, and in the member search.

For each role, every GET page that takes a member number (found in app.url_map, so pages added
later are covered), the member list and the search are fetched; values guarded by a permission
(IBAN and invoices: members.finance; health notes: members.health; email, phone, address:
members.contact) must not appear anywhere without that permission, and must appear somewhere
with it (so the test cannot pass by showing nothing).
"""

import zipfile
from datetime import date
from io import BytesIO
from urllib.parse import parse_qs, urlsplit

import pytest
from pypdf import PdfReader
from werkzeug.routing.converters import AnyConverter

from app.auth.permissions import DEFAULT_ROLES
from app.models import HealthNote, Invoice

GUARDED = {
    "members.finance": ["NL91ABNA0417164300", "NL91 ABNA 0417 1643 00", "INV-SENTINEL-77"],
    "members.health": ["Sentinel knee operation"],
    "members.contact": ["sentinel.mail@example.nl", "99887766", "Sentinelstraat", "9999 ZZ", "Sentinelstad"],
}
# What a person with the code must be able to find on some page (one value per category).
SHOWN = {"members.finance": "INV-SENTINEL-77", "members.health": "Sentinel knee operation",
         "members.contact": "sentinel.mail@example.nl"}


@pytest.fixture
def member(db, make_member):
    member = make_member(first_name="Zygmunt", last_name="Sentinelson", email="sentinel.mail@example.nl",
                         phone="+31 6 99887766", street="Sentinelstraat", postcode="9999 ZZ", city="Sentinelstad",
                         iban="NL91ABNA0417164300")
    db.session.add(Invoice(member_id=member.id, number="INV-SENTINEL-77", issued_on=date(2026, 1, 1),
                           due_on=date(2026, 1, 15), amount=10, billing_name="Zygmunt Sentinelson",
                           billing_address="Sentinelstraat 1, 9999 ZZ Sentinelstad"))
    db.session.add(HealthNote(member_id=member.id, body="Sentinel knee operation"))
    db.session.commit()
    return member


def _member_pages(app, member_number: int) -> list[str]:
    """Every GET page about one member: each route taking a member number, each tab."""
    urls = ["/", "/members", "/members?status=all"]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or "member_number" not in rule.arguments:
            continue
        values = {"member_number": member_number}
        variants = [values]
        for name in rule.arguments - {"member_number"}:
            converter = rule._converters.get(name)
            if not isinstance(converter, AnyConverter):
                break
            variants = [{**v, name: item} for v in variants for item in sorted(converter.items)]
        else:
            urls += [rule.build(v, append_unknown=False)[1] for v in variants]
    urls += [f"/members/{member_number}?tab={tab}" for tab in
             ("profile", "subscriptions", "visits", "invoices", "consents", "notes", "health")]
    return urls


def _searches() -> list[str]:
    return ["/members?q=sentinelson", "/members?q=sentinel.mail", "/members?q=9999ZZ", "/members?q=9999+ZZ",
            "/members?q=sentinelstad", "/members?q=99887766", "/members?q=NL91ABNA"]


def _text_of(response) -> str:
    """What a person could read in the response: pages as text, PDFs and ZIP packages unpacked."""
    data = response.get_data()
    if response.mimetype == "application/pdf":
        return "\n".join(page.extract_text() or "" for page in PdfReader(BytesIO(data)).pages)
    if response.mimetype in ("application/zip", "application/x-zip-compressed"):
        with zipfile.ZipFile(BytesIO(data)) as package:
            return "\n".join(package.read(name).decode("utf-8", "replace") for name in package.namelist())
    return data.decode("utf-8", "replace")


def _collect(app, client, member) -> str:
    seen = []
    for url in _member_pages(app, member.member_number) + _searches():
        response = client.get(url)
        assert response.status_code in (200, 302, 403, 404), url
        page = _text_of(response)
        query = parse_qs(urlsplit(url).query).get("q")
        if query:  # the search box and the language form echo what the user typed: not a leak
            page = page.replace(f'value="{query[0]}"', 'value=""').replace(urlsplit(url).query, "")
        seen.append(page)
    return "\n".join(seen)


ROLE_CODES = {key: frozenset(spec["codes"]) for key, spec in DEFAULT_ROLES.items()}
ROLE_CODES["view_only"] = frozenset({"members.view"})
ROLE_CODES["view_edit_no_contact"] = frozenset({"members.view", "members.edit", "members.notes"})
ROLE_CODES["contact_only"] = frozenset({"members.view", "members.contact"})


@pytest.mark.parametrize("role", sorted(ROLE_CODES))
@pytest.mark.slow
def test_guarded_values_only_with_their_permission(app, client, member, make_user, login_as, role):
    codes = ROLE_CODES[role]
    user = make_user(role) if role in DEFAULT_ROLES else make_user(permissions=sorted(codes))
    login_as(user)
    text = _collect(app, client, member)
    for code, values in GUARDED.items():
        if code in codes:
            assert SHOWN[code] in text, f"{role} holds {code} but never sees {SHOWN[code]}"
        else:
            leaked = [value for value in values if value in text]
            assert leaked == [], f"{role} lacks {code} but sees {leaked}"


def test_search_without_contact_does_not_find_by_contact_details(client, member, make_user, login_as):
    login_as(make_user("trainer"))
    for url in ("/members?q=sentinel.mail", "/members?q=9999ZZ", "/members?q=sentinelstad"):
        assert "Sentinelson" not in client.get(url).get_data(as_text=True), url
    assert "Sentinelson" in client.get("/members?q=sentinelson").get_data(as_text=True)


def test_search_with_contact_finds_by_email(client, member, make_user, login_as):
    login_as(make_user("front_desk"))
    assert "Sentinelson" in client.get("/members?q=sentinel.mail").get_data(as_text=True)
