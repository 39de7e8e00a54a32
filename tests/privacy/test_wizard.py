"""The erasure wizard end to end through the pages, the letter, and two staff at once."""

import json
import threading
from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.auth.permissions import DEFAULT_ROLES
from app.extensions import db as _db
from app.models import DataRequest, Invoice, Member
from app.services import erasure, ledger
from app.services import privacy_requests as svc
from tests.privacy.conftest import FULL_NAME
from tests.privacy.helpers import get_request, register, verify

# The Privacy officer's permissions without its two-factor requirement, for a client of another app.
OFFICER_CODES = sorted(DEFAULT_ROLES["privacy_officer"]["codes"])


@pytest.fixture
def officer(make_user, login_as):
    user = make_user("privacy_officer", username="olga")
    login_as(user)
    return user


def start(client, db, member, kind="erasure"):
    reference = register(client, kind=kind)
    verify(client, reference, member)
    response = client.post(f"/privacy/requests/{reference}/erasure/start")
    assert response.status_code == 302
    return reference


def pdf_text(body):
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(body)).pages)


def _make_letter(client, base, reference, step="letter") -> str:
    """Make the letter (the request closes) and download the kept copy; after an erasure the result page makes it."""
    assert client.post(f"{base}/{step}").status_code == 302
    return pdf_text(client.get(f"/privacy/requests/{reference}/letter.pdf").data)


