"""The erasure confirmation letter by e-mail (issue 19): the address is kept with the letter and goes with it."""

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import DataRequest, MailOutbox, RequestEvent
from app.services import clock, erasure, mail
from app.services import privacy_requests as svc
from tests.privacy.test_wizard import pdf_text


def request_of(reference):
    db.session.expire_all()
    return db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))


def erase_through_the_wizard(client, reference, member, letter):
    client.post(f"/privacy/requests/{reference}/identity",
                data={"member_number": str(member.member_number), "method": "Passport shown at the desk"})
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"/privacy/requests/{reference}/erasure/start")
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    client.post(f"{base}/decision", data={"decision": "grant", "reason": ""})
    client.post(f"{base}/method", data={"method": "delete"})
    client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    # The result step makes the letter in the same click, with the letter step's choices.
    return client.post(f"{base}/result", data=letter)


def email_hits(report):
    return [(hit["table"], hit["column"], hit["status"]) for hit in report["hits"] if hit["kind"] == "email"]


def test_the_letter_goes_by_email_in_the_requesters_language_and_the_address_goes_with_it(
        app, client, smtp, make_member, make_user, login_as, frozen_clock, caplog):
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    member = make_member(first_name="Wendelien", email="wendelien@example.nl")
    identifiers = erasure.identifiers_of(member)
    # Filed on the public form in Dutch (the form itself is tested in test_mail; here its service, so the
    # officer's pages below can be in English in the same test).
    reference, _mailed = svc.intake("erasure", honeypot=False, locale="nl", requester_name="Wendelien",
                                    requester_email="wendelien@example.nl",
                                    requester_date_of_birth=member.date_of_birth)
    db.session.commit()
    assert mail.drain().sent == 1  # the acknowledgement
    smtp.mailbox.messages.clear()

    login_as(make_user("privacy_officer", locale="en"))
    letter_page = client.get(f"/privacy/requests/{reference}/erasure/letter")
    assert letter_page.status_code == 302  # not at the letter step yet
    made = erase_through_the_wizard(client, reference, member, {"by_email": "y"})
    assert made.status_code == 302
    kept = request_of(reference)
    assert kept.status == "completed" and kept.requester_email is None  # minimised as before
    assert kept.letter_email == "wendelien@example.nl"  # kept with the letter, and nowhere else
    row = db.session.scalars(select(MailOutbox).where(MailOutbox.kind == "erasure_letter")).one()
    assert "wendelien" not in f"{row.params} {row.dedupe_key} {row.last_error}".lower()
    assert (row.subject_id, row.member_id, row.locale) == (kept.id, None, "nl")
    # The residual scan names the kept address as kept with the letter, with the day it goes at the latest.
    assert email_hits(erasure.verify(identifiers)) == [("data_requests", "letter_email", "with_letter")]
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "goes to the requester by email" in page
    assert "is kept with it and goes with it" in page  # the request's report says so too

    # The mail server is down for a while: nothing is lost, the letter stays kept, and it goes later.
    smtp.stop()
    with caplog.at_level(logging.INFO):
        assert mail.drain().retrying == 1
        assert request_of(reference).letter_sent_at is None and svc.kept_letter(request_of(reference))
        smtp.start()
        clock.advance(timedelta(minutes=2))
        assert mail.drain().sent == 1
    ours = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("app"))  # not the test server's
    assert "mail" in ours and "wendelien" not in ours.lower()

    [(to, message)] = smtp.mailbox.messages
    assert to == ["wendelien@example.nl"]
    assert message["Content-Language"] == "nl" and reference in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "Zoals u vroeg" in text and "bijlage" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == f"{reference}-letter.pdf"
    letter = " ".join(pdf_text(attachment.get_content()).split())
    assert f"Uw verzoek {reference}" in letter and "Wendelien" in letter  # the letter itself, in Dutch

    sent = request_of(reference)
    assert sent.letter_sent_at is not None and sent.letter_email is None and svc.kept_letter(sent) is None
    actions = db.session.scalars(select(RequestEvent.action).where(RequestEvent.request_id == sent.id)
                                 .order_by(RequestEvent.id)).all()
    assert "letter_email_queued" in actions and actions[-1] == "letter_emailed"
    # No copy of the address is left: not in the rows, not in the database files.
    report = erasure.verify(identifiers)
    assert email_hits(report) == []
    assert erasure.verify_files(identifiers, report)["failures"] == 0
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "sent by email on" in page and "Letter sent by email; kept copy and address removed" in page
    assert mail.drain().sent == 0  # sent once


def test_a_letter_marked_sent_by_hand_or_expired_takes_the_address_along_and_mails_nothing(
        app, client, smtp, make_member, make_user, login_as, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    login_as(make_user("privacy_officer"))
    references = []
    for n in range(2):
        member = make_member(email=f"lid{n}@example.nl")
        data_request = svc.register("erasure", channel="desk", requester_name="A", requester_email=member.email)
        db.session.commit()
        references.append(data_request.reference)
        erase_through_the_wizard(client, data_request.reference, member, {"by_email": "y", "language": "en"})
    first, second = (request_of(r) for r in references)
    assert first.letter_email and second.letter_email
    client.post(f"/privacy/requests/{first.reference}/letter/sent")
    clock.advance(timedelta(days=31))
    assert svc.expire_letters(30) == 1
    db.session.commit()
    assert [request_of(r).letter_email for r in references] == [None, None]
    assert mail.drain().dropped == 2
    assert smtp.mailbox.messages == []


def test_without_mail_the_letter_step_offers_no_email(app, client, make_member, make_user, login_as):
    login_as(make_user("privacy_officer"))
    member = make_member()
    data_request = svc.register("erasure", channel="desk", requester_name="A", requester_email=member.email)
    db.session.commit()
    erase_through_the_wizard(client, data_request.reference, member, {"by_email": "y"})
    refused = request_of(data_request.reference)
    assert refused.letter_produced_at is None and refused.letter_email is None  # nothing made, nothing lost
    page = client.get(f"/privacy/requests/{data_request.reference}/erasure/result").get_data(as_text=True)
    assert "by_email" not in page and "Make the letter and close the request" in page
