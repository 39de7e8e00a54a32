"""The issue's 'done means' for Art. 19: a member synced to TechnoGym and eGym and read by an API client is
erased; both platforms get their deletion, the feed shows it, the hand-registered recipient has its letter,
and the request closes only when all four are recorded."""

import re

from sqlalchemy import select

from app.models import DataRequest, RecipientNotice
from app.services import export
from app.services.connectors import delivery, outbox, settings
from tests.api.conftest import ca, ca_file, https, server_cert, servers, ssl_context  # noqa: F401 - fixtures
from tests.privacy.helpers import get_request, register, verify
from tests.privacy.test_wizard import pdf_text


def _sync_all(db):
    for name in ("egym", "technogym"):
        delivery.run_pending(name)


def _notices(db, reference):
    request = get_request(db, reference)
    return {n.recipient_kind + ":" + n.recipient_name: n for n in
            db.session.scalars(select(RecipientNotice).where(RecipientNotice.request_id == request.id))}


def test_an_erasure_tells_every_recipient_and_the_request_waits_for_all_four(
        client, login, make_user, db, egym, technogym, configure, configure_technogym, gym_member, https,  # noqa: F811
        clock_at):
    from app.services import api_clients

    member = gym_member(platforms=("egym", "technogym"), email="berendina@example.nl")
    number = member.member_number
    configure()
    configure_technogym()
    for name in ("egym", "technogym"):
        outbox.enqueue_full_sync(settings.connector(name))
    db.session.commit()
    _sync_all(db)
    assert len(egym.accounts) == 1 and len(technogym.users) == 1
    # An API client reads the member (the transfer log records it).
    _client, token = api_clients.create_client(None, name="ClubPlanner", scopes=("api.members.read", "api.changes.read"),
                                               fields=("email",), networks=(), expires_days=30)
    db.session.commit()
    assert number in [m["member_number"] for m in https.get("/api/v1/members", token=token).json()["data"]]

    # The administrator registers the accountant by hand and records what it received.
    login(make_user("administrator", username="admin"))
    response = client.post("/integrations/recipients", data={
        "name": "Administratiekantoor Telgen", "role": "the club's accountant",
        "address": "Postbus 12\n7400 AA Deventer", "categories": "name, address, IBAN, invoices"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    page = client.get("/integrations/recipients").get_data(as_text=True)
    recipient_id = re.search(r'id="recipient-(\d+)"', page).group(1)
    response = client.post(f"/integrations/recipients/{recipient_id}/delivery", data={"member_numbers": str(number)})
    assert "received data of 1 member" in client.get(response.headers["Location"]).get_data(as_text=True)
    # Registered by hand, it appears in the member's data export as a recipient.
    listed = {r.name: r for r in export.recipients_for(member)}
    assert set(listed) == {"eGym", "TechnoGym", "ClubPlanner", "Administratiekantoor Telgen"}
    assert listed["Administratiekantoor Telgen"].categories == ["name", "address", "IBAN", "invoices"]

    # The privacy officer erases the member through the wizard.
    login(make_user("privacy_officer", username="olga"))
    reference = register(client)
    verify(client, reference, member)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/start")
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    client.post(f"{base}/decision", data={"decision": "grant", "reason": "The member left; no contract runs."})
    client.post(f"{base}/method", data={"method": "delete"})
    response = client.post(f"{base}/confirm", data={"member_number": str(number)})
    assert response.headers["Location"].endswith(f"{base}/result")

    notices = _notices(db, reference)
    assert set(notices) == {"connector:eGym", "connector:TechnoGym", "api_client:ClubPlanner",
                            "manual:Administratiekantoor Telgen"}
    assert notices["api_client:ClubPlanner"].state == "notified"
    assert {notices[k].state for k in ("connector:eGym", "connector:TechnoGym", "manual:Administratiekantoor Telgen")} \
        == {"pending"}
    # The API client's feed shows the erasure.
    feed = https.get("/api/v1/changes", token=token).json()["data"]
    assert [(e["member_number"], e["kind"]) for e in feed] == [(number, "erased")]

    # Not everyone is told yet: the letter step refuses to close the request, and says who waits.
    response = client.post(f"{base}/result")  # the result page makes the letter
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Not every recipient has been notified yet" in page and "Administratiekantoor Telgen" in page
    assert get_request(db, reference).closed_at is None

    # The outbox delivers both deletions; the request page shows them notified.
    _sync_all(db)
    assert len(egym.deletions) == 1 and egym.accounts == {}
    assert len(technogym.deletions) == 1 and technogym.users == {}
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert page.count("deletion delivered") == 2 and "an entry in its changes feed" in page

    # The accountant's letter is ready: it names the member by number only (the name is erased).
    manual = _notices(db, reference)["manual:Administratiekantoor Telgen"]
    letter = client.get(f"/privacy/requests/{reference}/recipients/{manual.id}/letter").get_data(as_text=True)
    assert str(number) in letter and "Postbus 12" in letter and "IBAN" in letter and "Art. 19" in letter
    assert "Berendina" not in letter and "berendina@" not in letter
    members_letter = client.get(f"/privacy/requests/{reference}/recipients/letter").get_data(as_text=True)
    assert all(name in members_letter for name in ("eGym", "TechnoGym", "ClubPlanner", "Administratiekantoor Telgen"))
    response = client.post(f"{base}/result")
    assert response.status_code == 302 and get_request(db, reference).closed_at is None
    client.post(f"/privacy/requests/{reference}/recipients/{manual.id}/sent")

    # All four recorded: now the letter closes the request.
    response = client.post(f"{base}/result")  # the request page confirms; the kept letter downloads from there
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/privacy/requests/{reference}#letter")
    response = client.get(f"/privacy/requests/{reference}/letter.pdf")
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)  # the member's letter lists the recipients that were told
    assert "we told each of them of the erasure" in text and "Administratiekantoor Telgen" in text and "TechnoGym" in text
    saved = db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))
    db.session.refresh(saved)
    assert saved.status == "completed" and saved.closed_at is not None


def test_impossible_needs_a_reason_and_then_counts_as_resolved(client, login, make_user, db, make_member):
    from app.services import recipients

    login(make_user("administrator", username="admin"))
    member = make_member()
    insurer = recipients.register_recipient("Sportverzekeraar", role="insurer", address="Postbus 1",
                                            categories=["name"], actor=None)
    recipients.record_delivery(insurer, [member.member_number], actor=None)
    db.session.commit()
    login(make_user("privacy_officer", username="olga"))
    reference = register(client, kind="rectification")
    verify(client, reference, member)
    client.post(f"/privacy/requests/{reference}/rectification", data={"note": "The postcode was wrong."})
    [notice] = _notices(db, reference).values()
    assert notice.state == "pending" and notice.action == "rectified"
    response = client.post(f"/privacy/requests/{reference}/close", data={"status": "completed", "outcome": ""})
    assert "Not every recipient has been notified yet (Sportverzekeraar)" in client.get(
        response.headers["Location"]).get_data(as_text=True)
    response = client.post(f"/privacy/requests/{reference}/recipients/{notice.id}/impossible", data={"reason": "no"})
    assert "Say why telling this recipient" in client.get(response.headers["Location"]).get_data(as_text=True)
    client.post(f"/privacy/requests/{reference}/recipients/{notice.id}/impossible",
                data={"reason": "The insurer went bankrupt in 2025; there is no one left to tell."})
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "not notified: The insurer went bankrupt" in page
    client.post(f"/privacy/requests/{reference}/close", data={"status": "completed", "outcome": ""})
    assert get_request(db, reference).status == "completed"
