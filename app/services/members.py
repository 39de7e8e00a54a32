"""Member rules shared by the pages, the CLI and (later) the API.

Every function takes model objects and an explicit ``actor`` (the User doing it), writes
its audit event, flushes and leaves the commit to the caller.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import (
    Consent,
    Counter,
    HealthNote,
    Invoice,
    Member,
    MemberStatusCount,
    Plan,
    StaffNote,
    Subscription,
    Visit,
)
from app.models.member import ACTIVE, ANONYMISED, CONSENT_PURPOSES, ENDED, MEMBER_STATUSES, VISIT_SOURCES
from app.services import audit, clock, plans, search_index
from app.services.errors import DomainError

SEARCH_FIELDS = ("first_name", "infix", "last_name", "email", "postcode", "city")
NAME_FIELDS = ("first_name", "infix", "last_name")
CONTACT_FIELDS = ("email", "phone", "street", "house_number", "postcode", "city", "country")
FINANCE_FIELDS = ("iban",)
PROFILE_FIELDS = ("first_name", "infix", "last_name", "date_of_birth", "gender", "joined_on")
EDITABLE_FIELDS = PROFILE_FIELDS + CONTACT_FIELDS + FINANCE_FIELDS

# search_text is "<names> <member number> | <email> <postcode> <city> <phone digits>": the part before the
# separator is what anyone with members.view may search; the rest needs members.contact.
SEPARATOR = "|"

CONSENT_LABELS = {
    "newsletter": _l("Newsletter by email"),
    "photos": _l("Photos on the website and social media"),
    "marketing": _l("Offers and marketing"),
    "technogym": _l("Sharing training data with TechnoGym"),
    "egym": _l("Sharing training data with eGym"),
}

SORTS = {
    "name": (Member.last_name, Member.first_name, Member.member_number),
    "number": (Member.member_number,),
}
STATUS_FILTERS = (*MEMBER_STATUSES, "all")  # the member list's filter: a status, or everyone

MAX_MEMBER_NUMBER = 2**31 - 1  # members.member_number is a 32-bit integer

# A second check-in within this time is taken for a double click, not a second visit.
DUPLICATE_CHECKIN_WINDOW = timedelta(minutes=5)


class MemberError(DomainError, ValueError):
    """A rule refused the action on a member; str(error) is a message for staff (translated lazily)."""

    def __str__(self) -> str:
        return str(self.message)


POSTCODE_NL = re.compile(r"^\s*([1-9][0-9]{3})\s*([A-Za-z]{2})\s*$")


def normalise_nl_postcode(value: str | None) -> str | None:
    """'1234ab' -> '1234 AB'; None when it is not a Dutch postcode (SA, SD and SS are never issued)."""
    match = POSTCODE_NL.match(value or "")
    if not match or match.group(2).upper() in {"SA", "SD", "SS"}:
        return None
    return f"{match.group(1)} {match.group(2).upper()}"


def fold(value: str | None) -> str:
    """Lower case without accents, so 'jorg' finds 'Jörg' on every database."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _clean(value: str | None) -> str:
    return fold(value).replace(SEPARATOR, " ").strip()


# What staff type for a phone number: digits with spaces, dashes, dots, slashes, brackets, a leading +.
PHONE_LIKE = re.compile(r"^\s*\+?[\d\s().\-/]+$")
MIN_PHONE_DIGITS = 6  # fewer digits is a member number or a house number, not a phone number


