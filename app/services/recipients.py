"""GDPR Art. 19: every recipient of a member's data is told of a correction, restriction or erasure.

The recipients come from the transfer log (`transfers.recipients_of`), so the three kinds are
handled alike but told their own way:
- an equipment connector through its outbox (the corrected data is sent again, syncing stops,
  the account is deleted); the delivery marks the notice when that outbox row is delivered;
- an API client through its changes feed (`member_changes`, written in the same transaction):
  notified at once;
- a recipient without an interface, registered by hand (an accountant, an insurer): a task on
  the request with a generated notification letter; staff record when it was sent.
The privacy officer may instead record why telling a recipient is impossible or would take a
disproportionate effort. A request closes as completed only when every notice is resolved.
"""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.extensions import db
from app.models import ConnectorMember, DataRequest, ManualRecipient, Member, OutboxEvent, RecipientNotice
from app.models.api import CHANGE_KINDS
from app.models.member import ACTIVE
from app.services import audit, clock, transfers
from app.services.errors import DomainError

ACTIONS = CHANGE_KINDS  # what a recipient is told of: the changes feed's kinds
MANUAL_CHANNEL = "by hand (registered on the integrations page)"


class RecipientError(DomainError, ValueError):
    def __str__(self) -> str:
        return str(self.message)


# --- recipients registered by hand ---------------------------------------------------------

def manual_recipients(include_retired: bool = False) -> list[ManualRecipient]:
    query = select(ManualRecipient).order_by(ManualRecipient.name)
    if not include_retired:
        query = query.where(ManualRecipient.retired_at.is_(None))
    return list(db.session.scalars(query))


