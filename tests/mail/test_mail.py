"""E-mail through the outbox and a real SMTP server on loopback (issue 19)."""

import logging
import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import DataRequest, MailOutbox, RequestEvent
from app.services import accounts, clock, erasure, mail, privacy_requests
from tests.conftest import TEST_PASSWORD

FORM = {"name": "Saskia Bloembollen", "email": "saskia@example.nl", "member_number": "",
        "date_of_birth": "1985-04-03", "kind": "access", "message": "", "website": ""}


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def pending():
    return db.session.scalar(select(func.count()).select_from(MailOutbox).where(MailOutbox.status == "pending"))


def test_the_requester_finds_the_acknowledgement_in_their_language(app, client, smtp, frozen_clock):
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    client.post("/language", data={"lang": "nl"})
    done = client.post("/request", data=FORM, follow_redirects=True).get_data(as_text=True)
    reference = db.session.scalar(select(DataRequest.reference))
    assert reference in done and "bevestiging" in done
    result = mail.drain()
    assert result.sent == 1
    [(recipients, message)] = smtp.mailbox.messages
    assert recipients == ["saskia@example.nl"]
    assert reference in message["Subject"] and message["Content-Language"] == "nl"
    text, html = parts(message)
    assert reference in text and reference in html
    assert "2 april 2026" in text  # the deadline, one month on, in Dutch
    assert "identiteitsbewijs" in text  # what happens next: the identity check
    assert app.config["CLUB_EMAIL"] in text
    assert mail.drain().sent == 0  # sent once
    assert "acknowledgement_emailed" in db.session.scalars(select(RequestEvent.action)).all()  # on the timeline


def test_english_when_the_form_was_filled_in_english(app, client, smtp):
    client.post("/language", data={"lang": "en"})
    client.post("/request", data=FORM)
    mail.drain()
    [(_to, message)] = smtp.mailbox.messages
    text, _html = parts(message)
    assert "Thank you, we received your request" in text and "the request comes from you" in text


def test_the_confirmation_page_and_the_mail_show_the_same_next_steps(app, client, smtp):
    client.post("/language", data={"lang": "nl"})
    page = client.post("/request", data={**FORM, "kind": "erasure"}, follow_redirects=True).get_data(as_text=True)
    listed = page.split('id="next-steps"')[1].split("</ol>")[0]
    steps = [" ".join(step.split()) for step in re.findall(r"<li>(.*?)</li>", listed, re.S)]
    assert len(steps) == 3 and "brief" in steps[2]  # an erasure is answered with a letter
    mail.drain()
    [(_to, message)] = smtp.mailbox.messages
    text, html = (" ".join(part.split()) for part in parts(message))
    for number, step in enumerate(steps, 1):
        assert step in html
        assert f"{number}. {unescape(step)}" in text  # the plain-text part: the same steps, numbered


def test_without_mail_the_form_works_and_says_the_club_will_contact_them(app, client):
    assert not app.config["MAIL_URL"]
    client.post("/language", data={"lang": "en"})
    done = client.post("/request", data={**FORM, "kind": "erasure"}, follow_redirects=True)
    assert done.status_code == 200
    assert "The club will contact you" in done.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(DataRequest)) == 1
    assert db.session.scalar(select(func.count()).select_from(MailOutbox)) == 0


def test_a_server_down_for_a_while_delays_mail_and_loses_none(app, client, smtp, frozen_clock, caplog):
    frozen_clock(datetime(2026, 3, 2, 9, 0))
    smtp.stop()
    for n in range(3):
        client.post("/request", data={**FORM, "email": f"lid{n}@example.nl"})
    with caplog.at_level(logging.INFO):
        first = mail.drain()
    assert (first.sent, first.retrying) == (0, 3)
    assert pending() == 3
    row = db.session.scalars(select(MailOutbox)).first()
    assert row.attempts == 1 and row.last_error and "@" not in row.last_error
    assert "example.nl" not in caplog.text and "Saskia" not in caplog.text
    clock.advance(timedelta(seconds=10))
    assert mail.drain().retrying == 0  # not due yet: the pause grows between attempts
    clock.advance(timedelta(seconds=25))
    assert mail.drain().retrying == 3  # still down: the second attempt fails too
    smtp.start()
    clock.advance(timedelta(minutes=2))
    assert mail.drain().sent == 3
    assert sorted(to[0] for to, _m in smtp.mailbox.messages) == [f"lid{n}@example.nl" for n in range(3)]
    assert pending() == 0 and mail.drain().sent == 0