def phone_digits(value: str | None) -> str:
    """A phone number as one run of digits, the Dutch way: '+31 6 18401421', '06-18401421' -> '0618401421'.

    A leading + (or 00) is an international prefix: +31 becomes the national 0 (also '+31 (0)6 ...');
    other countries keep theirs as 00<country code>, so a number typed either way is the same text.
    """
    text = (value or "").strip().replace("(0)", "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        digits = "00" + digits
    if digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits


def phone_query(query: str) -> str | None:
    """The digits to search for when a search looks like a phone number ('06 18401421'), else None."""
    if not PHONE_LIKE.match(query or ""):
        return None
    digits = phone_digits(query)
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


def search_text_for(member: Member) -> str:
    """The folded text the member search looks in (postcode also without its space, the phone as digits)."""
    names = [_clean(getattr(member, field)) for field in NAME_FIELDS]
    names.append(str(member.member_number or ""))
    contact = [_clean(member.email), _clean(member.postcode), _clean(member.city)]
    if member.postcode:
        contact.append(_clean(member.postcode.replace(" ", "")))
    contact.append(phone_digits(getattr(member, "phone", None)))
    return " ".join(p for p in names if p) + f" {SEPARATOR} " + " ".join(p for p in contact if p)


def refresh_search_text(member: Member) -> None:
    member.search_text = search_text_for(member)


def next_counter_value(name: str, start: int = 1) -> int:
    """Take the next value of a named counter (row-locked on PostgreSQL)."""
    return take_counter_block(name, 1, start=start)[0]


def take_counter_block(name: str, count: int, start: int = 1) -> range:
    """Reserve `count` consecutive values of a named counter at once (for bulk loads).

    A restore puts the counters table back to the backup's values, so the last value handed out
    is also kept outside the database, in a high-water file beside the erasure ledger
    (`high_water`): the counter never goes below it, so no member number and no request
    reference is ever handed out twice. The file is written (fsync) before the value is used;
    a rolled-back transaction then only leaves a gap, the safe side.
    """
    from app.services import high_water

    counter = db.session.execute(select(Counter).where(Counter.name == name).with_for_update()).scalar_one_or_none()
    if counter is None:
        counter = Counter(name=name, value=start - 1)
        db.session.add(counter)
        db.session.flush()
    # The database's own lock first (SQLite's write lock, PostgreSQL's row lock, held until the
    # commit), then the file's: every process takes them in that order, so none waits for the file
    # while holding the database another one needs (with the file's lock first, two workers
    # registering requests at once stalled each other for the whole busy timeout).
    db.session.execute(update(Counter).where(Counter.name == name).values(value=Counter.value + count))
    db.session.flush()
    db.session.refresh(counter)
    with high_water.guard() as marks:
        floor = marks.get(name, 0)
        if counter.value - count < floor:  # a restore put the counter back below what was handed out
            db.session.execute(update(Counter).where(Counter.name == name).values(value=floor + count))
            db.session.flush()
            db.session.refresh(counter)
        marks[name] = counter.value
    return range(counter.value - count + 1, counter.value + 1)


def _is_sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def next_member_number() -> int:
    """A member number never handed out before (numbers of erased members are not reused).

    A restored backup rolls the counter back: the high-water file (see take_counter_block) keeps
    it above every number given out before the restore, and numbers whose keyed hash is in the
    erasure ledger are skipped as well (installations older than the high-water file).
    """
    from app.services import ledger

    while True:
        number = next_counter_value("member_number", start=1001)
        if not ledger.is_erased_number(number):
            return number


def member_numbers_block(count: int) -> range:
    return take_counter_block("member_number", count, start=1001)


# --- finding members ---------------------------------------------------------------------


def parse_member_number(value) -> int | None:
    """A member number from what someone typed ("1042", "#1042") or a URL; None when it cannot be one.

    Beyond the column's range is no member either (not a database error).
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = str(value if value is not None else "").strip().lstrip("#")
        if not (text.isdecimal() and len(text) <= 10):
            return None
        number = int(text)
    return number if 0 < number <= MAX_MEMBER_NUMBER else None


def find_by_number(member_number) -> Member | None:
    number = parse_member_number(member_number)
    if number is None:
        return None
    return db.session.scalar(select(Member).where(Member.member_number == number))


def like_escape(term: str) -> str:
    """A term for LIKE ... ESCAPE '\\': its own %, _ and backslashes match themselves."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class SearchParams:
    query: str = ""
    status: str = "active"
    sort: str = "name"
    descending: bool = False
    plan_id: int | None = None  # members on this plan (see search_statement)


def search_statement(params: SearchParams, *, actor) -> Select:
    """The member list as one indexed SQL statement, limited to what the actor may search on.

    Without members.contact a term must occur in the name part of search_text, so an email,
    postcode or city never reveals who matches it.
    """
    stmt = select(Member)
    if params.status in MEMBER_STATUSES:
        stmt = stmt.where(Member.status == params.status)
    if params.plan_id is not None:
        # Active members: on the plan now (an active subscription, as the dashboard counts them);
        # the other lists: ever subscribed to it.
        on_plan = select(Subscription.member_id).where(Subscription.plan_id == params.plan_id)
        if params.status == ACTIVE:
            on_plan = on_plan.where(plans.running_clause())
        stmt = stmt.where(Member.id.in_(on_plan))
    may_search_contact = actor is not None and actor.has_permission("members.contact")
    query = "".join(ch for ch in params.query if ch.isprintable())  # no NUL or control characters in SQL
    # "Berg, Anna" is how the list shows a name, so commas and semicolons separate words too.
    terms = fold(query).replace(SEPARATOR, " ").replace(",", " ").replace(";", " ").split()
    phone = phone_query(query) if may_search_contact else None
    if phone:
        # "06 18401421" is one phone number, not two words: its digits, as search_text keeps them.
        terms = [phone]
    if terms:
        conditions = []
        # SQLite: the FTS5 trigram index for terms of three characters or more (one MATCH for
        # all of them); PostgreSQL's LIKE uses its trigram index for every term.
        indexed = [t for t in terms if len(t) >= search_index.MIN_TERM] if search_index.in_use() else []
        if indexed:
            conditions.append(Member.id.in_(search_index.matching_ids(indexed, names_only=not may_search_contact)))
        for term in terms:
            if term in indexed:
                continue
            escaped = like_escape(term)
            pattern = f"%{escaped}%" if may_search_contact else f"%{escaped}% {SEPARATOR}%"
            conditions.append(Member.search_text.like(pattern, escape="\\"))
        matched = and_(*conditions)
        number = parse_member_number(query)
        if number is not None:
            matched = or_(Member.member_number == number, matched)
        # As a sub-select of ids: SQLite then scans the narrow search_text index instead of
        # walking the name index row by row for the sort; PostgreSQL uses its trigram index.
        stmt = stmt.where(Member.id.in_(select(Member.id).where(matched)))
    columns = SORTS.get(params.sort, SORTS["name"])
    stmt = stmt.order_by(*(c.desc() if params.descending else c.asc() for c in columns))
    return stmt


def _status_total(status: str):
    """How many members have the status ('all': every member), as a scalar sub-select of the kept counts."""
    stmt = select(func.coalesce(func.sum(MemberStatusCount.total), 0))
    if status in MEMBER_STATUSES:
        stmt = stmt.where(MemberStatusCount.status == status)
    return stmt.scalar_subquery()


def known_total(params: SearchParams) -> int | None:
    """The list's total without counting its rows, when it lists one whole status (no term, no plan).

    The counts per status are kept by triggers on `members` in the member row's own transaction
    (migration 0103_h18a_a), so they are as current as a COUNT. None when the list is a search or
    a plan's members: then the page counts what matched.
    """
    if params.plan_id is not None or params.query.strip():
        return None
    return db.session.scalar(select(_status_total(params.status)))


# --- what may be done to a member ---------------------------------------------------------------

# action -> the permission the actor needs (the views declare the same code on their routes).
ACTION_PERMISSIONS = {
    "edit": "members.edit",
    "end_membership": "members.edit",
    "add_note": "members.notes",
    "add_health_note": "members.health",
    "record_consent": "members.consents",
    "withdraw_consent": "members.consents",
    "add_subscription": "members.subscriptions",
    "end_subscription": "members.subscriptions",
    "check_in": "members.checkin",
    "place_hold": "privacy.legal_hold",
    "export": "privacy.export",
    "opt_out": "members.edit",  # of a partner system (integrations)
}
# What an active membership allows beyond an ended one.
ACTIVE_ONLY = {"end_membership", "add_subscription", "check_in"}
# The member page: the front desk's row at the top, and what sits on the "Privacy and membership" tab
# instead of the default one (ending a membership for good, the export, holds, partner opt-outs).
DESK_ACTIONS = ("check_in", "edit")
MANAGE_ACTIONS = ("end_membership", "export", "place_hold", "opt_out")

_REFUSALS = {
    ANONYMISED: _l("This member has been anonymised; nothing personal can be added or changed."),
    "not_active": _l("This membership is not active."),
}


@dataclass(frozen=True)
class MemberActions:
    """Which actions may be done to one member by one actor: the one place that says so.

    `refusals` holds, per action the member's state refuses, the message services raise
    (`require`); the attributes (`actions.add_note`) also need the actor's permission, and are
    what the member page shows.
    """

    member_status: str
    refusals: dict
    permitted: frozenset

    def __getattr__(self, action: str) -> bool:
        if action not in ACTION_PERMISSIONS:
            raise AttributeError(action)
        return action not in self.refusals and action in self.permitted

    def allows(self, action: str) -> bool:
        return getattr(self, action)

    def any_of(self, actions) -> bool:
        """True when at least one of these actions is allowed (does the page need that row or tab)."""
        return any(self.allows(action) for action in actions)

    def require(self, action: str) -> None:
        """Raise MemberError when the member's state refuses the action (the views check permissions)."""
        if action not in ACTION_PERMISSIONS:
            raise ValueError(f"unknown member action {action!r}")
        if action in self.refusals:
            code, message = self.refusals[action]
            raise MemberError(message, code)


def actions_for(member: Member, actor=None) -> MemberActions:
    """What may be done to this member (and by this actor; None is the system: every permission).

    Anonymised: nothing (erased means closed: no notes, health notes, consents, subscriptions,
    visits or holds can be attached). Ended: no check-in, no new subscription, not ended again.
    """
    refusals = {}
    if member.is_anonymised:
        refusals = {action: (ANONYMISED, _REFUSALS[ANONYMISED]) for action in ACTION_PERMISSIONS}
    elif member.status != ACTIVE:
        refusals = {action: ("not_active", _REFUSALS["not_active"]) for action in ACTIVE_ONLY}
    if actor is None:
        permitted = frozenset(ACTION_PERMISSIONS)
    else:
        permitted = frozenset(action for action, code in ACTION_PERMISSIONS.items() if actor.has_permission(code))
    return MemberActions(member.status, refusals, permitted)


# --- creating and changing members ---------------------------------------------------------


def _changed_fields(member: Member, data: dict) -> list[str]:
    changed = []
    for field in EDITABLE_FIELDS:
        if field in data and getattr(member, field) != data[field]:
            changed.append(field)
    return changed


def create_member(data: dict, *, actor, source_ip: str | None = None) -> Member:
    """Register a new member with the next member number."""
    fields = {key: value for key, value in data.items() if key in EDITABLE_FIELDS}
    if fields.get("joined_on") is None:  # left empty in the form: a member joins the day they are registered
        fields["joined_on"] = clock.today()
    fields.setdefault("country", "NL")
    member = Member(member_number=next_member_number(), status=ACTIVE, **fields)
    refresh_search_text(member)
    db.session.add(member)
    db.session.flush()
    audit.record(
        "member.create", actor, target_type="member", target_id=member.id, member_number=member.member_number,
        details={"fields": sorted(k for k, v in fields.items() if v not in (None, ""))}, source_ip=source_ip,
    )
    return member


def possible_duplicates(data: dict, *, limit: int = 5) -> list[Member]:
    """Members who may be the person being registered: same names and date of birth, or same email."""
    conditions = []
    first, last, born = (data.get("first_name") or "").strip(), (data.get("last_name") or "").strip(), data.get("date_of_birth")
    if first and last and born:
        conditions.append(and_(func.lower(Member.first_name) == first.lower(), func.lower(Member.last_name) == last.lower(),
                               Member.date_of_birth == born))
    if data.get("email"):
        conditions.append(func.lower(Member.email) == data["email"].strip().lower())
    if not conditions:
        return []
    return list(db.session.scalars(
        select(Member).where(or_(*conditions), ~Member.is_anonymised).order_by(Member.member_number).limit(limit)
    ))


def update_member(member: Member, data: dict, *, actor, override_reason: str | None = None,
                  source_ip: str | None = None) -> list[str]:
    """Change a member's details; returns the names of the fields that changed.

    A member whose processing is restricted (GDPR Art. 18) is only changed with an explicit
    override and a reason; the reason is kept as a staff note, the audit log refers to it.
    """
    actions_for(member, actor).require("edit")
    override_reason = (override_reason or "").strip()
    if member.processing_restricted and not override_reason:
        raise MemberError(
            _l("Processing of this member's data is restricted. Tick the override and give a reason to save anyway."),
            "restricted",
        )
    changed = _changed_fields(member, data)
    if not changed:
        return []
    for field in changed:
        setattr(member, field, data[field])
    refresh_search_text(member)
    db.session.flush()
    from app.services import member_changes  # API clients that received the member learn of it (Art. 19)

    member_changes.rectified(member, changed)
    details: dict = {"fields": changed}
    if member.processing_restricted:
        label = _l("Restriction of processing overridden for a change")
        note = StaffNote(member=member, body=f"{label}: {override_reason}",
                         author_id=getattr(actor, "id", None))
        db.session.add(note)
        db.session.flush()
        audit.record(
            "member.restriction_override", actor, target_type="member", target_id=member.id,
            member_number=member.member_number, details={"fields": changed, "staff_note_id": note.id},
            source_ip=source_ip,
        )
        details["restriction_override"] = True
    audit.record("member.update", actor, target_type="member", target_id=member.id,
                 member_number=member.member_number, details=details, source_ip=source_ip)
    return changed


def end_membership(member: Member, ended_on: date, *, actor, source_ip: str | None = None) -> int:
    """End the membership on a date; active subscriptions end then too. Returns how many ended."""
    if not member.is_anonymised and member.status != ACTIVE:
        raise MemberError(_l("Only an active membership can be ended."), "not_active")
    actions_for(member, actor).require("end_membership")
    if ended_on < member.joined_on:
        raise MemberError(_l("A membership cannot end before the member joined."), "before_join")
    member.ended_on = ended_on
    member.status = ENDED
    ended = 0
    for subscription in member.subscriptions:
        if subscription.status == "active":
            subscription.status = "ended"
            if subscription.ends_on is None or subscription.ends_on > ended_on:
                subscription.ends_on = max(ended_on, subscription.starts_on)
            ended += 1
    db.session.flush()
    audit.record("member.end", actor, target_type="member", target_id=member.id, member_number=member.member_number,
                 details={"ended_on": ended_on.isoformat(), "subscriptions_ended": ended}, source_ip=source_ip)
    return ended


# --- visits -------------------------------------------------------------------------------------


def check_in(member_number, *, actor, location: str = "", source: str = "desk",
             source_ip: str | None = None, at: datetime | None = None) -> Visit:
    """Register a visit (now, or at a given naive-UTC time); refuses unknown, ended and anonymised
    members and double clicks."""
    if source not in VISIT_SOURCES:  # a fixed list, never typed text (the erasure scan relies on it)
        raise ValueError(f"unknown visit source {source!r}")
    member = find_by_number(member_number)
    if member is None:
        raise MemberError(_l("No member has this member number."), "unknown")
    if member.status == ENDED:
        raise MemberError(_l("This membership has ended; the member cannot check in."), "ended")
    actions_for(member, actor).require("check_in")
    now = at or clock.utcnow()
    recent = db.session.scalar(
        select(Visit.checked_in_at).where(Visit.member_id == member.id,
                                          Visit.checked_in_at > now - DUPLICATE_CHECKIN_WINDOW,
                                          Visit.checked_in_at < now + DUPLICATE_CHECKIN_WINDOW)
        .order_by(Visit.checked_in_at.desc()).limit(1)
    )
    if recent is not None:
        raise MemberError(_l("This member was checked in a moment ago already."), "duplicate")
    visit = Visit(member_id=member.id, checked_in_at=now, location=location or "", source=source)
    db.session.add(visit)
    db.session.flush()
    audit.record("member.checkin", actor, target_type="visit", target_id=visit.id, member_number=member.member_number,
                 source_ip=source_ip)
    return visit


local_day_bounds = clock.local_day_bounds  # the clock's; importable from here as before


def visits_statement(member: Member) -> Select:
    return select(Visit).where(Visit.member_id == member.id).order_by(Visit.checked_in_at.desc(), Visit.id.desc())


def invoices_of(member: Member) -> list[Invoice]:
    """The member's invoices, newest first (the member page's invoices tab)."""
    return list(db.session.scalars(
        select(Invoice).where(Invoice.member_id == member.id).order_by(Invoice.issued_on.desc(), Invoice.id.desc())
    ))


def visits_on_statement(day: date | None = None) -> Select:
    """The visits of one local day (today by default), newest first, with their member (the dashboard's list).

    The same bounds as dashboard_counts' count, so the list shows the figure it was opened from.
    """
    start, end = local_day_bounds(day or clock.today())
    return (select(Visit).join(Visit.member).options(contains_eager(Visit.member))
            .where(Visit.checked_in_at >= start, Visit.checked_in_at < end)
            .order_by(Visit.checked_in_at.desc(), Visit.id.desc()))


def dashboard_counts() -> dict:
    """Active members (the kept count) and today's visits (an index-only count), in one statement."""
    start, end = local_day_bounds(clock.today())
    active, visits = db.session.execute(select(
        _status_total(ACTIVE),
        select(func.count()).select_from(Visit).where(Visit.checked_in_at >= start, Visit.checked_in_at < end)
        .scalar_subquery(),
    )).one()
    return {"active_members": active, "visits_today": visits}


# --- subscriptions, consents, notes ---------------------------------------------------------------


def add_subscription(member: Member, *, plan: Plan | None, starts_on: date, monthly_fee: Decimal | None = None,
                     ends_on: date | None = None, actor, source_ip: str | None = None) -> Subscription:
    """Subscribe a member to an active plan of the catalogue.

    Without a fee the plan's price per month is taken (plans paid per month, quarter, half
    year or year); a plan not paid per month (a ten-ride card) needs the fee typed.
    """
    actions_for(member, actor).require("add_subscription")
    monthly_fee = check_subscription(plan, starts_on, ends_on, monthly_fee)
    subscription = Subscription(member=member, plan=plan, starts_on=starts_on, ends_on=ends_on,
                                monthly_fee=monthly_fee, status="active")
    db.session.add(subscription)
    db.session.flush()
    audit.record("subscription.create", actor, target_type="subscription", target_id=subscription.id,
                 member_number=member.member_number, details={"plan_id": plan.id}, source_ip=source_ip)
    return subscription


def check_subscription(plan: Plan | None, starts_on: date, ends_on: date | None, monthly_fee: Decimal | None) -> Decimal:
    """The rules of a new subscription (also the member import's); returns the monthly fee to store."""
    if plan is None:
        raise MemberError(_l("Choose a plan from the catalogue."), "plan")
    if not plan.active:
        raise MemberError(_l("This plan has been retired and cannot be chosen for a new subscription."), "plan")
    if ends_on is not None and ends_on < starts_on:
        raise MemberError(_l("A subscription cannot end before it starts."), "dates")
    if monthly_fee is None:
        monthly_fee = plans.monthly_price(plan)
        if monthly_fee is None:
            raise MemberError(_l("This plan is not paid per month: enter the monthly fee (0 for a one-off purchase)."),
                              "fee")
    if monthly_fee < 0:
        raise MemberError(_l("The fee cannot be negative."), "fee")
    return monthly_fee


def end_subscription(subscription: Subscription, ends_on: date, *, actor, source_ip: str | None = None) -> None:
    actions_for(subscription.member, actor).require("end_subscription")
    if subscription.status != "active":
        raise MemberError(_l("This subscription has already ended."), "not_active")
    subscription.status = "ended"
    subscription.ends_on = max(ends_on, subscription.starts_on)
    db.session.flush()
    audit.record("subscription.end", actor, target_type="subscription", target_id=subscription.id,
                 member_number=subscription.member.member_number, source_ip=source_ip)


def active_consent(member: Member, purpose: str) -> Consent | None:
    return next((c for c in member.consents if c.purpose == purpose and c.is_active), None)


def record_consent(member: Member, purpose: str, *, via: str = "desk", actor, source_ip: str | None = None) -> Consent:
    if purpose not in CONSENT_PURPOSES:
        raise MemberError(_l("Unknown purpose."), "purpose")
    actions_for(member, actor).require("record_consent")
    if active_consent(member, purpose) is not None:
        raise MemberError(_l("This member has already given consent for this purpose."), "exists")
    consent = Consent(member=member, purpose=purpose, given_at=clock.utcnow(), given_via=via,
                      recorded_by_id=getattr(actor, "id", None))
    db.session.add(consent)
    db.session.flush()
    audit.record("consent.give", actor, target_type="consent", target_id=consent.id, member_number=member.member_number,
                 details={"purpose": purpose, "via": via}, source_ip=source_ip)
    return consent


def withdraw_consent(consent: Consent, *, via: str = "desk", actor, source_ip: str | None = None) -> None:
    actions_for(consent.member, actor).require("withdraw_consent")
    if not consent.is_active:
        raise MemberError(_l("This consent has already been withdrawn."), "withdrawn")
    consent.withdrawn_at = clock.utcnow()
    consent.withdrawn_via = via
    db.session.flush()
    audit.record("consent.withdraw", actor, target_type="consent", target_id=consent.id,
                 member_number=consent.member.member_number, details={"purpose": consent.purpose, "via": via},
                 source_ip=source_ip)


def _add_note(model, action: str, member: Member, body: str, *, actor, source_ip: str | None):
    actions_for(member, actor).require("add_health_note" if model is HealthNote else "add_note")
    note = model(member=member, body=body.strip(), created_at=clock.utcnow(), author_id=getattr(actor, "id", None))
    db.session.add(note)
    db.session.flush()
    audit.record(action, actor, target_type=model.__tablename__[:-1], target_id=note.id,
                 member_number=member.member_number, source_ip=source_ip)
    return note


def add_staff_note(member: Member, body: str, *, actor, source_ip: str | None = None) -> StaffNote:
    return _add_note(StaffNote, "member.note_add", member, body, actor=actor, source_ip=source_ip)


def add_health_note(member: Member, body: str, *, actor, source_ip: str | None = None) -> HealthNote:
    return _add_note(HealthNote, "member.health_note_add", member, body, actor=actor, source_ip=source_ip)


def record_view(member: Member, *, actor, tab: str, source_ip: str | None = None) -> None:
    """Reading a member page is logged: who looked at whom (and which tab), never what was shown."""
    audit.record("member.view", actor, target_type="member", target_id=member.id, member_number=member.member_number,
                 details={"tab": tab}, source_ip=source_ip)
