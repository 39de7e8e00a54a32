"""The erasure wizard without doubt: the member on every step, back to finished steps, the method as two
cards with the row detail folded, the decision explained, the letter's text apart from the internal reasons,
and the letter kept until it is marked sent (or its keeping period ends)."""

import re
from datetime import datetime, timedelta

import pytest

from app.services import clock
from app.services import privacy_requests as svc
from tests.privacy.helpers import get_request
from tests.privacy.test_wizard import pdf_text, start


@pytest.fixture
def officer(make_user, login_as):
    user = make_user("privacy_officer", username="olga")
    login_as(user)
    return user


def _to_method(client, db, member, decision="grant", **extra):
    reference = start(client, db, member)
    base = f"/privacy/requests/{reference}/erasure"
    client.post(f"{base}/ground", data={"ground": "no_longer_needed"})
    client.post(f"{base}/decision", data={"decision": decision, "reason": "Intern: lid is vertrokken.", **extra})
    return reference, base


def test_every_step_names_the_member_and_finished_steps_lead_back(client, db, officer, seeded_member):
    member = seeded_member()
    reference, base = _to_method(client, db, member)
    page = client.get(f"{base}/method").get_data(as_text=True)
    assert member.full_name in page and f"member number {member.member_number}" in page
    assert 'name="step" value="ground"' in page and 'name="step" value="decision"' in page  # pills are buttons
    assert "Previous" in page

    back = client.post(f"{base}/back", data={"step": "decision"})
    assert back.headers["Location"].endswith(f"{base}/decision")
    assert get_request(db, reference).wizard_step == "decision"
    page = client.get(f"{base}/decision").get_data(as_text=True)
    assert "Everything is erased with the method you choose next" in page  # each decision says what it does
    assert "these internal reasons are not printed in the letter" in page
    # A step not yet reached cannot be jumped to.
    client.post(f"{base}/back", data={"step": "confirm"})
    assert get_request(db, reference).wizard_step == "decision"


def test_the_method_is_chosen_from_two_cards_and_rows_are_folded(client, db, officer, seeded_member):
    member = seeded_member()
    _reference, base = _to_method(client, db, member)
    page = client.get(f"{base}/method").get_data(as_text=True)
    assert page.count('class="card method-card"') == 2
    assert page.index('class="card method-card"') < page.index('class="list preview"')  # the choice comes first
    assert '<details class="row-detail">' in page
    assert page.index("Show ") < page.index("Invoice ")  # the invoices themselves sit inside the fold


def test_the_letter_prints_the_member_text_not_the_internal_reasons(client, db, officer, seeded_member):
    member = seeded_member()
    reference, base = _to_method(client, db, member, decision="partial",
                                 letter_text="we keep the invoices the law requires.")
    client.post(f"{base}/method", data={"method": "anonymise"})
    client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    assert client.post(f"{base}/result").status_code == 302  # makes the letter
    page = client.get(f"/privacy/requests/{reference}").get_data(as_text=True)
    assert "Download the letter (PDF)" in page and "Mark the letter as sent" in page
    text = " ".join(pdf_text(client.get(f"/privacy/requests/{reference}/letter.pdf").data).split())
    assert "we keep the invoices the law requires." in text
    assert "Intern: lid is vertrokken." not in text
    assert "Autoriteit Persoonsgegevens" in text  # a partial grant names the right to complain
    assert "kept on this request until it is marked as sent" in page  # the report names the kept copy

    client.post(f"/privacy/requests/{reference}/letter/sent")
    saved = get_request(db, reference)
    assert saved.letter_sent_at is not None and svc.kept_letter(saved) is None
    again = client.get(f"/privacy/requests/{reference}/letter.pdf")
    assert again.status_code == 302
    assert "marked as sent on" in client.get(f"/privacy/requests/{reference}").get_data(as_text=True)


def test_an_unsent_letter_goes_after_its_keeping_period(client, db, officer, seeded_member, frozen_clock, login_as):
    member = seeded_member()
    reference, base = _to_method(client, db, member)
    client.post(f"{base}/method", data={"method": "delete"})
    client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    client.post(f"{base}/result")  # makes the letter
    made = get_request(db, reference)
    assert svc.letter_kept_until(made, 30) == (made.letter_produced_at + timedelta(days=30)).date()
    frozen_clock(clock.utcnow() + timedelta(days=29))
    assert svc.expire_letters(30) == 0
    frozen_clock(datetime.combine(made.letter_produced_at.date(), made.letter_produced_at.time()) + timedelta(days=31))
    assert svc.expire_letters(30) == 1
    db.session.commit()
    assert svc.kept_letter(get_request(db, reference)) is None
    login_as(officer)  # a month later: a new session
    assert "Unsent letter removed after its keeping period" in client.get(
        f"/privacy/requests/{reference}").get_data(as_text=True)


def _kept_sentence(page: str) -> str:
    return " ".join(re.search(r'<p id="kept-letter">(.*?)</p>', page, re.S).group(1).split())


def test_the_report_says_until_when_the_letter_is_kept_and_then_that_it_went(client, db, officer, seeded_member):
    member = seeded_member()
    reference, base = _to_method(client, db, member)
    client.post(f"{base}/method", data={"method": "anonymise"})
    client.post(f"{base}/confirm", data={"member_number": str(member.member_number)})
    client.post(f"{base}/result")  # makes the letter
    until = svc.letter_kept_until(get_request(db, reference), client.application.config["LETTER_KEEP_DAYS"])
    assert until is not None
    sentence = _kept_sentence(client.get(f"/privacy/requests/{reference}").get_data(as_text=True))
    assert f"removed on {until.day} {until.strftime('%B')} {until.year} at the latest" in sentence
    client.post(f"/privacy/requests/{reference}/letter/sent")
    sentence = _kept_sentence(client.get(f"/privacy/requests/{reference}").get_data(as_text=True))
    today = clock.today()
    assert sentence == (f"The letter to the requester was marked as sent on {today.day} {today.strftime('%B')} "
                        f"{today.year}; the kept copy has been removed.")
