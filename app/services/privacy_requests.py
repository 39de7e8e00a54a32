"""Data requests: registering, deadlines, identity, the erasure wizard's state, closing.

Plain functions that take model objects and an explicit actor; they flush, the caller
commits. Errors are RequestError with a message that is safe to show to staff.
"""

import json
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Consent, DataRequest, Member, RequestEvent
from app.models.privacy import (
    DECISIONS,
    ERASURE_GROUNDS,
    ERASURE_METHODS,
    REQUEST_CHANNELS,
    REQUEST_KINDS,
    REQUESTER_FIELDS,
    WIZARD_KINDS,  # noqa: F401  (the model holds the wizard's vocabulary; importable from here as before)
    WIZARD_STEPS,  # noqa: F401
)
from app.services import audit, clock, erasure, installation, rate_limits, storage
from app.services import members as member_service
from app.services.errors import DomainError

MAX_EXTENSION_MONTHS = 2
DUE_SOON_DAYS = 7
OPEN_STATUSES = ("received", "in_progress")


class RequestError(DomainError):
    """A request action that cannot be done now; the message is meant for staff."""


class AlreadyExecutedError(RequestError):
    """Someone else executed (or is executing) this erasure."""


# --- references, registering, the timeline ---------------------------------------------

def next_reference(year: int | None = None) -> str:
    """AVG-YYYY-NNNN from a counter per year (never handed out twice)."""
    year = year or clock.today().year
    number = member_service.next_counter_value(f"request_reference_{year}", start=1)
    return f"AVG-{year}-{number:04d}"


def spend_reference() -> str:
    """Take the next reference without a request (the honeypot's answer): a gap, as a real withdrawal leaves."""
    return next_reference()


def intake_allowed(address_key: str, limit: int) -> bool:
    """Count one accepted request of the public form under this key (a keyed hash, never the value).

    The form passes a hash of the address and the e-mail together and calls this only for a valid
    submission, so a mistyped form costs nothing and one shared network is not locked out (the
    per-address flood cap acts earlier, before the form is parsed). False when `limit` requests
    were accepted in the last hour: nothing is counted or stored then.
    """
    return rate_limits.take(f"intake:{address_key}", limit)


def intake(kind: str, *, honeypot: bool, source_ip: str | None = None, locale: str | None = None,
           **requester) -> tuple[str, bool]:
    """A request from the public form: (the reference to show, whether an acknowledgement mail was queued).

    The requester gets an acknowledgement in their language when mail is set up. A bot that
    fills in the hidden field is answered like a person but nothing is stored or sent: the
    reference it is shown is the next real one, spent, so it cannot be told from a confirmation.
    """
    from app.services import mail  # mail reads the request models; imported here to keep imports one-way

    if honeypot:
        return spend_reference(), mail.configured()
    data_request = register(kind, channel="intake", source_ip=source_ip, **requester)
    if installation.known_locale(locale):
        data_request.locale = locale  # the letter's language, unless the officer chooses another
    return data_request.reference, mail.acknowledge_request(data_request, locale=locale)


def add_event(data_request: DataRequest, action: str, actor=None, note: str | None = None) -> RequestEvent:
    event = RequestEvent(request=data_request, action=action, actor_id=getattr(actor, "id", None),
                         note=note, occurred_at=clock.utcnow())
    db.session.add(event)
    return event


def _audit(action: str, data_request: DataRequest, actor, **details) -> None:
    audit.record(action, actor, target_type="data_request", target_id=data_request.id,
                 member_number=data_request.member_number,
                 details={"reference": data_request.reference, **details})