def test_a_permanent_refusal_parks_the_mail_and_the_integrations_page_counts_it(app, client, smtp, make_user,
                                                                                login_as):
    for address in ("refused@example.nl", "b@example.nl"):
        mail.acknowledge_request(privacy_requests.register("access", channel="desk", requester_name="A",
                                                           requester_email=address), locale="en")
    db.session.commit()
    result = mail.drain()
    assert (result.sent, result.parked, result.retrying) == (1, 1, 0)
    parked = db.session.scalars(select(MailOutbox).where(MailOutbox.status == "parked")).one()
    assert parked.last_error == "smtp-550" and mail.drain().sent == 0  # not tried again
    login_as(make_user("administrator"))
    page = client.get("/integrations").get_data(as_text=True)
    status = page.split('id="mail-status"')[1].split("</p>")[0]
    assert "0 waiting, 1 sent" in status and "1 mail was refused by the mail server" in status


def test_an_account_hears_of_password_and_two_factor_changes(app, smtp, make_user):
    user = make_user("front_desk", username="desk<b>", email="desk@example.nl", locale="en")
    accounts.change_own_password(user, TEST_PASSWORD, "another-long-password-99")
    db.session.commit()
    admin = make_user("administrator")
    accounts.reset_totp(admin, user)
    db.session.commit()
    assert mail.drain().sent == 2
    subjects = [message["Subject"] for _to, message in smtp.mailbox.messages]
    assert subjects == ["A security setting of your account was changed"] * 2
    texts = [parts(message)[0] for _to, message in smtp.mailbox.messages]
    assert "password" in texts[0] and "two-factor" in texts[1]
    assert "desk<b>" in texts[0] and "desk&lt;b&gt;" in parts(smtp.mailbox.messages[0][1])[1]  # escaped in HTML
    assert all(to == ["desk@example.nl"] for to, _m in smtp.mailbox.messages)


def test_the_privacy_officer_is_reminded_once_when_due_soon_and_once_when_overdue(app, smtp, make_user,
                                                                                  frozen_clock):
    make_user("privacy_officer", email="privacy-officer@example.nl")
    frozen_clock(datetime(2026, 3, 1, 9, 0))
    soon = privacy_requests.register("access", channel="desk", requester_name="A", requester_email="a@example.nl")
    frozen_clock(datetime(2026, 1, 10, 9, 0))
    late = privacy_requests.register("erasure", channel="desk", requester_name="B", requester_email="b@example.nl")
    db.session.commit()
    frozen_clock(datetime(2026, 3, 25, 9, 0))  # soon is due 1 April (7 days), late was due 10 February
    assert mail.queue_reminders() == 2
    assert mail.queue_reminders() == 0
    db.session.commit()
    mail.drain()
    by_subject = {message["Subject"]: to for to, message in smtp.mailbox.messages}
    assert app.config["BABEL_DEFAULT_LOCALE"] == "en"  # the officer's mails are in the club's language
    assert set(by_subject) == {f"Due within 7 days: data request {soon.reference}",
                               f"Overdue: data request {late.reference}"}
    assert all(to == ["privacy-officer@example.nl"] for to in by_subject.values())
    reminded = db.session.scalars(select(RequestEvent.request_id).where(RequestEvent.action == "reminder_emailed"))
    assert sorted(reminded) == sorted([soon.id, late.id])  # each request's timeline records its reminder


