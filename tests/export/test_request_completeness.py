"""The answer to an access request is complete; an export from the member page follows the viewer's role."""

import io
import json
import zipfile

from pypdf import PdfReader

from app.models import AuditEvent, DataRequest


def _officer_client(client, login_as, make_user):
    """The default Privacy officer role (it cannot read health notes), logged in."""
    officer = make_user("privacy_officer")
    assert not officer.has_permission("members.health")
    return login_as(officer)


def _request(db):
    return db.session.scalars(db.select(DataRequest).where(DataRequest.reference == "AVG-2026-0001")).one()


def _pdf(response) -> str:
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages).split())


def test_request_export_holds_the_health_notes_the_officer_cannot_see(db, client, login_as, make_user, seeded_member):
    client = _officer_client(client, login_as, make_user)
    reference = _request(db).reference
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "includes health notes too" in page and "does not allow you to see" not in page

    archive = zipfile.ZipFile(io.BytesIO(client.post(f"/privacy/requests/{reference}/export.zip",
                                                     data={"language": "en"}).data))
    data = json.loads(archive.read("member.json"))
    assert [n["body"] for n in data["health_notes"]] == ["Knieblessure links, geen squats."]
    assert data["not_included"] == [] and "health_notes.csv" in archive.namelist()
    assert all(c["included"] for c in data["about_the_processing"]["categories"])

    text = _pdf(client.post(f"/privacy/requests/{reference}/export.pdf", data={"language": "en"}))
    assert "Knieblessure links" in text and "What this document does not contain" not in text
    details = [json.loads(e.details) for e in db.session.scalars(
        db.select(AuditEvent).where(AuditEvent.action.in_(("export.zip", "export.pdf"))).order_by(AuditEvent.id))]
    assert [(d["complete"], d["left_out"]) for d in details] == [(True, []), (True, [])]


def test_member_page_export_follows_the_officers_role_and_says_so(db, client, login_as, make_user, seeded_member):
    client = _officer_client(client, login_as, make_user)
    text = _pdf(client.get(f"/privacy/members/{seeded_member.member_number}/export.pdf?lang=en"))
    assert "Knieblessure" not in text and "Health notes are not included" in text
    archive = zipfile.ZipFile(io.BytesIO(client.get(
        f"/privacy/members/{seeded_member.member_number}/export.zip?lang=nl").data))
    data = json.loads(archive.read("member.json"))
    assert data["health_notes"] is None and [e["part"] for e in data["not_included"]] == ["health_notes"]
    assert "Knieblessure" not in archive.read("member.json").decode()
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "export.zip")).one()
    assert json.loads(event.details)["complete"] is False


def test_an_exporter_who_may_not_answer_requests_gets_no_more_than_their_role(db, client, login_as, make_user,
                                                                               seeded_member):
    login_as(make_user(permissions=["members.view", "privacy.view", "privacy.export"]))
    data = json.loads(zipfile.ZipFile(io.BytesIO(client.post(
        f"/privacy/requests/{_request(db).reference}/export.zip", data={"language": "en"}).data)).read("member.json"))
    assert data["health_notes"] is None and data["invoices"] is None
    assert {e["part"] for e in data["not_included"]} == {"contact", "finance", "staff_notes", "health_notes"}