def register_recipient(name: str, *, role: str, address: str, categories: Iterable[str], actor) -> ManualRecipient:
    """Register a recipient without an interface. Flushes; the caller commits."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise RecipientError(_l("Give the recipient's name (at most 120 characters)."), field="name")
    cleaned = [c.strip().replace(",", " ") for c in categories or () if c and c.strip()]
    if not cleaned:
        raise RecipientError(_l("Name at least one category of data this recipient receives."), field="categories")
    if not (address or "").strip():
        raise RecipientError(_l("Give the address the notification letter goes to."), field="address")
    recipient = ManualRecipient(name=name, role=(role or "").strip()[:200], address=address.strip()[:2000],
                                categories=",".join(dict.fromkeys(c[:80] for c in cleaned)))
    db.session.add(recipient)
    db.session.flush()
    audit.record("integrations.recipient.registered", actor, target_type="manual_recipient", target_id=recipient.id,
                 details={"name": name})
    return recipient


def record_delivery(recipient: ManualRecipient, member_numbers: Iterable[int] | None, *, actor):
    """Log that this recipient received its categories of data for these members (None: every active member).

    Goes into the transfer log, so the members' data exports list the recipient and an erasure tells it.
    """
    if recipient.retired_at is not None:
        raise RecipientError(_l("This recipient is retired."))
    if member_numbers is None:
        ids = list(db.session.scalars(select(Member.id).where(Member.status == ACTIVE)))
    else:
        numbers = sorted(set(member_numbers))
        ids = list(db.session.scalars(select(Member.id).where(Member.member_number.in_(numbers),
                                                              ~Member.is_anonymised)))
        if len(ids) != len(numbers):
            raise RecipientError(_l("Not every member number given belongs to a member."), field="members")
    if not ids:
        raise RecipientError(_l("There are no members to record."), field="members")
    transfer = transfers.record("manual", recipient.key, recipient.name, MANUAL_CHANNEL, recipient.category_list, ids)
    audit.record("integrations.recipient.delivery", actor, target_type="manual_recipient", target_id=recipient.id,
                 details={"members": len(ids)})
    return transfer


def retire_recipient(recipient: ManualRecipient, *, actor) -> None:
    recipient.retired_at = clock.utcnow()
    db.session.flush()
    audit.record("integrations.recipient.retired", actor, target_type="manual_recipient", target_id=recipient.id)


# --- the notices on a request ----------------------------------------------------------------

def _waiting_row(connector: str, member_id: int) -> int | None:
    return db.session.scalar(select(OutboxEvent.id).where(
        OutboxEvent.connector == connector, OutboxEvent.member_id == member_id,
        OutboxEvent.state.in_(("pending", "claimed", "parked"))).order_by(OutboxEvent.id.desc()).limit(1))


def open_notices(data_request: DataRequest, member: Member, action: str) -> dict[str, str]:
    """One notice per recipient of this member for `action`. Flushes.

    For an erasure, call it BEFORE the engine runs (the transfer log's links go with the member)
    and pass the returned {connector: account id} to `link_erasure_rows` afterwards.
    """
    if action not in ACTIONS:
        raise ValueError(action)
    now = clock.utcnow()
    accounts: dict[str, str] = {}
    already = {(n.recipient_kind, n.recipient_key) for n in notices_of(data_request) if n.action == action}
    for received in transfers.recipients_of(member.id):
        if (received.recipient_kind, received.recipient_key) in already:
            continue
        notice = RecipientNotice(request_id=data_request.id, action=action, recipient_kind=received.recipient_kind,
                                 recipient_key=received.recipient_key, recipient_name=received.recipient_name,
                                 fields=",".join(received.fields), created_at=now, state="pending")
        if received.recipient_kind == "api_client":
            notice.state, notice.notified_at = "notified", now
            notice.outcome = "changes_feed"
        elif received.recipient_kind == "connector":
            link = db.session.get(ConnectorMember, (received.recipient_key, member.id))
            if action == "erased":
                if link is not None and link.account_id:
                    accounts[received.recipient_key] = link.account_id
                else:  # the partner already deleted the account (the member left its sync)
                    notice.state, notice.notified_at, notice.outcome = "notified", now, "no_account"
            else:
                notice.outbox_event_id = _waiting_row(received.recipient_key, member.id)
                if notice.outbox_event_id is None:
                    # Nothing waits: the partner already has the current data (or gets none of the fields changed).
                    notice.state, notice.notified_at, notice.outcome = "notified", now, "current"
        db.session.add(notice)
    db.session.flush()
    return accounts


def link_erasure_rows(data_request: DataRequest, accounts: dict[str, str]) -> None:
    """After the engine ran: point each connector notice at the deletion row the outbox wrote. Flushes."""
    for notice in notices_of(data_request):
        if notice.action != "erased" or notice.recipient_kind != "connector" or notice.state != "pending":
            continue
        account_id = accounts.get(notice.recipient_key)
        notice.outbox_event_id = db.session.scalar(select(OutboxEvent.id).where(
            OutboxEvent.connector == notice.recipient_key, OutboxEvent.kind == "erase",
            OutboxEvent.account_id == account_id, OutboxEvent.member_id.is_(None)).order_by(OutboxEvent.id.desc()).limit(1))
    db.session.flush()


def delivered(event_ids: Iterable[int], outcome: str) -> None:
    """The outbox delivered these rows: their notices are notified (called by the delivery, inside its transaction)."""
    ids = list(event_ids)
    if ids:
        db.session.execute(
            update(RecipientNotice).where(RecipientNotice.outbox_event_id.in_(ids), RecipientNotice.state != "impossible")
            .values(state="notified", notified_at=clock.utcnow(), outcome=outcome),
            execution_options={"synchronize_session": False})


def notices_of(data_request: DataRequest) -> list[RecipientNotice]:
    """The request's notices, with the state of a connector's outbox row read fresh (a parked row shows its error)."""
    found = list(db.session.scalars(select(RecipientNotice).where(RecipientNotice.request_id == data_request.id)
                                    .order_by(RecipientNotice.id)))
    for notice in found:
        if notice.state in ("pending", "failed") and notice.outbox_event_id:
            event = db.session.get(OutboxEvent, notice.outbox_event_id)
            if event is not None and event.state == "parked":
                notice.state, notice.outcome = "failed", (event.error_code or "parked")[:300]
            elif event is not None and event.state in ("pending", "claimed") and notice.state == "failed":
                notice.state = "pending"
    return found


def unresolved(data_request: DataRequest) -> list[RecipientNotice]:
    return [n for n in notices_of(data_request) if not n.is_resolved]


def _notice(data_request: DataRequest, notice_id: int) -> RecipientNotice:
    notice = db.session.get(RecipientNotice, notice_id)
    if notice is None or notice.request_id != data_request.id:
        raise RecipientError(_l("There is no such recipient on this request."))
    if not data_request.is_open:
        raise RecipientError(_l("This request is closed."))
    return notice


def mark_sent(data_request: DataRequest, notice_id: int, *, actor) -> RecipientNotice:
    """Staff sent the notification letter to a recipient registered by hand. Flushes."""
    notice = _notice(data_request, notice_id)
    if notice.recipient_kind != "manual":
        raise RecipientError(_l("This recipient is told through its interface, not by letter."))
    notice.state, notice.notified_at, notice.outcome = "notified", clock.utcnow(), "letter_sent"
    notice.recorded_by_id = getattr(actor, "id", None)
    db.session.flush()
    _audit("privacy.recipient.notified", data_request, notice, actor)
    return notice


def record_impossible(data_request: DataRequest, notice_id: int, reason: str, *, actor) -> RecipientNotice:
    """The privacy officer records why telling this recipient is impossible or disproportionate. Flushes."""
    notice = _notice(data_request, notice_id)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise RecipientError(_l("Say why telling this recipient is impossible or would take a disproportionate effort."),
                             field="reason")
    notice.state, notice.reason, notice.notified_at = "impossible", reason[:2000], clock.utcnow()
    notice.recorded_by_id = getattr(actor, "id", None)
    db.session.flush()
    _audit("privacy.recipient.impossible", data_request, notice, actor)
    return notice


def _audit(action, data_request, notice, actor) -> None:
    audit.record(action, actor, target_type="data_request", target_id=data_request.id,
                 details={"reference": data_request.reference, "recipient": notice.recipient_key})


OUTCOME_TEXTS = {
    "changes_feed": _l("an entry in its changes feed"),
    "no_account": _l("the partner had no account any more"),
    "current": _l("nothing waiting: the partner already has the current data"),
    "deleted": _l("deletion delivered"),
    "sent_again": _l("corrected data delivered"),
    "sync_stopped": _l("syncing stopped"),
    "letter_sent": _l("letter sent"),
}


def outcome_text(notice: RecipientNotice):
    if notice.state == "impossible":
        return _l("not notified: %(reason)s", reason=notice.reason or "")
    if notice.state == "failed":
        return _l("the partner refused (%(code)s): see the integrations page", code=notice.outcome or "")
    return OUTCOME_TEXTS.get(notice.outcome or "", notice.outcome or "")


def letter(data_request: DataRequest, notice: RecipientNotice) -> dict:
    """What the notification letter to a recipient registered by hand says (no value of the member's data)."""
    recipient = None
    if notice.recipient_key.startswith("manual:") and notice.recipient_key[7:].isdigit():
        recipient = db.session.get(ManualRecipient, int(notice.recipient_key[7:]))
    member = data_request.member if notice.action != "erased" else None
    return {"notice": notice, "recipient": recipient, "reference": data_request.reference,
            "member_number": data_request.member_number, "member_name": member.full_name if member else None,
            "fields": [f for f in notice.fields.split(",") if f], "action": notice.action, "date": clock.today()}


def recipients_for_member_letter(data_request: DataRequest) -> list[RecipientNotice]:
    """On request the member is told who the recipients are: the list for the letter to the member."""
    return notices_of(data_request)
