"""Personal data never reaches a log record or the audit log, through a whole member's life.

Every log record the application emits (DEBUG and up, SQLAlchemy's own statement logging left
off as it is configured) and every audit row is searched for the distinctive values typed in
along the way: registering, editing, viewing, notes, exports, a refused form, an unknown page,
the public intake form, a desk request and the erasure wizard through to its letter.
"""

import logging
from datetime import datetime

import pytest
from sqlalchemy import select

from app.auth.decorators import public
from app.auth.permissions import CODES
from app.models import AuditEvent, DataRequest, Member
from app.services import clock

MEMBER = {
    "first_name": "Zephyrine",
    "infix": "van de",
    "last_name": "Quaxelbrink",
    "date_of_birth": "1977-07-07",
    "gender": "female",
    "email": "zephyrine.quaxelbrink@mailbox.example",
    "phone": "06 11223344",
    "street": "Vlinderpad",
    "house_number": "99z",
    "postcode": "8765 QW",
    "city": "Zwammerdam",
    "country": "NL",
    "iban": "NL20INGB0001234567",
    "joined_on": "2025-02-03",
}
EDITED = {"city": "Kraggenburg", "email": "zq.nieuw@postvak.example", "street": "Libellelaan"}
NOTE = "Belde over de Quaxelbrink-regeling"
HEALTH = "Zephyrine heeft een knieblessure"
REQUESTER = {"name": "Tjitske Wolderink", "email": "tjitske.wolderink@inbox.example"}

# What must never appear in a log record or an audit row (case-insensitive).
DISTINCTIVE = [
    "Zephyrine", "Quaxelbrink", "zephyrine.quaxelbrink@mailbox.example", "11223344", "Vlinderpad", "99z",
    "8765 QW", "8765QW", "Zwammerdam", "NL20INGB0001234567", "1977-07-07", "07-07-1977", "Kraggenburg",
    "zq.nieuw@postvak.example", "Libellelaan", "Quaxelbrink-regeling", "knieblessure", "Tjitske", "Wolderink",
    "tjitske.wolderink@inbox.example", "Passport number XK-4411",
]


def _leaks(text: str) -> list[str]:
    lowered = (text or "").lower()
    return [value for value in DISTINCTIVE if value.lower() in lowered]


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), record.name, repr(record.args)]
    if record.exc_info:
        parts.append(logging.Formatter().formatException(record.exc_info))
    return " ".join(parts)


@pytest.fixture
def everything_logged(caplog, app):
    """Capture every record at DEBUG, with SQLAlchemy's statement logging off as configured."""
    assert not app.config.get("SQLALCHEMY_ECHO")  # the app does not turn on statement logging
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    return caplog


def _audit_rows_text(db) -> list[tuple[int, str]]:
    rows = []
    for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)):
        rows.append((event.id, " ".join(str(v) for v in (
            event.actor_username, event.action, event.target_type, event.target_id, event.member_number,
            event.source_ip, event.details))))
    return rows


def test_a_members_whole_life_leaves_no_personal_data_in_logs_or_the_audit_log(
        app, client, db, make_user, login, everything_logged):
    clock.freeze(datetime(2026, 6, 15, 10, 0))
    staff = make_user(permissions=sorted(CODES), username="allrights")
    login(staff)

    response = client.post("/members/new", data=MEMBER)
    assert response.status_code == 302, response.get_data(as_text=True)
    member = db.session.scalar(select(Member))
    number = member.member_number
    assert client.post(f"/members/{number}/edit", data={**MEMBER, **EDITED}).status_code == 302
    refused = client.post(f"/members/{number}/edit", data={**MEMBER, "email": "not an email Zephyrine"})
    assert refused.status_code == 422
    for tab in ("profile", "subscriptions", "visits", "invoices", "consents", "notes", "health"):
        assert client.get(f"/members/{number}?tab={tab}").status_code == 200
    assert client.post(f"/members/{number}/notes", data={"body": NOTE}).status_code == 302
    assert client.post(f"/members/{number}/health-notes", data={"health-body": HEALTH}).status_code == 302
    assert client.post(f"/members/{number}/consents", data={"purpose": "newsletter", "via": "desk"}).status_code == 302
    assert client.get("/members?q=Quaxelbrink").status_code == 200
    assert client.get("/privacy/requests/zephyrine.quaxelbrink@mailbox.example").status_code == 404
    for fmt in ("pdf", "zip"):
        export = client.get(f"/privacy/members/{number}/export.{fmt}")
        assert export.status_code == 200 and len(export.data) > 500

    guest = app.test_client()
    intake = guest.post("/request", data={**REQUESTER, "date_of_birth": "1977-07-07", "kind": "access",
                                          "message": "Graag mijn gegevens, Tjitske Wolderink"})
    assert intake.status_code == 302, intake.get_data(as_text=True)

    response = client.post("/privacy/requests/new", data={
        "kind": "erasure", "channel": "desk", "requester_name": "Zephyrine Quaxelbrink",
        "requester_email": EDITED["email"], "requester_date_of_birth": "1977-07-07",
        "requester_member_number": str(number), "message": "Verwijder alles over Zephyrine"})
    assert response.status_code == 302
    reference = response.headers["Location"].rsplit("/", 1)[-1]
    base = f"/privacy/requests/{reference}"
    assert client.get(f"{base}/identity?q=Quaxelbrink").status_code == 200
    assert client.post(f"{base}/identity", data={"member_number": str(number),
                                                 "method": "Passport number XK-4411"}).status_code == 302
    assert client.post(f"{base}/erasure/start").status_code == 302
    assert client.post(f"{base}/erasure/ground", data={"ground": "no_longer_needed"}).status_code == 302
    assert client.post(f"{base}/erasure/decision", data={"decision": "grant"}).status_code == 302
    assert client.post(f"{base}/erasure/method", data={"method": "anonymise"}).status_code == 302
    assert client.post(f"{base}/erasure/confirm", data={"member_number": str(number)}).status_code == 302
    assert client.post(f"{base}/erasure/result").status_code == 302
    letter = client.post(f"{base}/erasure/letter")
    assert letter.mimetype == "application/pdf"

    # the journey really happened
    db.session.expire_all()
    assert db.session.scalar(select(Member)).status == "anonymised"
    assert db.session.scalar(select(DataRequest).where(DataRequest.reference == reference)).closed_at is not None
    actions = {event.action for event in db.session.scalars(select(AuditEvent))}
    assert {"member.create", "member.update", "member.view", "privacy.erasure.executed"} <= actions

    leaked_logs = [(r.name, _leaks(_record_text(r))) for r in everything_logged.records if _leaks(_record_text(r))]
    assert leaked_logs == []
    leaked_audit = [(event_id, _leaks(row)) for event_id, row in _audit_rows_text(db) if _leaks(row)]
    assert leaked_audit == []


def test_an_unexpected_error_is_logged_without_its_message(make_app, everything_logged):
    """The capture is real: the error handler's record arrives, but not the exception's text."""
    other = make_app()

    @other.get("/__test_boom")
    @public
    def boom():
        raise RuntimeError("Zephyrine Quaxelbrink, zephyrine.quaxelbrink@mailbox.example")

    response = other.test_client().get("/__test_boom")
    assert response.status_code == 500
    assert _leaks(response.get_data(as_text=True)) == []
    records = [r for r in everything_logged.records if "RuntimeError" in r.getMessage()]
    assert records, "the error handler logs the type of an unexpected error"
    assert all(_leaks(_record_text(r)) == [] for r in records)