def register(kind: str, *, channel: str, actor=None, requester_name: str | None = None,
             requester_email: str | None = None, requester_date_of_birth: date | None = None,
             requester_member_number: str | None = None, message: str | None = None,
             received_on: date | None = None, source_ip: str | None = None) -> DataRequest:
    """Register a request: a reference and a due date one month after receipt."""
    if kind not in REQUEST_KINDS:
        raise RequestError(_l("Unknown kind of request."))
    if channel not in REQUEST_CHANNELS:
        raise RequestError(_l("Unknown channel: choose how the request was received."), field="channel")
    now = clock.utcnow()
    if received_on and received_on > clock.today():
        raise RequestError(_l("The date received cannot be in the future."))
    received_at = datetime.combine(received_on, now.time()) if received_on else now
    received_day = received_on or clock.today()
    data_request = DataRequest(
        reference=next_reference(received_day.year), kind=kind, channel=channel, status="received",
        requester_name=(requester_name or "").strip() or None,
        requester_email=(requester_email or "").strip() or None,
        requester_date_of_birth=requester_date_of_birth,
        requester_member_number=(requester_member_number or "").strip() or None,
        message=(message or "").strip() or None,
        received_at=received_at, due_on=clock.add_months(received_day, 1),
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(data_request)
    db.session.flush()
    add_event(data_request, "received" if channel == "intake" else "registered", actor, note=channel)
    audit.record("privacy.request.registered", actor, target_type="data_request", target_id=data_request.id,
                 details={"reference": data_request.reference, "kind": kind, "channel": channel},
                 source_ip=source_ip)
    db.session.flush()
    return data_request


def requests_of_member(member, viewer) -> list[DataRequest] | None:
    """A member's data requests, newest first, for a viewer allowed to know them; None for anyone else.

    That a member filed a request (and which kind) is need-to-know: only privacy.view holders see it.
    """
    if viewer is None or not viewer.has_permission("privacy.view"):
        return None
    return list(db.session.scalars(select(DataRequest).where(DataRequest.member_id == member.id)
                                   .order_by(DataRequest.received_at.desc())))


def get_by_reference(reference: str) -> DataRequest | None:
    return db.session.scalar(select(DataRequest).where(DataRequest.reference == reference))


# --- deadlines ------------------------------------------------------------------------------

def _effective_due():
    return func.coalesce(DataRequest.extended_due_on, DataRequest.due_on)


def is_overdue(data_request: DataRequest, today: date | None = None) -> bool:
    return data_request.is_open and data_request.effective_due_on < (today or clock.today())


def is_due_soon(data_request: DataRequest, today: date | None = None) -> bool:
    today = today or clock.today()
    return data_request.is_open and today <= data_request.effective_due_on <= today + timedelta(days=DUE_SOON_DAYS)


def latest_extension(data_request: DataRequest) -> date:
    """The furthest the deadline may be moved: two months after the original due date."""
    return clock.add_months(data_request.due_on, MAX_EXTENSION_MONTHS)


def extend(data_request: DataRequest, new_due_on: date, reason: str, actor) -> None:
    """Extend the deadline once, by at most two months, with a recorded reason (Art. 12(3))."""
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    if data_request.extended_due_on is not None:
        raise RequestError(_l("The deadline has already been extended once; it cannot be extended again."))
    if not (reason or "").strip():
        raise RequestError(_l("Give the reason for the extension; the requester must be told."))
    if new_due_on <= data_request.due_on:
        raise RequestError(_l("The new deadline must be after the current one."))
    if new_due_on > latest_extension(data_request):
        raise RequestError(_l("The deadline can be extended by at most two months (until %(day)s).",
                              day=latest_extension(data_request).isoformat()))
    data_request.extended_due_on = new_due_on
    data_request.extension_reason = reason.strip()
    add_event(data_request, "extended", actor, note=f"{new_due_on.isoformat()}: {reason.strip()}")
    _audit("privacy.request.extended", data_request, actor, until=new_due_on.isoformat())
    db.session.flush()


FILTERS = ("open", "overdue", "due_soon", "closed", "all")


# The register's orders: key -> (column, descending); a leading "-" reverses it.
REGISTER_SORTS = {
    "due": lambda: _effective_due(),
    "received": lambda: DataRequest.received_at,
    "reference": lambda: DataRequest.reference,
    "status": lambda: DataRequest.status,
}
SEARCH_MAX_LENGTH = 100


def register_sort(value: str | None) -> str:
    """A known sort key ("due", "-received", ...), else the default: the nearest deadline first."""
    value = value or ""
    return value if value.lstrip("-") in REGISTER_SORTS else "due"


def register_search(query, term: str | None, actor=None):
    """Narrow the register to a reference or a name: the requester's, or the linked member's.

    The term is personal data: callers take it from a POSTed form, never from a query string. Words
    are matched accent- and case-free against the member's name (search_text, name part only, as
    the member list does without members.contact) and case-free against the requester's name.
    """
    term = "".join(ch for ch in (term or "")[:SEARCH_MAX_LENGTH] if ch.isprintable()).strip()
    if not term:
        return query
    conditions = [func.upper(DataRequest.reference).contains(term.upper(), autoescape=True)]
    words = member_service.fold(term).replace(member_service.SEPARATOR, " ").split()
    if words:
        conditions.append(and_(*(func.lower(DataRequest.requester_name).contains(word, autoescape=True)
                                 for word in term.lower().split())))
        if actor is None or actor.has_permission("members.view"):
            named = select(Member.id).where(*(_in_name_part(word) for word in words))
            conditions.append(DataRequest.member_id.in_(named))
    return query.where(or_(*conditions))


def _in_name_part(word: str):
    """The folded word occurs in the name part of search_text (before the separator: no contact data)."""
    return Member.search_text.like(f"%{member_service.like_escape(word)}% {member_service.SEPARATOR}%", escape="\\")


def days_left(data_request: DataRequest, today: date | None = None) -> int | None:
    """Days until the (extended) deadline of an open request; negative when overdue; None once closed."""
    if not data_request.is_open:
        return None
    return (data_request.effective_due_on - (today or clock.today())).days


def _register_filter(filter_: str) -> list:
    """The conditions of a register filter: open, overdue, due within DUE_SOON_DAYS, closed (all: none)."""
    today, due = clock.today(), _effective_due()
    return {"open": [DataRequest.closed_at.is_(None)],
            "overdue": [DataRequest.closed_at.is_(None), due < today],
            "due_soon": [DataRequest.closed_at.is_(None), due >= today, due <= today + timedelta(days=DUE_SOON_DAYS)],
            "closed": [DataRequest.closed_at.is_not(None)]}.get(filter_, [])


def register_query(filter_: str = "open", kind: str | None = None, status: str | None = None, *,
                   sort: str = "due"):
    """The register's query: a filter (open, overdue, due within 7 days, closed, all), kind, status, order."""
    query = select(DataRequest).where(*_register_filter(filter_))
    if kind in REQUEST_KINDS:
        query = query.where(DataRequest.kind == kind)
    if status:
        query = query.where(DataRequest.status == status)
    sort = register_sort(sort)
    column = REGISTER_SORTS[sort.lstrip("-")]()
    if sort.startswith("-"):
        return query.order_by(column.desc(), DataRequest.id.desc())
    return query.order_by(column, DataRequest.id)


def deadline_summary() -> dict:
    """Counts and the first few overdue and due-soon requests, for the dashboard."""
    overdue = db.session.scalars(register_query("overdue").limit(10)).all()
    due_soon = db.session.scalars(register_query("due_soon").limit(10)).all()
    # The three counts in one statement: the register's filters, as conditions of each count.
    counts = db.session.execute(select(*(func.count().filter(and_(*_register_filter(name)))
                                         for name in ("overdue", "due_soon", "open"))).select_from(DataRequest)).one()
    return {"overdue": overdue, "due_soon": due_soon, "overdue_count": counts[0],
            "due_soon_count": counts[1], "open_count": counts[2]}


# --- identity ---------------------------------------------------------------------------

def find_members(query: str, limit: int = 20, *, actor=None) -> list[Member]:
    """Candidates for the identity step: by member number, name, email or date of birth.

    The member list's field-level rule holds here too: without members.contact (actor given) a
    word must occur in the name part of search_text, so an email finds nobody; the page then
    shows no email column either.
    """
    # No NUL or control characters in SQL; a search box needs no more than 200 characters.
    query = "".join(ch for ch in (query or "")[:200] if ch.isprintable()).strip()
    if not query:
        return []
    conditions = []
    number = member_service.parse_member_number(query)
    if number is not None:
        conditions.append(Member.member_number == number)
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            conditions.append(Member.date_of_birth == datetime.strptime(query, fmt).date())
            break
        except ValueError:
            continue
    words = member_service.fold(query).replace(member_service.SEPARATOR, " ").split()
    may_search_contact = actor is None or actor.has_permission("members.contact")
    if words:
        # As the member list does: without members.contact a word must stand before the separator.
        if may_search_contact:
            conditions.append(and_(*(Member.search_text.like(f"%{member_service.like_escape(word)}%", escape="\\")
                                     for word in words)))
        else:
            conditions.append(and_(*(_in_name_part(word) for word in words)))
    return db.session.scalars(
        select(Member).where(or_(*conditions), ~Member.is_anonymised)
        .order_by(Member.last_name, Member.first_name).limit(limit)
    ).all()


def identity_candidates(data_request: DataRequest, actor, limit: int = 20) -> list[Member]:
    """The first hits of the identity step, from everything the requester told us: the member number,
    the email (for a viewer who may search contact data), the name and the date of birth, in that order."""
    may_search_contact = actor is None or actor.has_permission("members.contact")
    born = data_request.requester_date_of_birth
    terms = [data_request.requester_member_number,
             data_request.requester_email if may_search_contact else None,
             data_request.requester_name, born.isoformat() if born else None]
    found: dict[int, Member] = {}
    for term in terms:
        for member in find_members(term or "", limit, actor=actor):
            found.setdefault(member.id, member)
    return list(found.values())[:limit]


def verify_identity(data_request: DataRequest, member: Member, method: str, actor) -> None:
    """Link the request to the member and record how the identity was verified."""
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    if not (method or "").strip():
        raise RequestError(_l("Describe how the identity was verified."))
    data_request.member_id = member.id
    data_request.member_number = member.member_number
    data_request.identity_verified_at = clock.utcnow()
    data_request.identity_verified_by_id = getattr(actor, "id", None)
    data_request.identity_method = method.strip()
    previous = data_request.status
    if data_request.status == "received":
        data_request.status = "in_progress"
    add_event(data_request, "identity_verified", actor, note=method.strip())
    _audit("privacy.request.identity_verified", data_request, actor)
    if previous != data_request.status:
        _audit("privacy.request.status", data_request, actor, status=data_request.status)
    db.session.flush()


def _require_member(data_request: DataRequest) -> Member:
    if data_request.identity_verified_at is None or data_request.member is None:
        raise RequestError(_l("Verify the requester's identity and link the request to a member first."))
    return data_request.member


# --- closing --------------------------------------------------------------------------------

def minimise(data_request: DataRequest) -> None:
    """Remove the requester's contact details; the register keeps reference, kind and dates."""
    for name in REQUESTER_FIELDS:
        setattr(data_request, name, None)
    data_request.minimised_at = clock.utcnow()
    storage.touched({"data_requests"})  # the old row version must not stay in the WAL or dead tuples


def close(data_request: DataRequest, status: str, outcome: str, actor, *, minimise_now: bool = True) -> None:
    """Close the request with an outcome (completed, refused or withdrawn)."""
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    if status == "completed" and data_request.wizard_unfinished:
        raise RequestError(_l("Finish the erasure wizard first."))
    if status not in ("completed", "refused", "withdrawn"):
        raise RequestError(_l("Unknown status."))
    if status != "completed" and not (outcome or "").strip():
        raise RequestError(_l("Give a reason."))
    if status == "completed":  # Art. 19: every recipient told, or why not recorded (services/recipients.py)
        from app.services import recipients

        waiting = recipients.unresolved(data_request)
        if waiting:
            raise RequestError(_l(
                "Not every recipient has been notified yet (%(names)s): record each notification, or why it is "
                "impossible or disproportionate, first.", names=", ".join(sorted({n.recipient_name for n in waiting}))))
    data_request.status = status
    data_request.outcome = (outcome or "").strip() or data_request.outcome
    data_request.closed_at = clock.utcnow()
    if status == "refused" and not data_request.decision:
        data_request.decision = "refuse"
        data_request.decision_reason = data_request.outcome
    if minimise_now:
        minimise(data_request)
    add_event(data_request, status, actor, note=(outcome or "").strip() or None)
    _audit("privacy.request.status", data_request, actor, status=status)
    db.session.flush()


# --- rectification, restriction, objection ----------------------------------------------

def record_rectification(data_request: DataRequest, note: str, actor) -> None:
    """Record on the request what was corrected (the edit itself happens on the member page)."""
    _require_member(data_request)
    if not (note or "").strip():
        raise RequestError(_l("Describe what was corrected."))
    from app.services import recipients  # Art. 19: each recipient of the member is told

    recipients.open_notices(data_request, data_request.member, "rectified")
    add_event(data_request, "rectified", actor, note=note.strip())
    _audit("privacy.request.rectified", data_request, actor)
    db.session.flush()


def set_restriction(data_request: DataRequest, restricted: bool, actor) -> None:
    """Set or lift the restriction of processing (Art. 18) on the linked member."""
    member = _require_member(data_request)
    if member.processing_restricted == restricted:
        return
    member.processing_restricted = restricted
    member.restricted_since = clock.utcnow() if restricted else None
    if restricted:
        from app.services import member_changes  # API clients that received the member learn of it (Art. 19)

        member_changes.restricted(member)
        from app.services import recipients  # Art. 19: each recipient of the member is told

        recipients.open_notices(data_request, member, "restricted")
    add_event(data_request, "restricted" if restricted else "restriction_lifted", actor)
    _audit("privacy.restriction.set" if restricted else "privacy.restriction.lifted", data_request, actor)
    db.session.flush()


def partner_processing_clause():
    """A WHERE clause on Member: true for members whose data may go to partners (sync, API).

    Excludes members with restricted processing (Art. 18) and members who objected (an
    objection request that is open or was granted), and anonymised members.
    """
    objected = exists().where(
        DataRequest.member_id == Member.id, DataRequest.kind == "objection",
        DataRequest.status.in_(("received", "in_progress", "completed")),
    )
    return and_(Member.processing_restricted.is_(False), ~Member.is_anonymised, ~objected)


def may_share_with_partners(member: Member) -> bool:
    """The same rule as partner_processing_clause, for one member."""
    return bool(db.session.scalar(select(Member.id).where(Member.id == member.id, partner_processing_clause())))


def active_consents(member: Member) -> list[Consent]:
    return [consent for consent in member.consents if consent.is_active]


def withdraw_consents(data_request: DataRequest, consent_ids, actor) -> int:
    """Objection: withdraw the consents concerned (ids of the linked member's active consents)."""
    member = _require_member(data_request)
    wanted = {int(i) for i in consent_ids}
    if not wanted:
        raise RequestError(_l("Choose the consents the objection concerns."))
    now = clock.utcnow()
    withdrawn = []
    for consent in active_consents(member):
        if consent.id in wanted:
            consent.withdrawn_at = now
            consent.withdrawn_via = data_request.reference
            withdrawn.append(consent.purpose)
    if not withdrawn:
        raise RequestError(_l("None of these consents is active."))
    add_event(data_request, "consents_withdrawn", actor, note=", ".join(sorted(withdrawn)))
    _audit("privacy.consents.withdrawn", data_request, actor, purposes=sorted(withdrawn))
    db.session.flush()
    return len(withdrawn)


# --- the erasure wizard ---------------------------------------------------------------------

def wizard_start(data_request: DataRequest, actor) -> str:
    """Open the wizard (erasure, or an objection continued into erasure); returns the current step."""
    if not data_request.uses_wizard:
        raise RequestError(_l("Only erasure and objection requests go through the erasure wizard."))
    if data_request.wizard_step:
        return data_request.wizard_step
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    _require_member(data_request)
    data_request.wizard_step = "ground"
    add_event(data_request, "wizard_started", actor)
    db.session.flush()
    return data_request.wizard_step


def _at_step(data_request: DataRequest, step: str) -> None:
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    if data_request.wizard_step != step:
        raise RequestError(_l("This step is not the current one; the request has moved on."))


def record_ground(data_request: DataRequest, ground: str, reason: str, actor) -> None:
    """Step 1: which ground applies; 'none' refuses the request with a reason."""
    _at_step(data_request, "ground")
    member = _require_member(data_request)
    if ground == "none":
        if not (reason or "").strip():
            raise RequestError(_l("Give the reason for refusing; the requester must be told."))
        data_request.ground = None
        data_request.decision = "refuse"
        data_request.decision_reason = reason.strip()
        data_request.wizard_step = "letter"
        data_request.outcome = json.dumps({"result": "refused", "reason": "no_ground"})
        add_event(data_request, "ground_none", actor, note=reason.strip())
        _audit("privacy.erasure.refused", data_request, actor, reason="no_ground")
        db.session.flush()
        return
    if ground not in ERASURE_GROUNDS:
        raise RequestError(_l("Choose a ground."))
    data_request.ground = ground
    found = erasure.find_exceptions(member)
    data_request.exceptions_found = json.dumps(
        [{**item, "until": item["until"].isoformat() if item["until"] else None} for item in found])
    data_request.wizard_step = "decision"
    add_event(data_request, "ground", actor, note=ground)
    _audit("privacy.erasure.ground", data_request, actor, ground=ground)
    db.session.flush()


def exceptions_of(data_request: DataRequest) -> list[dict]:
    return json.loads(data_request.exceptions_found or "[]")


# What the officer can do about each exception before deciding, and where on the member page.
EXCEPTION_ADVICE = {
    "active_subscription": (_l("End the subscription first (member page, Subscriptions), then continue here: "
                               "with nothing running, the request can be granted in full."), "subscriptions"),
    "open_invoices": (_l("Settle or cancel the open invoice first (member page, Invoices), or partly grant: "
                         "the invoice then stays until it is settled."), "invoices"),
    "fiscal_retention": (_l("Nothing to do: the law makes the club keep these invoices; they stay, detached from "
                            "the member, whatever you decide."), None),
    "legal_hold": (_l("Lift the legal hold first if the dispute is over (member page, Privacy); while it is in "
                      "place, partly grant or refuse."), "privacy"),
}

# What each decision does, in one sentence, next to its choice.
DECISION_EFFECTS = {
    "grant": _l("Everything is erased with the method you choose next; only what the law makes the club keep "
                "(invoices) stays."),
    "partial": _l("What may go is erased now; what an exception protects stays until it ends. The letter names "
                  "what is kept and why, and the member's right to complain."),
    "refuse": _l("Nothing is erased. The letter gives the reasons and the member's right to complain to the "
                 "Autoriteit Persoonsgegevens or to go to court."),
}


def exception_advice(data_request: DataRequest) -> list[dict]:
    """The exceptions found at the ground step, each with the next action that would resolve it."""
    advice = []
    for item in exceptions_of(data_request):
        text, tab = EXCEPTION_ADVICE.get(item["code"], ("", None))
        until = date.fromisoformat(item["until"]) if item.get("until") else None
        advice.append({**item, "until": until, "advice": text, "tab": tab})
    return advice


def record_decision(data_request: DataRequest, decision: str, reason: str, actor, letter_text: str | None = None) -> None:
    """Step 2: grant, partial or refuse, with internal reasons (required unless a plain grant) and, apart
    from them, what the letter tells the member (the reasons themselves never go into the letter)."""
    _at_step(data_request, "decision")
    if decision not in DECISIONS:
        raise RequestError(_l("Choose a decision."))
    reason = (reason or "").strip()
    if (decision != "grant" or exceptions_of(data_request)) and not reason:
        raise RequestError(_l("Give the reasons for this decision."))
    data_request.decision = decision
    data_request.decision_reason = reason or None
    data_request.letter_text = (letter_text or "").strip() or None
    if decision == "refuse":
        data_request.wizard_step = "letter"
        data_request.outcome = json.dumps({"result": "refused", "reason": "decision"})
    else:
        data_request.wizard_step = "method"
    add_event(data_request, f"decision_{decision}", actor, note=reason or None)
    _audit("privacy.erasure.decision", data_request, actor, decision=decision)
    db.session.flush()


def record_method(data_request: DataRequest, method: str, actor) -> None:
    """Step 3: delete or anonymise (the page shows the preview of the choice)."""
    _at_step(data_request, "method")
    if method not in ERASURE_METHODS:
        raise RequestError(_l("Choose delete or anonymise."))
    _require_member(data_request)
    data_request.erasure_method = method
    data_request.wizard_step = "confirm"
    add_event(data_request, "method", actor, note=method)
    db.session.flush()


# The steps before the erasure, in order: until it runs, the officer may go back to any finished one
# and decide it again (the later steps are then taken again too).
WIZARD_DECIDING_STEPS = ("ground", "decision", "method", "confirm")


def steps_back(data_request: DataRequest) -> tuple[str, ...]:
    """The finished steps the wizard may go back to from where it is (none once the erasure ran)."""
    current = data_request.wizard_step
    if not data_request.is_open or current not in WIZARD_DECIDING_STEPS:
        return ()
    return WIZARD_DECIDING_STEPS[:WIZARD_DECIDING_STEPS.index(current)]


def back_to(data_request: DataRequest, step: str, actor) -> None:
    """Go back to a finished step before the erasure, to decide it again."""
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    if step not in steps_back(data_request):
        raise RequestError(_l("This step is not the current one; the request has moved on."))
    data_request.wizard_step = step
    add_event(data_request, "method_changed" if step == "method" else "wizard_back", actor, note=step)
    db.session.flush()


def back_to_method(data_request: DataRequest, actor) -> None:
    """From the confirmation, go back to choose the method again."""
    _at_step(data_request, "confirm")
    back_to(data_request, "method", actor)


def _claim(data_request: DataRequest) -> None:
    """Take the request for execution: exactly one of two simultaneous executions gets it."""
    try:
        result = db.session.execute(
            update(DataRequest)
            .where(DataRequest.id == data_request.id, DataRequest.wizard_step == "confirm")
            .values(wizard_step="executing"),
            execution_options={"synchronize_session": False},
        )
    except OperationalError as exc:  # SQLite: the other writer holds the database
        raise AlreadyExecutedError(_l("Another member of staff is carrying out this erasure right now.")) from exc
    if result.rowcount != 1:
        raise AlreadyExecutedError(_l("This erasure has already been carried out by someone else."))


def execute(data_request: DataRequest, typed_number: str, actor) -> dict:
    """Step 4: run the erasure after the member number was typed; returns the verification report."""
    if data_request.wizard_step != "confirm":
        if data_request.erasure_executed:
            raise AlreadyExecutedError(_l("This erasure has already been carried out by someone else."))
        raise RequestError(_l("This step is not the current one; the request has moved on."))
    if not data_request.is_open:
        raise RequestError(_l("This request is closed."))
    member = _require_member(data_request)
    if (typed_number or "").strip() != str(member.member_number):
        raise RequestError(_l("The member number you typed does not match."))
    _claim(data_request)
    identifiers = erasure.identifiers_of(member)
    method = data_request.erasure_method
    number = member.member_number
    from app.services import recipients  # Art. 19: read the recipients before the transfer log's links go

    accounts = recipients.open_notices(data_request, member, "erased")
    try:
        count = erasure.erase_member(member, method, actor, request_reference=data_request.reference)
    except erasure.LegalHoldError as exc:
        raise RequestError(_l("The member is under an active legal hold: lift it first, or refuse the request.")) \
            from exc
    recipients.link_erasure_rows(data_request, accounts)
    report = erasure.verify(identifiers, request_reference=data_request.reference)
    kept = [row for row in erasure_kept_summary(report)]
    db.session.execute(update(DataRequest).where(DataRequest.id == data_request.id).values(
        wizard_step="result", verification_report=erasure.report_json(report),
        outcome=json.dumps({"result": "erased", "method": method, "count": count, "kept": kept}),
    ), execution_options={"synchronize_session": False})
    db.session.refresh(data_request)
    # Once committed and checkpointed, the raw bytes of the database files are scanned too.
    request_id = data_request.id  # read now: after the commit the object is expired
    storage.after_cleanup(lambda: attach_file_scan(request_id, identifiers, report))
    add_event(data_request, "erased", actor, note=method)
    _audit("privacy.erasure.executed", data_request, actor, method=method, member_number=number,
           failures=report["failures"], kept_by_law=report["kept_by_law"])
    db.session.flush()
    return report


def attach_file_scan(request_id: int, identifiers: dict, report: dict) -> dict:
    """After the erasure's commit and checkpoint: scan the files and add the result to the request's report."""
    files = erasure.verify_files(identifiers, report)
    table = DataRequest.__table__
    engine = db.engine
    with engine.begin() as conn:
        stored = conn.execute(select(table.c.verification_report).where(table.c.id == request_id)).scalar()
        current = json.loads(stored) if stored else dict(report)
        current["files"] = files
        conn.execute(table.update().where(table.c.id == request_id)
                     .values(verification_report=erasure.report_json(current)))
    storage.cleanup({"data_requests"}, engine=engine)
    return files


def erasure_kept_summary(report: dict) -> list[dict]:
    """What the law keeps, from a verification report: per table, how many rows until when."""
    kept: dict[str, dict] = {}
    for hit in report.get("hits", []):
        if hit["status"] != "kept_by_law":
            continue
        row = kept.setdefault(hit["table"], {"table": hit["table"], "rows": set(), "until": hit["until"]})
        row["rows"].add(hit["row_id"])
        row["until"] = max(row["until"], hit["until"])
    return [{"table": t, "rows": len(v["rows"]), "until": v["until"]} for t, v in sorted(kept.items())]


def report_of(data_request: DataRequest) -> dict | None:
    return json.loads(data_request.verification_report) if data_request.verification_report else None


def outcome_of(data_request: DataRequest) -> dict:
    try:
        return json.loads(data_request.outcome or "{}")
    except ValueError:
        return {"text": data_request.outcome}


def to_letter(data_request: DataRequest, actor) -> None:
    """Step 5 done: go on to the confirmation letter."""
    _at_step(data_request, "result")
    data_request.wizard_step = "letter"
    db.session.flush()


def letter_made(data_request: DataRequest, actor, letter_pdf: bytes | None = None, *, by_email: bool = False,
                locale: str | None = None) -> None:
    """The letter is made: close the request and minimise it (requester details removed). The PDF is
    kept on the request until the officer marks it sent, or `expire_letters` removes it.

    With `by_email` (the requester asked for it) the letter also goes by e-mail, as a PDF attachment in
    `locale`: the address is copied to `letter_email` before the minimising below removes it, and it lives
    and goes with the kept PDF (`letter_emailed`, `mark_letter_sent`, `expire_letters`). The outbox row
    holds only the request's id."""
    _at_step(data_request, "letter")
    if by_email:
        _queue_letter_mail(data_request, actor, letter_pdf, locale)
    data_request.letter_produced_at = clock.utcnow()
    data_request.letter_pdf = letter_pdf
    data_request.wizard_step = "closed"
    report = report_of(data_request)
    if report:
        # The requester details the report found on this request go with the minimising below.
        for hit in report["hits"]:
            if hit["status"] == "until_letter":
                hit["status"] = "removed"
        report["until_letter"] = 0
        if letter_pdf:
            report["kept_letter"] = {"made_on": clock.today().isoformat(), "email": by_email,
                                     "until": (clock.today() + timedelta(days=_keep_days())).isoformat()}
        data_request.verification_report = erasure.report_json(report)
    refused = data_request.decision == "refuse"
    add_event(data_request, "letter", actor)
    close(data_request, "refused" if refused else "completed",
          data_request.decision_reason if refused else "", actor)
    _audit("privacy.letter.made", data_request, actor)


def letter_email_refusal(data_request: DataRequest):
    """Why the letter cannot go by e-mail (no address on the request, no mail set up), or None when it can.

    The letter step offers the choice only when this is None; letter_made refuses with the same words."""
    from app.services import mail

    if not data_request.requester_email:
        return _l("This request has no email address to send the letter to.")
    if not mail.configured():
        return _l("E-mail is not set up (MAIL_URL); send the letter another way.")
    return None


def _queue_letter_mail(data_request: DataRequest, actor, letter_pdf: bytes | None, locale: str | None) -> None:
    from app.services import mail

    if not letter_pdf:  # nothing to attach (a caller that made no PDF)
        raise RequestError(_l("This request has no email address to send the letter to."))
    refusal = letter_email_refusal(data_request)
    if refusal:
        raise RequestError(refusal)
    data_request.letter_email = data_request.requester_email
    mail.enqueue("erasure_letter", "request", data_request.id, locale=locale)
    add_event(data_request, "letter_email_queued", actor)


# --- the kept letter ------------------------------------------------------------------------------

DEFAULT_LETTER_KEEP_DAYS = 30


def _keep_days() -> int:
    return installation.letter_keep_days()


def _forget_letter(data_request: DataRequest) -> None:
    """The kept copy and the address it was to be mailed to go together; the next commit cleans up after them."""
    data_request.letter_pdf = None
    data_request.letter_email = None
    storage.touched({"data_requests"})


def letter_kept_until(data_request: DataRequest, keep_days: int = DEFAULT_LETTER_KEEP_DAYS) -> date | None:
    """The day an unsent kept letter is removed by the sweep (None when no copy is kept)."""
    if data_request.letter_produced_at is None or data_request.letter_sent_at is not None:
        return None
    if not has_kept_letter(data_request):
        return None
    return (data_request.letter_produced_at + timedelta(days=keep_days)).date()


def has_kept_letter(data_request: DataRequest) -> bool:
    return db.session.scalar(select(DataRequest.id).where(
        DataRequest.id == data_request.id, DataRequest.letter_pdf.is_not(None))) is not None


def kept_letter(data_request: DataRequest) -> bytes | None:
    """The kept PDF, for downloading again (None once it was marked sent or removed)."""
    if data_request.letter_sent_at is not None:
        return None
    return db.session.scalar(select(DataRequest.letter_pdf).where(DataRequest.id == data_request.id))


def mark_letter_sent(data_request: DataRequest, actor) -> None:
    """The officer sent the letter: the kept copy (which holds the requester's name) goes."""
    if data_request.letter_produced_at is None:
        raise RequestError(_l("No letter has been made for this request."))
    if data_request.letter_sent_at is not None:
        raise RequestError(_l("The letter has already been marked as sent."))
    data_request.letter_sent_at = clock.utcnow()
    _forget_letter(data_request)
    add_event(data_request, "letter_sent", actor)
    _audit("privacy.letter.sent", data_request, actor)
    db.session.flush()


def letter_emailed(data_request: DataRequest) -> None:
    """The mail worker handed the letter to the SMTP server: it counts as sent; copy and address go."""
    data_request.letter_sent_at = clock.utcnow()
    _forget_letter(data_request)
    add_event(data_request, "letter_emailed", None)
    _audit("privacy.letter.sent", data_request, None, channel="email")
    db.session.flush()


def expire_letters(keep_days: int = DEFAULT_LETTER_KEEP_DAYS, actor=None) -> int:
    """Remove kept letters never marked sent, older than `keep_days` (run with the retention sweep)."""
    cutoff = clock.utcnow() - timedelta(days=keep_days)
    stale = db.session.scalars(select(DataRequest).where(
        DataRequest.letter_pdf.is_not(None), DataRequest.letter_sent_at.is_(None),
        DataRequest.letter_produced_at < cutoff)).all()
    for data_request in stale:
        _forget_letter(data_request)  # a letter mail still waiting is dropped when its turn comes
        add_event(data_request, "letter_expired", actor)
        _audit("privacy.letter.expired", data_request, actor)
    db.session.flush()
    return len(stale)


# --- what the requester is told after the public form ------------------------------------------

def intake_next_steps(kind: str | None, received_on: date) -> dict:
    """What happens next, for the page after the public form: the answer's deadline (the same rule as
    `register`) and whether the answer hands over or removes data (then identity is checked first)."""
    return {"due_on": clock.add_months(received_on, 1), "kind": kind if kind in REQUEST_KINDS else None}