def test_an_erasure_removes_the_members_queued_mails(app, client, smtp, make_member, make_user):
    member = make_member()
    data_request = privacy_requests.register("erasure", channel="desk", requester_name="A",
                                             requester_email=member.email)
    data_request.member_id = member.id
    mail.enqueue("intake_ack", "request", data_request.id, locale="nl", member_id=member.id)
    other = privacy_requests.register("access", channel="desk", requester_name="B", requester_email="b@example.nl")
    mail.acknowledge_request(other, locale="en")
    db.session.commit()
    erasure.erase_member(member, "anonymise", make_user("privacy_officer"))
    db.session.commit()
    assert db.session.scalars(select(MailOutbox.subject_id)).all() == [other.id]
    assert mail.drain().sent == 1
    assert [to for to, _m in smtp.mailbox.messages] == [["b@example.nl"]]


def test_a_request_minimised_before_sending_sends_nothing(app, smtp):
    data_request = privacy_requests.register("access", channel="desk", requester_name="A",
                                             requester_email="a@example.nl")
    mail.acknowledge_request(data_request, locale="nl")
    data_request.requester_email = None
    db.session.commit()
    assert mail.drain().dropped == 1
    assert smtp.mailbox.messages == []


@pytest.mark.parametrize(("url", "ok"), [
    ("smtp://mail.example.nl:587", True), ("smtps://user:secret@mail.example.nl", True),
    ("smtp://127.0.0.1:2525?tls=off", True), ("smtp://mail.example.nl?tls=off", False), ("http://x", False),
])
def test_mail_url(app, url, ok):
    if ok:
        assert mail.settings(url).host
    else:
        with pytest.raises(mail.MailConfigError):
            mail.settings(url)


def test_a_server_without_starttls_gets_no_mail_in_plain_text(app, client, monkeypatch, tmp_path):
    from tests.mail.conftest import SmtpServer

    server = SmtpServer(tmp_path)
    server.context = None  # this server offers no STARTTLS
    from aiosmtpd.controller import Controller

    server.controller = Controller(server.mailbox, hostname="127.0.0.1", port=server.port)
    server.controller.start()
    try:
        monkeypatch.setitem(app.config, "MAIL_URL", server.url)
        client.post("/request", data=FORM)
        result = mail.drain()
        assert (result.sent, result.retrying) == (0, 1)
        assert server.mailbox.messages == []
        assert db.session.scalar(select(MailOutbox.last_error)) == "no-starttls"
    finally:
        server.stop()


def test_the_access_export_goes_by_email_encrypted_and_the_timeline_says_so(app, client, smtp, make_member,
                                                                           make_user, login_as):
    import io
    import zipfile

    import pyzipper

    member = make_member(first_name="Ottoline")
    data_request = privacy_requests.register("access", channel="desk", requester_name="Ottoline",
                                             requester_email="ottoline@example.nl")
    data_request.member_id = member.id
    data_request.identity_verified_at = clock.utcnow()
    db.session.commit()
    login_as(make_user("privacy_officer"))
    page = client.post(f"/privacy/requests/{data_request.reference}/export/email", data={"language": "en"})
    assert page.status_code == 200
    password = page.get_data(as_text=True).split('id="export-password"><strong>')[1].split("<")[0]
    assert len(password) == 19
    row = db.session.scalars(select(MailOutbox)).one()
    assert password not in row.params and "ottoline" not in row.params.lower()
    assert mail.drain().sent == 1
    [(to, message)] = smtp.mailbox.messages
    assert to == ["ottoline@example.nl"]
    attachment = next(message.iter_attachments())
    outer = pyzipper.AESZipFile(io.BytesIO(attachment.get_content()))
    with pytest.raises(RuntimeError):
        outer.read(outer.namelist()[0])  # no password, no data
    outer.setpassword(password.encode())
    inner = zipfile.ZipFile(io.BytesIO(outer.read(outer.namelist()[0])))
    assert any("Ottoline" in inner.read(name).decode("utf-8", "replace") for name in inner.namelist())
    assert password not in message.as_string()
    db.session.expire_all()
    actions = db.session.scalars(select(RequestEvent.action).where(RequestEvent.request_id == data_request.id)
                                 .order_by(RequestEvent.id)).all()
    assert actions[-3:] == ["export_email_queued", "export_produced", "export_handed_over"]
    assert "sealed" not in db.session.scalars(select(MailOutbox)).one().params  # the password is forgotten