@pytest.mark.parametrize("method", ["anonymise", "delete"])
@pytest.mark.slow
def test_the_whole_wizard(client, db, officer, seeded_member, method):
    member = seeded_member()
    member_id, number = member.id, member.member_number
    identifiers = erasure.identifiers_of(member)
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"

    # no step can be skipped: later steps send you back to the current one
    for later in ("decision", "method", "confirm", "result", "letter"):
        response = client.get(f"{base}/{later}")
        assert response.status_code == 302 and response.headers["Location"].endswith(f"{base}/ground"), later
    assert client.post(f"{base}/confirm", data={"member_number": str(number)}).status_code == 302
    assert db.session.get(Member, member_id) is not None

    page = client.get(f"{base}/ground").get_data(as_text=True)
    assert "no longer needed" in page and "withdraws the consent" in page
    assert "Choose a ground." in client.post(f"{base}/ground", data={}).get_data(as_text=True)
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})

    page = client.get(f"{base}/decision").get_data(as_text=True)
    assert "fiscal retention" in page and f"31 December {date.today().year + 6}" in page
    # exceptions were found, so a plain grant needs reasons too
    page = client.post(f"{base}/decision", data={"decision": "grant"}).get_data(as_text=True)
    assert "Give the reasons for this decision." in page
    client.post(f"{base}/decision", data={"decision": "partial", "reason": "Invoices stay by law"})

    page = client.get(f"{base}/method").get_data(as_text=True)
    assert f"Invoice NEW-{number}: kept until" in page and "Kept under the fiscal retention obligation" in page
    client.post(f"{base}/method", data={"method": method})

    assert client.get(f"{base}/confirm").status_code == 200
    assert client.get(f"{base}/method").status_code == 302  # a step already done cannot be reopened by URL
    page = client.post(f"{base}/confirm", data={"member_number": "12"}).get_data(as_text=True)
    assert "does not match" in page and db.session.get(Member, member_id) is not None
    response = client.post(f"{base}/confirm", data={"member_number": str(number)})
    assert response.headers["Location"].endswith(f"{base}/result")

    page = client.get(f"{base}/result").get_data(as_text=True)
    assert "No personal data of the member was found" in page and "kept by law until" in page
    saved = get_request(db, reference)
    report = json.loads(saved.verification_report)
    assert report["ok"] and report["kept_by_law"] >= 1
    assert "quastenbroek" not in saved.verification_report.lower()
    row = db.session.get(Member, member_id)
    assert (row is None) if method == "delete" else (row.status == "anonymised" and row.last_name == "")

    made = client.post(f"{base}/result")  # one click from the report to the made letter
    assert made.status_code == 302 and made.headers["Location"].endswith(f"/privacy/requests/{reference}#letter")
    response = client.get(f"/privacy/requests/{reference}/letter.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert reference in text and FULL_NAME in text
    assert ("deleted your member record" if method == "delete" else "anonymised your member record") in text
    assert f"until 31 December {date.today().year + 6}" in text and "We granted your request in part" in text

    saved = get_request(db, reference)
    assert saved.status == "completed" and saved.closed_at and saved.letter_produced_at and saved.minimised_at
    assert saved.requester_name is None and saved.requester_email is None
    stored = json.loads(saved.verification_report)
    assert stored["until_letter"] == 0 and {h["status"] for h in stored["hits"]} <= {"kept_by_law", "removed"}
    # after minimising, nothing but what the law keeps remains anywhere
    final = erasure.verify(identifiers)
    assert final["failures"] == 0 and final["until_letter"] == 0
    assert {hit["table"] for hit in final["hits"]} == {"invoices"}
    kept = db.session.scalar(select(Invoice).where(Invoice.number == f"NEW-{number}"))
    assert kept.member_id is None and kept.billing_name == FULL_NAME
    timeline = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    for label in ("Erasure wizard started", "Ground recorded", "Decision: partly grant", "Method chosen",
                  "Anonymisation carried out" if method == "anonymise" else "Erasure carried out",
                  "Confirmation letter made", "olga"):
        assert label in timeline
    # the wizard is over: its pages lead back to the request
    assert client.get(f"{base}/letter").headers["Location"].endswith(f"/privacy/requests/{reference}")


def test_no_ground_means_a_refusal_with_a_letter(client, db, officer, seeded_member):
    member = seeded_member()
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    page = client.post(f"{base}/ground", data={"ground": "none"}).get_data(as_text=True)
    assert "Give the reason for refusing" in page
    client.post(f"{base}/ground", data={"ground": "none", "reason": "The membership contract still runs"})
    assert client.get(f"{base}/method").headers["Location"].endswith(f"{base}/letter")
    text = _make_letter(client, base, reference)
    assert "not to do so" in text and "The membership contract still runs" in text
    saved = get_request(db, reference)
    assert saved.status == "refused" and saved.decision == "refuse" and saved.requester_name is None
    assert db.session.get(Member, member.id).last_name == "Quastenbroek"


def test_a_refusing_decision_skips_to_the_letter(client, db, officer, seeded_member):
    member = seeded_member()
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/ground", data={"ground": "objection"})
    client.post(f"{base}/decision", data={"decision": "refuse", "reason": "Open invoice dispute"})
    assert get_request(db, reference).wizard_step == "letter"
    client.post(f"{base}/letter")
    assert get_request(db, reference).status == "refused"


def test_erasure_needs_the_erase_permission(client, db, make_user, login_as, seeded_member):
    member = seeded_member()
    login_as(make_user(permissions=["privacy.view", "privacy.handle"]))
    reference = register(client)
    verify(client, reference, member)
    assert client.post(f"/privacy/requests/{reference}/erasure/start").status_code == 403
    assert client.get(f"/privacy/requests/{reference}/erasure/ground").status_code == 403


def test_the_wizard_needs_a_verified_identity(client, db, officer, seeded_member):
    reference = register(client)
    page = client.post(f"/privacy/requests/{reference}/erasure/start", follow_redirects=True).get_data(as_text=True)
    assert "identity and link the request to a member first" in page
    assert get_request(db, reference).wizard_step is None


def _to_confirm(client, db, member):
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    client.post(f"{base}/decision", data={"decision": "grant", "reason": "ok"})
    client.post(f"{base}/method", data={"method": "delete"})
    assert get_request(db, reference).wizard_step == "confirm"
    return reference


def test_a_second_execution_gets_a_clear_message(client, db, officer, seeded_member):
    member = seeded_member()
    number = member.member_number
    reference = _to_confirm(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/confirm", data={"member_number": str(number)})
    page = client.post(f"{base}/confirm", data={"member_number": str(number)}, follow_redirects=True)
    assert "already been carried out" in page.get_data(as_text=True)


def test_two_staff_executing_at_once_exactly_one_succeeds(app, client, db, officer, seeded_member):
    member = seeded_member()
    reference = _to_confirm(client, db, member)
    number = member.member_number
    db.session.remove()
    barrier = threading.Barrier(2)
    outcomes = []

    def worker():
        with app.test_request_context():  # a request of its own, as two browsers would have
            data_request = _db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))
            assert data_request.wizard_step == "confirm"
            barrier.wait()
            try:
                svc.execute(data_request, str(number), None)
                _db.session.commit()
                outcomes.append("done")
            except svc.AlreadyExecutedError as exc:
                _db.session.rollback()
                outcomes.append(str(exc))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes, key=len)[0] == "done" and outcomes.count("done") == 1, outcomes
    assert any("carried out" in outcome for outcome in outcomes)
    saved = get_request(db, reference)
    assert saved.wizard_step == "result"
    assert [e.action for e in saved.events].count("erased") == 1
    assert len(ledger.read_file()) == 1


def test_the_pages_speak_dutch(make_app, db, make_user, seeded_member):
    app = make_app(BABEL_DEFAULT_LOCALE="nl")
    client = app.test_client()
    assert "Vraag naar uw persoonsgegevens" in client.get("/request").get_data(as_text=True)
    user = make_user(permissions=OFFICER_CODES)
    from tests.conftest import TEST_PASSWORD

    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    member = seeded_member()
    reference = register(client)
    verified = verify(client, reference, member)  # an erasure goes straight into its wizard
    assert verified.headers["Location"].endswith(f"/privacy/requests/{reference}/erasure")
    assert "Verwijderwizard hervatten" in client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    base = f"/privacy/requests/{reference}/erasure"
    assert "Welke grond is van toepassing?" in client.get(f"{base}/ground").get_data(as_text=True)
    client.post(f"{base}/ground", data={"ground": "unlawful"})
    assert "Wat pleit er nu tegen verwijderen" in client.get(f"{base}/decision").get_data(as_text=True)
    client.post(f"{base}/decision", data={"decision": "grant", "reason": "Geen grondslag"})
    assert "Bewaard vanwege de fiscale bewaarplicht" in client.get(f"{base}/method").get_data(as_text=True)
    client.post(f"{base}/method", data={"method": "anonymise"})
    assert "Nu anonimiseren" in client.get(f"{base}/confirm").get_data(as_text=True)
    client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    assert "Controlerapport" in client.get(f"{base}/result").get_data(as_text=True)
    text = _make_letter(client, base, reference, step="result")
    assert "U vroeg ons uw persoonsgegevens te wissen" in text and "fiscale bewaarplicht" in text
    assert "Bevestigingsbrief gemaakt" in client.get(f"/privacy/requests/{reference}").get_data(as_text=True)


