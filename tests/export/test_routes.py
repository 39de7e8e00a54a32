"""Staff get exports from the member page and from data requests; every export is audited."""

import io
import json
import zipfile

import pytest
from flask import render_template
from flask_login import login_user
from pypdf import PdfReader

from app.models import AuditEvent, DataRequest, RequestEvent
from tests.conftest import TEST_PASSWORD
from tests.export.conftest import EVERYTHING


def _audit(db, action):
    return db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == action)).all()


@pytest.mark.parametrize("fmt", ["pdf", "zip"])
def test_export_needs_the_export_permission(client, login_as, make_user, seeded_member, fmt):
    login_as(make_user("front_desk"))
    response = client.get(f"/privacy/members/{seeded_member.member_number}/export.{fmt}")
    assert response.status_code == 403


def test_guests_are_sent_to_login(client, seeded_member):
    response = client.get(f"/privacy/members/{seeded_member.member_number}/export.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_member_page_pdf_download_is_private_and_audited(db, client, login_as, full_staff, seeded_member):
    login_as(full_staff)
    response = client.get(f"/privacy/members/{seeded_member.member_number}/export.pdf?lang=nl")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="export-{seeded_member.member_number}.pdf"'
    assert "Veen" not in disposition
    assert response.headers["Cache-Control"] == "no-store"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "Jörg van der Veen" in text and "Pagina 1 van" in text
    [event] = _audit(db, "export.pdf")
    assert event.member_number == seeded_member.member_number and event.actor_id == full_staff.id
    details = json.loads(event.details)
    assert details["format"] == "pdf" and details["language"] == "nl"
    assert "Veen" not in event.details and "Jörg" not in event.details and seeded_member.email not in event.details


def test_member_page_zip_download(db, client, login_as, full_staff, seeded_member):
    login_as(full_staff)
    response = client.get(f"/privacy/members/{seeded_member.member_number}/export.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].endswith(f'filename="export-{seeded_member.member_number}.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert json.loads(archive.read("member.json"))["member_number"] == seeded_member.member_number
    assert len(_audit(db, "export.zip")) == 1


def test_unknown_member_is_a_404(client, login_as, full_staff):
    login_as(full_staff)
    assert client.get("/privacy/members/999999/export.pdf").status_code == 404
    assert client.get("/privacy/members/1/export.exe").status_code == 404


def test_anonymised_member_cannot_be_exported(db, client, login_as, full_staff, make_member):
    member = make_member(status="anonymised")
    login_as(full_staff)
    refused = client.get(f"/privacy/members/{member.member_number}/export.pdf")
    assert refused.headers["Location"].endswith("?tab=privacy")  # back to the export card, not the profile
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "there is no personal data left to export" in page
    assert _audit(db, "export.pdf") == []


def test_request_export_records_that_it_was_produced(db, client, login_as, full_staff, seeded_member):
    data_request = db.session.scalars(db.select(DataRequest)).one()
    login_as(full_staff)
    response = client.post(f"/privacy/requests/{data_request.reference}/export.zip", data={"language": "en"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("member.json"))
    assert data["request_reference"] == data_request.reference
    db.session.expire_all()
    data_request = db.session.get(DataRequest, data_request.id)
    assert data_request.export_produced_at is not None and data_request.export_handed_over_at is None
    assert [(e.action, e.note, e.actor_id) for e in data_request.events] == [("export_produced", "zip", full_staff.id)]
    [event] = _audit(db, "export.zip")
    assert json.loads(event.details)["request"] == data_request.reference

    response = client.post(f"/privacy/requests/{data_request.reference}/export/handed-over", data={"method": "in_person"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/privacy/requests/{data_request.reference}")
    db.session.expire_all()
    data_request = db.session.get(DataRequest, data_request.id)
    assert data_request.export_handed_over_at is not None
    assert [e.action for e in data_request.events] == ["export_produced", "export_handed_over"]
    assert data_request.events[-1].note == "in_person"
    assert len(_audit(db, "export.handed_over")) == 1


def test_request_timeline_shows_the_export_steps_in_words(db, make_app, make_user, seeded_member):
    data_request = db.session.scalars(db.select(DataRequest)).one()
    staff = make_user(permissions=["members.view", "members.contact", "privacy.view", "privacy.export"])
    client = make_app().test_client()  # an app of its own: the language is chosen per request
    client.post("/login", data={"username": staff.username, "password": TEST_PASSWORD})
    client.post(f"/privacy/requests/{data_request.reference}/export.pdf", data={"language": "en"})
    client.post(f"/privacy/requests/{data_request.reference}/export/handed-over", data={"method": "in_person"})

    def timeline():
        page = client.get(f"/privacy/requests/{data_request.reference}").get_data(as_text=True)
        return page.split('class="list timeline"')[1]

    english = timeline()
    assert "Export produced" in english and "PDF" in english
    assert "Export handed over" in english and "Handed over in person" in english
    assert "export_produced" not in english and "export_handed_over" not in english and "in_person" not in english
    client.post("/language", data={"lang": "nl"})
    dutch = timeline()
    assert "Export gemaakt" in dutch and "Export overhandigd" in dutch and "Persoonlijk overhandigd" in dutch


def test_hand_over_needs_a_produced_export_and_a_method(db, client, login_as, full_staff, seeded_member):
    data_request = db.session.scalars(db.select(DataRequest)).one()
    login_as(full_staff)
    url = f"/privacy/requests/{data_request.reference}/export/handed-over"
    client.post(url, data={"method": "in_person"})
    with client.session_transaction() as session:
        assert "Produce the export before" in str(session["_flashes"])
    client.post(f"/privacy/requests/{data_request.reference}/export.pdf", data={"language": "nl"})
    client.post(url, data={"method": "carrier pigeon"})
    with client.session_transaction() as session:
        assert "Choose how the export was handed over." in str(session["_flashes"])
    db.session.expire_all()
    assert db.session.get(DataRequest, data_request.id).export_handed_over_at is None


@pytest.mark.parametrize("case, message", [
    ("no_member", "not linked to a member"),
    ("unverified", "identity has not been verified"),
    ("erasure", "Only access and portability requests"),
])
def test_request_export_is_refused_clearly(db, client, login_as, full_staff, make_member, make_request, case, message):
    member = make_member()
    data_request = {
        "no_member": lambda: make_request(member=None),
        "unverified": lambda: make_request(member=member, verified=False),
        "erasure": lambda: make_request(member=member, kind="erasure"),
    }[case]()
    login_as(full_staff)
    response = client.post(f"/privacy/requests/{data_request.reference}/export.pdf", data={"language": "en"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/privacy/requests/{data_request.reference}")
    with client.session_transaction() as session:
        assert message in str(session["_flashes"])
    db.session.expire_all()
    assert db.session.get(DataRequest, data_request.id).export_produced_at is None
    assert db.session.scalars(db.select(RequestEvent)).all() == []
    assert _audit(db, "export.pdf") == []


def test_request_export_needs_the_export_permission(db, client, login_as, make_user, seeded_member):
    data_request = db.session.scalars(db.select(DataRequest)).one()
    login_as(make_user("manager"))
    assert client.post(f"/privacy/requests/{data_request.reference}/export.pdf", data={"language": "en"}).status_code == 403
    assert client.post(f"/privacy/requests/{data_request.reference}/export/handed-over",
                       data={"method": "post"}).status_code == 403


def _render_as(app, user, template, **context):
    with app.test_request_context("/privacy/requests/x"):
        login_user(user)
        from flask import current_app, g
        from flask_principal import Identity, identity_changed

        identity_changed.send(current_app._get_current_object(), identity=Identity(user.id))
        assert g.identity.id == user.id
        return render_template(template, **context)


def test_member_partial_offers_downloads_and_warns_what_is_left_out(app, make_user, seeded_member):
    full = _render_as(app, make_user(permissions=EVERYTHING), "privacy/_member_export.html", member=seeded_member)
    assert f"/privacy/members/{seeded_member.member_number}/export.pdf" in full
    assert f"/privacy/members/{seeded_member.member_number}/export.zip" in full
    assert "does not allow you to see" not in full
    limited = _render_as(app, make_user("front_desk", permissions=["privacy.export"]), "privacy/_member_export.html",
                         member=seeded_member)
    assert "does not allow you to see invoices and IBAN, health notes" in limited
    hidden = _render_as(app, make_user("front_desk"), "privacy/_member_export.html", member=seeded_member)
    assert "export.pdf" not in hidden


def _render_request_partial(app, user, data_request, member):
    """The request page passes the export step's state, decided by the export service."""
    from app.services.export import request_export_state

    state = request_export_state(data_request, user) if data_request.has_export else None
    return _render_as(app, user, "privacy/_request_export.html", data_request=data_request, member=member,
                      export_state=state)


def test_request_partial_walks_the_states(app, db, make_user, seeded_member, make_request):
    staff = make_user(permissions=EVERYTHING)
    unverified = make_request(member=seeded_member, verified=False)
    html = _render_request_partial(app, staff, unverified, seeded_member)
    assert "identity has not been verified" in html and "export.pdf" not in html
    unlinked = make_request(member=None)
    html = _render_request_partial(app, staff, unlinked, None)
    assert "not linked to a member" in html
    ready = db.session.scalars(db.select(DataRequest).where(DataRequest.reference == "AVG-2026-0001")).one()
    html = _render_request_partial(app, staff, ready, seeded_member)
    assert f"/privacy/requests/{ready.reference}/export.pdf" in html and "handed-over" not in html
    assert 'name="csrf_token"' in html
    from app.services import clock

    ready.export_produced_at = clock.utcnow()
    html = _render_request_partial(app, staff, ready, seeded_member)
    assert f"/privacy/requests/{ready.reference}/export/handed-over" in html
    assert '<option value="in_person">Handed over in person</option>' in html
    erasure = make_request(member=seeded_member, kind="erasure")
    assert "export" not in _render_request_partial(app, staff, erasure, seeded_member).lower()