def test_a_legal_hold_stops_the_execution_with_a_message(client, db, officer, seeded_member):
    from app.models import LegalHold

    member = seeded_member()
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    db.session.add(LegalHold(member_id=member.id, reason="Court case about fees"))
    db.session.commit()
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    assert "A recorded legal hold or dispute." in client.get(f"{base}/decision").get_data(as_text=True)
    client.post(f"{base}/decision", data={"decision": "grant", "reason": "Hold to be lifted"})
    client.post(f"{base}/method", data={"method": "delete"})
    response = client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    assert response.status_code == 200 and "active legal hold" in response.get_data(as_text=True)
    assert db.session.get(Member, member.id) is not None
    assert get_request(db, reference).wizard_step == "confirm"
    assert ledger.read_file() == []


def test_a_member_erased_meanwhile_ends_the_wizard_cleanly(client, db, officer, seeded_member):
    member = seeded_member()
    reference = _to_confirm(client, db, member)
    erasure.erase_members([member.id], "delete", None, source="retention")
    db.session.commit()
    response = client.get(f"/privacy/requests/{reference}/erasure/confirm", follow_redirects=True)
    assert response.status_code == 200 and "no longer exists" in response.get_data(as_text=True)
    response = client.post(f"/privacy/requests/{reference}/erasure/confirm", data={"member_number": "1"},
                           follow_redirects=True)
    assert response.status_code == 200 and "no longer exists" in response.get_data(as_text=True)


def test_a_request_closed_mid_wizard_cannot_be_executed(client, db, officer, seeded_member):
    member = seeded_member()
    reference = _to_confirm(client, db, member)
    client.post(f"/privacy/requests/{reference}/close", data={"status": "withdrawn", "outcome": "Changed their mind"})
    assert get_request(db, reference).status == "withdrawn"
    response = client.post(f"/privacy/requests/{reference}/erasure/confirm",
                           data={"member_number": str(member.member_number)}, follow_redirects=True)
    assert "This request is closed." in response.get_data(as_text=True)
    assert db.session.get(Member, member.id).last_name == "Quastenbroek"


def test_staff_actions_need_the_csrf_token(make_app, db, make_user, seeded_member):
    import re

    from tests.conftest import TEST_PASSWORD

    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    user = make_user(permissions=OFFICER_CODES)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": user.username, "password": TEST_PASSWORD, "csrf_token": token})
    member = seeded_member()
    data_request = svc.register("restriction", channel="desk", requester_name="x")
    svc.verify_identity(data_request, member, "passport", None)
    db.session.commit()
    url = f"/privacy/requests/{data_request.reference}/restriction/set"
    assert client.post(url).status_code == 400
    assert not db.session.get(Member, member.id).processing_restricted
    page = client.get(f"/privacy/requests/{data_request.reference}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    assert client.post(url, data={"csrf_token": token}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Member, member.id).processing_restricted


def test_the_result_page_reports_the_scan_of_the_database_files(client, db, officer, seeded_member):
    member = seeded_member()
    reference = _to_confirm(client, db, member)
    page = client.post(f"/privacy/requests/{reference}/erasure/confirm",
                       data={"member_number": str(member.member_number)}, follow_redirects=True).get_data(as_text=True)
    assert "The database files" in page
    if db.engine.dialect.name == "sqlite":
        assert "hold no copy of the member" in page
        assert "copies belong to the rows the law keeps" in page  # the kept invoice and the request itself
        assert "clubhouse-test.db-wal" in page or "clubhouse-test.db" in page
    else:
        assert "the portal cannot check" in page
    assert "Quastenbroek" not in page.split("The database files", 1)[1]


def test_a_started_wizard_must_be_finished_before_completing_the_request(client, db, officer, seeded_member):
    member = seeded_member()
    reference = start(client, db, member)
    response = client.post(f"/privacy/requests/{reference}/close", data={"status": "completed", "outcome": ""},
                           follow_redirects=True)
    assert "Finish the erasure wizard first." in response.get_data(as_text=True)
    data_request = get_request(db, reference)
    assert data_request.is_open and data_request.requester_name is not None
    # The rule is the service's: the API and the CLI meet the same refusal.
    with pytest.raises(svc.RequestError, match="Finish the erasure wizard first"):
        svc.close(data_request, "completed", "", officer)
    svc.close(data_request, "withdrawn", "Changed their mind", officer)  # withdrawing stays possible
    assert not data_request.is_open
