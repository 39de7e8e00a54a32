"""Retention policies per data category, and the sweep that applies them.

Each category of personal data has one policy: a period in months, what the period is
counted from, and what happens then (delete or anonymise), with its basis in words.
The sweep applies every enabled policy with set-based SQL, in chunks: each chunk is one
transaction, so an interrupted sweep leaves every row (and every member) either fully
processed or untouched, and the next run simply carries on. Ended memberships go through
the erasure engine (app/services/erasure.py), so they enter the erasure ledger exactly
like an erasure from the wizard. Members under a legal hold are never touched.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import Column, Integer, MetaData, Table, and_, delete, exists, false, func, not_, or_, select, text

from app.extensions import db
from app.models import (
    ApiIdempotencyKey,
    AuditEvent,
    Consent,
    DataRequest,
    DataTransfer,
    DataTransferMember,
    HealthNote,
    Invoice,
    LegalHold,
    Member,
    MemberChange,
    OutboxEvent,
    RateLimitBucket,
    RetentionPolicy,
    StaffNote,
    Visit,
)
from app.services import audit, clock, fiscal, holds, jobs, storage
from app.services.errors import DomainError

JOB_NAME = "retention-sweep"
MAX_PERIOD_MONTHS = 600  # 50 years: anything longer is a typing error, not a policy
BASIS_MAX_LENGTH = 4000
# Dutch tax law (art. 52 AWR) obliges 7 years after the end of the book year.
FISCAL_MINIMUM_MONTHS = fiscal.RETENTION_MONTHS
SAMPLE_SIZE = 10
HORIZON_DAYS = 30
# Members are erased in chunks of this many, other rows deleted in chunks of DELETE_CHUNK.
MEMBER_CHUNK = 25000
DELETE_CHUNK = 5000
SQLITE_CACHE_KIB = 64 * 1024  # page cache for the sweep's connection on SQLite
# How many days without a sweep before the dashboard asks whether the nightly job runs.
STALE_AFTER_DAYS = 2
_NO_ID = 2**62  # "no boundary" for the id-prefix comparisons of the audit log

ACTION_WORDS = {"delete": _l("deleted"), "anonymise": _l("anonymised")}
ACTION_CHOICES = {"delete": _l("Delete"), "anonymise": _l("Anonymise")}

# What a period is counted from, as it reads after "... 24 months after ".
COUNTED_FROM_WORDS = {
    "membership_end": _l("the membership ended"),
    "visit": _l("the visit"),
    "book_year_end": _l("the end of the book year"),
    "created": _l("the note was written"),
    "closed": _l("the request was closed"),
    "occurred": _l("the event was logged"),
    "withdrawn": _l("the consent was withdrawn"),
    "lifted": _l("the hold was lifted"),
    "window": _l("the counting window started"),
    "delivered": _l("the data was sent"),
    "received": _l("the request was received"),
    "recorded": _l("the change was recorded"),
}


@dataclass(frozen=True)
class Category:
    """One kind of data a policy can cover, and what a policy for it may say."""

    key: str
    label: object
    counted_from: tuple[str, ...]  # allowed; the first is the default
    actions: tuple[str, ...]  # allowed; the first is the default
    default_period: int
    default_basis: object
    minimum_period: int = 1


CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            "ended_memberships",
            _l("Ended memberships"),
            ("membership_end",),
            ("anonymise", "delete"),
            24,
            _l(
                "Member details are needed while someone is a member and for a while after "
                "(final invoices, questions, members who come back). After that there is no "
                "purpose left: the member is anonymised, so visit and subscription figures stay "
                "(which plan of the club's catalogue, from when until when) but the person is gone. "
                "Members with a legal hold, an unpaid invoice or an "
                "open data request are skipped until that is settled."
            ),
        ),
        Category(
            "visits",
            _l("Visit history"),
            ("visit",),
            ("delete",),
            24,
            _l(
                "Check-ins are used for access, busy-hour figures and questions about a visit. "
                "Older visits serve none of these purposes."
            ),
        ),
        Category(
            "invoices",
            _l("Invoices"),
            ("book_year_end",),
            ("delete",),
            FISCAL_MINIMUM_MONTHS,
            _l(
                "Dutch tax law (art. 52 of the Algemene wet inzake rijksbelastingen) obliges the "
                "club to keep its books, invoices included, for 7 years after the end of the book "
                "year. A shorter period is not allowed. Unpaid invoices are kept."
            ),
            minimum_period=FISCAL_MINIMUM_MONTHS,
        ),
        Category(
            "health_notes",
            _l("Health notes"),
            ("membership_end",),
            ("delete",),
            3,
            _l(
                "Health information is special-category data (GDPR art. 9), kept only so trainers "
                "can coach a member safely. Once the membership has ended it is deleted quickly."
            ),
        ),
        Category(
            "staff_notes",
            _l("Staff notes"),
            ("membership_end", "created"),
            ("delete",),
            12,
            _l(
                "Notes help staff serve a member. A year after the membership ended they are of "
                "no further use."
            ),
        ),
        Category(
            "closed_requests",
            _l("Closed data requests"),
            ("closed",),
            ("delete",),
            36,
            _l(
                "The register shows how requests were handled, which the club must be able to "
                "prove (GDPR art. 5(2)). Closed requests are already minimised; what is left is "
                "deleted after 3 years."
            ),
        ),
        Category(
            "withdrawn_consents",
            _l("Withdrawn consents"),
            ("withdrawn",),
            ("delete",),
            24,
            _l(
                "A withdrawn consent is kept for a while as proof that the club stopped the "
                "processing (newsletter, photos, partner apps) when asked."
            ),
        ),
        Category(
            "lifted_holds",
            _l("Lifted legal holds"),
            ("lifted",),
            ("delete",),
            12,
            _l(
                "A lifted hold no longer keeps anything; its record (with the reason) is kept a "
                "year to answer questions about the dispute."
            ),
        ),
        Category(
            "audit_events",
            _l("Audit log"),
            ("occurred",),
            ("delete",),
            60,
            _l(
                "The audit log shows who did what with members' data, for security and to answer "
                "questions from members and the Dutch DPA. It holds member numbers, so it is not "
                "kept forever. The oldest entries go first, so the chain of the rest stays "
                "verifiable; the log stops at the first entry of a member under a legal hold."
            ),
        ),
        Category(
            "data_transfers",
            _l("Transfer log (data sent to partners)"),
            ("delivered",),
            ("delete",),
            36,
            _l(
                "The log of what member data went to which partner system and when (field names, "
                "never values). Members are told who received their data (GDPR art. 15) and "
                "recipients are told of corrections and erasures (art. 19); after 3 years an old "
                "delivery no longer matters for either."
            ),
        ),
        Category(
            "api_changes",
            _l("Changes feed of the API clients"),
            ("recorded",),
            ("delete",),
            3,
            _l(
                "Tells API clients which members they received were corrected, restricted or erased "
                "(member number, kind, time). Partners read it within days; an entry older than 3 "
                "months has been read or will never be."
            ),
        ),
        Category(
            "api_idempotency_keys",
            _l("API idempotency keys"),
            ("received",),
            ("delete",),
            1,
            _l(
                "Let an access gate retry a check-in without it counting twice. A key is honoured for "
                "24 hours; after a month it is deleted."
            ),
        ),
        Category(
            "rate_limits",
            _l("Rate-limit counters"),
            ("window",),
            ("delete",),
            1,
            _l(
                "Counters against abuse of the login and the public request form hold network "
                "addresses. They are needed for an hour; a month later they go."
            ),
        ),
        Category(
            "connector_outbox",
            _l("Delivered partner calls (outbox)"),
            ("delivered",),
            ("delete",),
            3,
            _l(
                "The outbox holds the calls to partner systems such as eGym: a member id and the kind "
                "of change, never the data. A delivered call is kept a few months to answer questions "
                "about a sync. Calls still waiting or parked are never removed by the sweep."
            ),
        ),
    )
}

# The order the sweep applies the policies in: memberships first (the erasure engine removes
# their notes, consents and old invoices in the same batch statements), then what is left of
# each category, the audit log last (the sweep's own entries are written before it).
SWEEP_ORDER = (
    "ended_memberships",
    "rate_limits",
    "api_idempotency_keys",
    "api_changes",
    "data_transfers",
    "lifted_holds",
    "withdrawn_consents",
    "visits",
    "staff_notes",
    "health_notes",
    "closed_requests",
    "invoices",
    "connector_outbox",
    "audit_events",
)
DISPLAY_ORDER = (
    "ended_memberships",
    "visits",
    "invoices",
    "health_notes",
    "staff_notes",
    "withdrawn_consents",
    "closed_requests",
    "lifted_holds",
    "connector_outbox",
    "audit_events",
    "data_transfers",
    "api_changes",
    "api_idempotency_keys",
    "rate_limits",
)


class PolicyError(DomainError, ValueError):
    """A policy change was refused; field says which form field, str(error) why (translated)."""

    def __init__(self, field_name: str, message):
        super().__init__(message, field=field_name)


# ---------------------------------------------------------------------------- policies


def ensure_default_policies() -> list[RetentionPolicy]:
    """Create the policies that do not exist yet with their defaults (idempotent; flushed)."""
    present = set(db.session.scalars(select(RetentionPolicy.category)))
    created = []
    for key in DISPLAY_ORDER:
        if key in present:
            continue
        category = CATEGORIES[key]
        policy = RetentionPolicy(
            category=key,
            period_months=category.default_period,
            counted_from=category.counted_from[0],
            action=category.actions[0],
            basis="",  # empty: the default basis, shown in the reader's language
            enabled=True,
        )
        db.session.add(policy)
        created.append(policy)
    db.session.flush()
    return created


def policies() -> list[RetentionPolicy]:
    """Every known policy, in display order."""
    found = {p.category: p for p in db.session.scalars(select(RetentionPolicy))}
    return [found[key] for key in DISPLAY_ORDER if key in found]


def policy_for(category: str) -> RetentionPolicy | None:
    return db.session.scalar(select(RetentionPolicy).where(RetentionPolicy.category == category))


def effective_policy(category: str) -> RetentionPolicy:
    """The club's policy for a category; before the defaults are saved, an unsaved one holding them."""
    policy = policy_for(category)
    if policy is None:
        spec = CATEGORIES[category]
        policy = RetentionPolicy(category=category, period_months=spec.default_period,
                                 counted_from=spec.counted_from[0], action=spec.actions[0], basis="", enabled=True)
    return policy


def basis_text(policy: RetentionPolicy) -> str:
    """The basis in words: the privacy officer's own text, or the default in the reader's language."""
    return policy.basis or str(CATEGORIES[policy.category].default_basis)


def period_words(months: int) -> str:
    """'24 months', '7 years' (whole years from three years up read better in years)."""
    if months >= 36 and months % 12 == 0:
        return ngettext("%(num)s year", "%(num)s years", months // 12)
    return ngettext("%(num)s month", "%(num)s months", months)


def describe(policy: RetentionPolicy) -> str:
    """The policy in plain words: 'Visit history: deleted 24 months after the visit'."""
    category = CATEGORIES[policy.category]
    return _(
        "%(category)s: %(action)s %(period)s after %(start)s",
        category=category.label,
        action=ACTION_WORDS[policy.action],
        period=period_words(policy.period_months),
        start=COUNTED_FROM_WORDS[policy.counted_from],
    )


def update_policy(
    policy: RetentionPolicy,
    actor,
    *,
    period_months,
    counted_from: str,
    action: str,
    basis: str,
    enabled: bool,
) -> bool:
    """Change a policy after checking it (PolicyError); audited; returns whether anything changed."""
    category = CATEGORIES[policy.category]
    try:
        period = int(period_months)
    except (TypeError, ValueError):
        raise PolicyError("period_months", _("Enter the period as a whole number of months.")) from None
    if period < category.minimum_period:
        if category.key == "invoices":
            raise PolicyError(
                "period_months",
                _(
                    "Invoices must be kept at least %(minimum)s months (7 years after the end of the "
                    "book year): Dutch tax law requires it.",
                    minimum=category.minimum_period,
                ),
            )
        raise PolicyError(
            "period_months", ngettext("The period must be at least %(num)s month.", "The period must be at least %(num)s months.",
                                    category.minimum_period)
        )
    if period > MAX_PERIOD_MONTHS:
        raise PolicyError("period_months", _("The period can be at most %(maximum)s months.", maximum=MAX_PERIOD_MONTHS))
    if counted_from not in category.counted_from:
        raise PolicyError("counted_from", _("Choose one of the listed starting points."))
    if action not in category.actions:
        raise PolicyError("action", _("Choose one of the listed actions."))
    basis = (basis or "").strip()
    if len(basis) > BASIS_MAX_LENGTH:
        raise PolicyError("basis", _("The basis can be at most %(maximum)s characters.", maximum=BASIS_MAX_LENGTH))

    old = _policy_terms(policy)
    old_basis = policy.basis
    policy.period_months = period
    policy.counted_from = counted_from
    policy.action = action
    policy.basis = basis
    policy.enabled = bool(enabled)
    new = _policy_terms(policy)
    if old == new and old_basis == basis:
        return False
    policy.updated_by_id = getattr(actor, "id", None)
    policy.updated_at = clock.utcnow()
    db.session.flush()
    audit.record(
        "retention.policy_changed",
        actor,
        target_type="retention_policy",
        target_id=policy.category,
        details={"category": policy.category, "old": old, "new": new, "basis_changed": old_basis != basis},
    )
    return True


def _policy_terms(policy: RetentionPolicy) -> dict:
    return {
        "period_months": policy.period_months,
        "counted_from": policy.counted_from,
        "action": policy.action,
        "enabled": policy.enabled,
    }


# ---------------------------------------------------------------- what is due, set-based


def _months_back(today: date, months: int) -> date:
    """The last start date whose period has ended by `today`.

    add_months clamps to the month's end, so this may keep a row a day or two longer at
    month ends; it never lets a row go early.
    """
    return clock.add_months(today, -months)


def _end_of_day_utc(day: date) -> datetime:
    """The first moment after the club's local day `day`, as the naive UTC stored times use."""
    local_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=clock.LOCAL_ZONE)
    return local_midnight.astimezone(UTC).replace(tzinfo=None)


def last_expired_book_year_end(today: date, months: int) -> date:
    """The latest book-year end (31 December) whose retention period ended before today."""
    months = max(months, FISCAL_MINIMUM_MONTHS)
    year = today.year
    while clock.add_months(date(year, 12, 31), months) >= today:
        year -= 1
    return date(year, 12, 31)


def invoice_kept_until(issued_on: date, months: int = FISCAL_MINIMUM_MONTHS) -> date:
    """The last day an invoice must be kept: N months after the end of its book year."""
    return fiscal.kept_until(issued_on, months)


def _held():
    return holds.held_member_ids()


@dataclass(frozen=True)
class Rule:
    """How one category's due rows are found."""

    model: type
    due: Callable[[RetentionPolicy, date], object]  # SQL condition: the period has passed
    exempt: Callable[[], object] | None  # SQL condition: kept anyway (legal hold, open claim)
    member_numbers: Callable[[object], object] | None  # select of member numbers for a condition


def _member_numbers_via_member_id(model):
    def build(condition):
        return select(Member.member_number).where(Member.id.in_(select(model.member_id).where(condition)))

    return build


def _due_ended_memberships(policy, today):
    cutoff = _months_back(today, policy.period_months)
    return and_(Member.status == "ended", Member.ended_on.is_not(None), Member.ended_on <= cutoff)


def _exempt_members():
    return or_(
        Member.id.in_(_held()),
        exists().where(Invoice.member_id == Member.id, Invoice.status == "open"),
        exists().where(DataRequest.member_id == Member.id, DataRequest.closed_at.is_(None)),
    )


def _due_visits(policy, today):
    return Visit.checked_in_at < _end_of_day_utc(_months_back(today, policy.period_months))


def _due_invoices(policy, today):
    last_year_end = last_expired_book_year_end(today, policy.period_months)
    return and_(Invoice.issued_on <= last_year_end, Invoice.status != "open")


def _due_by_membership_end(model):
    def due(policy, today):
        cutoff = _months_back(today, policy.period_months)
        # Correlated EXISTS: driven by the (usually small) child table, one primary-key probe per row.
        return exists().where(
            Member.id == model.member_id,
            Member.status != "active",
            Member.ended_on.is_not(None),
            Member.ended_on <= cutoff,
        )

    return due


def _due_staff_notes(policy, today):
    if policy.counted_from == "created":
        return StaffNote.created_at < _end_of_day_utc(_months_back(today, policy.period_months))
    return _due_by_membership_end(StaffNote)(policy, today)


def _due_closed_requests(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(DataRequest.closed_at.is_not(None), DataRequest.closed_at < boundary)


def _due_withdrawn_consents(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(Consent.withdrawn_at.is_not(None), Consent.withdrawn_at < boundary)


def _due_lifted_holds(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(LegalHold.lifted_at.is_not(None), LegalHold.lifted_at < boundary)


def _due_audit_events(policy, today):
    """Old entries, but only as an unbroken prefix of the log (ids below the first newer entry).

    Deleting only the oldest entries keeps the hash chain of the rest intact: the first
    remaining entry's prev_hash is the anchor a verifier starts from.
    """
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    newer = AuditEvent.__table__.alias("newer")
    first_newer = select(func.min(newer.c.id)).where(newer.c.occurred_at >= boundary).scalar_subquery()
    return and_(AuditEvent.occurred_at < boundary, AuditEvent.id < func.coalesce(first_newer, _NO_ID))


def _exempt_audit_events():
    """From the first entry about a member under a hold on, the log stays (a prefix again)."""
    held = AuditEvent.__table__.alias("held")
    held_numbers = select(Member.member_number).where(Member.id.in_(_held()))
    first_held = select(func.min(held.c.id)).where(held.c.member_number.in_(held_numbers)).scalar_subquery()
    return AuditEvent.id >= func.coalesce(first_held, _NO_ID)


def _due_rate_limits(policy, today):
    return RateLimitBucket.window_start < _end_of_day_utc(_months_back(today, policy.period_months))


def _due_by_time(column):
    def due(policy, today):
        return column < _end_of_day_utc(_months_back(today, policy.period_months))

    return due


def _transfer_member_numbers(condition):
    return select(Member.member_number).where(Member.id.in_(
        select(DataTransferMember.member_id).join(DataTransfer, DataTransfer.id == DataTransferMember.transfer_id)
        .where(condition)))


def _due_outbox(policy, today):
    boundary = _end_of_day_utc(_months_back(today, policy.period_months))
    return and_(OutboxEvent.state == "done", OutboxEvent.done_at.is_not(None), OutboxEvent.done_at < boundary)


def _exempt_by_member(model):
    return lambda: model.member_id.in_(_held())


RULES: dict[str, Rule] = {
    "ended_memberships": Rule(
        Member,
        _due_ended_memberships,
        _exempt_members,
        lambda condition: select(Member.member_number).where(condition),
    ),
    "visits": Rule(Visit, _due_visits, _exempt_by_member(Visit), _member_numbers_via_member_id(Visit)),
    "invoices": Rule(
        Invoice,
        _due_invoices,
        lambda: and_(Invoice.member_id.is_not(None), Invoice.member_id.in_(_held())),
        _member_numbers_via_member_id(Invoice),
    ),
    "health_notes": Rule(
        HealthNote,
        _due_by_membership_end(HealthNote),
        _exempt_by_member(HealthNote),
        _member_numbers_via_member_id(HealthNote),
    ),
    "staff_notes": Rule(StaffNote, _due_staff_notes, _exempt_by_member(StaffNote), _member_numbers_via_member_id(StaffNote)),
    "closed_requests": Rule(
        DataRequest,
        _due_closed_requests,
        lambda: and_(DataRequest.member_id.is_not(None), DataRequest.member_id.in_(_held())),
        lambda condition: select(DataRequest.member_number).where(condition, DataRequest.member_number.is_not(None)),
    ),
    "withdrawn_consents": Rule(
        Consent, _due_withdrawn_consents, _exempt_by_member(Consent), _member_numbers_via_member_id(Consent)
    ),
    # A lifted hold keeps nothing, but while the member has another active hold its history stays.
    "lifted_holds": Rule(
        LegalHold, _due_lifted_holds, _exempt_by_member(LegalHold), _member_numbers_via_member_id(LegalHold)
    ),
    "audit_events": Rule(
        AuditEvent,
        _due_audit_events,
        _exempt_audit_events,
        lambda condition: select(AuditEvent.member_number).where(condition, AuditEvent.member_number.is_not(None)),
    ),
    "rate_limits": Rule(RateLimitBucket, _due_rate_limits, None, None),
    "data_transfers": Rule(DataTransfer, _due_by_time(DataTransfer.at), None, _transfer_member_numbers),
    "api_changes": Rule(MemberChange, _due_by_time(MemberChange.at), None,
                        lambda condition: select(MemberChange.member_number).where(condition)),
    "api_idempotency_keys": Rule(ApiIdempotencyKey, _due_by_time(ApiIdempotencyKey.created_at), None, None),
    "connector_outbox": Rule(OutboxEvent, _due_outbox, None, None),
}


def due_condition(policy: RetentionPolicy, today: date):
    """SQL condition for the rows of the policy's category the sweep would process today."""
    rule = RULES[policy.category]
    if not policy.enabled:
        return false()
    condition = rule.due(policy, today)
    if rule.exempt is not None:
        condition = and_(condition, not_(rule.exempt()))
    return condition


def _held_back_condition(policy: RetentionPolicy, today: date):
    rule = RULES[policy.category]
    if not policy.enabled or rule.exempt is None:
        return false()
    return and_(rule.due(policy, today), rule.exempt())


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0


@dataclass
class Forecast:
    """What one policy would do now, and what falls due soon."""

    policy: RetentionPolicy
    category: Category
    due: int
    held_back: int
    due_soon: int
    sample: list[int] = field(default_factory=list)


def forecast(today: date | None = None, *, horizon_days: int = HORIZON_DAYS, sample_size: int = SAMPLE_SIZE) -> list[Forecast]:
    """Per policy: rows due now, rows kept back (hold, open claim), rows due within the horizon."""
    today = today or clock.today()
    later = today + timedelta(days=horizon_days)
    result = []
    for policy in policies():
        rule = RULES[policy.category]
        due_now = due_condition(policy, today)
        due = _count(rule.model, due_now)
        held_back = _count(rule.model, _held_back_condition(policy, today))
        due_soon = max(_count(rule.model, due_condition(policy, later)) - due, 0)
        sample = []
        if due and sample_size and rule.member_numbers is not None:
            numbers = rule.member_numbers(due_now).subquery()
            sample = list(
                db.session.scalars(
                    select(numbers.c[0]).distinct().order_by(numbers.c[0]).limit(sample_size)
                )
            )
        result.append(Forecast(policy, CATEGORIES[policy.category], due, held_back, due_soon, sample))
    return result


def fingerprint(forecasts: list[Forecast]) -> str:
    """A short digest of a preview, so a run can tell that the numbers changed since."""
    payload = [
        (f.policy.category, f.policy.period_months, f.policy.counted_from, f.policy.action, f.policy.enabled, f.due)
        for f in forecasts
    ]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]


# ------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """What a sweep did: rows (or members) per category, and the action applied."""

    run_id: str
    counts: dict[str, int]
    actions: dict[str, str]
    started_at: datetime
    finished_at: datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def run_sweep(
    actor,
    *,
    commit: Callable[[], None],
    via: str = "cli",
    member_chunk: int = MEMBER_CHUNK,
    delete_chunk: int = DELETE_CHUNK,
    today: date | None = None,
) -> SweepResult:
    """Apply every enabled policy now, under the job lock (JobBusyError when another run holds it).

    Unlike most services this one ends transactions: a sweep over 100,000 members cannot be
    one transaction. `commit` is the caller's commit (db.session.commit in the CLI and the
    view), called after each chunk and after the summary entry ('retention.sweep'). Every
    chunk is one transaction with its own audit entry, so a crash leaves each row or member
    fully processed or untouched, and the next run finishes the rest.
    """
    today = today or clock.today()
    lock = jobs.acquire(JOB_NAME)
    storage.defer_large_tables()  # PostgreSQL: visits and the like are vacuumed once, at the end
    try:
        result = _sweep(actor, lock, commit, via, member_chunk, delete_chunk, today)
        commit()
        storage.vacuum_deferred()
        return result
    except BaseException:
        db.session.rollback()  # the unfinished chunk: undone, as if it never started
        raise
    finally:
        db.session.info.pop("clubhouse_storage_deferred", None)
        jobs.release(lock)


def _sweep(actor, lock, commit, via, member_chunk, delete_chunk, today) -> SweepResult:
    result = SweepResult(run_id=uuid.uuid4().hex[:12], counts={}, actions={}, started_at=clock.utcnow())
    by_category = {p.category: p for p in policies()}
    for key in SWEEP_ORDER:
        policy = by_category.get(key)
        if policy is None or not policy.enabled:
            continue
        if key == "ended_memberships":
            done = _erase_members(policy, today, actor, result.run_id, member_chunk, commit, lock)
        else:
            done = _delete_rows(policy, today, actor, result.run_id, delete_chunk, commit, lock)
        result.counts[key] = done
        result.actions[key] = policy.action
    result.finished_at = clock.utcnow()
    audit.record(
        "retention.sweep",
        actor,
        target_type="retention_sweep",
        target_id=result.run_id,
        details={"run": result.run_id, "via": via, "counts": result.counts, "actions": result.actions},
    )
    return result


def _chunk_done(policy, actor, run_id, count, commit, lock, extra: dict | None = None) -> None:
    """Audit a chunk inside its own transaction, commit it, and keep the lock alive."""
    details = {"run": run_id, "category": policy.category, "action": policy.action, "count": count}
    audit.record(
        "retention.applied",
        actor,
        target_type="retention_policy",
        target_id=policy.category,
        details={**details, **(extra or {})},
    )
    commit()
    lock.renew()


def _delete_rows(policy, today, actor, run_id, chunk_size, commit, lock) -> int:
    """Delete the category's due rows, a chunk per transaction (oldest ids first)."""
    rule = RULES[policy.category]
    model = rule.model
    condition = due_condition(policy, today)
    total = 0
    if model is RateLimitBucket:  # small table without an id column: one statement
        deleted = db.session.execute(
            delete(model).where(condition).execution_options(synchronize_session=False)
        ).rowcount
        if deleted:
            total = deleted
            _chunk_done(policy, actor, run_id, deleted, commit, lock)
        return total
    while True:
        chunk = select(model.id).where(condition).order_by(model.id).limit(chunk_size)
        deleted = db.session.execute(
            delete(model).where(model.id.in_(chunk.scalar_subquery())).execution_options(synchronize_session=False)
        ).rowcount
        if not deleted:
            return total
        total += deleted
        storage.touched({model.__tablename__})  # the chunk's commit checkpoints / vacuums after it
        extra = _audit_anchor() if model is AuditEvent else None
        _chunk_done(policy, actor, run_id, deleted, commit, lock, extra)


def _audit_anchor() -> dict:
    """Where the pruned audit log now starts: a verifier accepts that entry's prev_hash as its anchor.

    This entry is itself part of the chain, so the anchor cannot be changed unnoticed.
    """
    first = db.session.execute(
        select(AuditEvent.id, AuditEvent.prev_hash).order_by(AuditEvent.id).limit(1)
    ).first()
    return {"first_kept_id": first.id, "anchor_hash": first.prev_hash} if first else {}


SQLITE_BULK_PRAGMAS = (
    f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}",  # the default 2 MB cannot hold a chunk's index pages
    "PRAGMA temp_store = MEMORY",  # the erasure engine's batch table and IN-subqueries
)


def _tune_connection() -> None:
    """SQLite settings for bulk work on the sweep's connection (PostgreSQL needs none)."""
    if db.session.get_bind().dialect.name == "sqlite":
        for pragma in SQLITE_BULK_PRAGMAS:
            db.session.execute(text(pragma))


def _due_member_ids(condition, last_id: int, chunk_size: int) -> list[int]:
    """The next chunk of due member ids (ascending), as plain ints.

    The selection runs as INSERT ... SELECT into a temporary table (SQLAlchemy binds the
    parameters), and the ids are read back through the driver: 25,000 SQLAlchemy Row objects
    per chunk cost more than the selection itself.
    """
    connection = db.session.connection()
    connection.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS retention_due (id INTEGER PRIMARY KEY)")
    connection.exec_driver_sql("DELETE FROM retention_due")
    connection.execute(_DUE.insert().from_select(
        ["id"], select(Member.id).where(condition, Member.id > last_id).order_by(Member.id).limit(chunk_size)))
    cursor = connection.connection.cursor()
    try:
        cursor.execute("SELECT id FROM retention_due ORDER BY id")
        return [member_id for (member_id,) in cursor.fetchall()]
    finally:
        cursor.close()


_DUE = Table("retention_due", MetaData(), Column("id", Integer, primary_key=True))


def _erase_members(policy, today, actor, run_id, chunk_size, commit, lock) -> int:
    """Anonymise (or delete) due ended memberships through the erasure engine, a chunk at a time."""
    condition = due_condition(policy, today)
    total = 0
    last_id = 0
    while True:
        _tune_connection()
        ids = _due_member_ids(condition, last_id, chunk_size)
        if not ids:
            return total
        from app.services import erasure  # the wizard's engine, so the ledger and its checks apply

        try:
            done = erasure.erase_members(ids, policy.action, actor, source="retention")
        except erasure.LegalHoldError:
            # A hold placed between our selection and the erasure: leave those members alone.
            free = sorted(set(ids) - erasure.held_member_ids(ids))
            done = erasure.erase_members(free, policy.action, actor, source="retention") if free else 0
        total += done
        last_id = ids[-1]
        _chunk_done(policy, actor, run_id, done, commit, lock)


# -------------------------------------------------------------------- the last sweep


def last_sweep() -> AuditEvent | None:
    """The audit entry of the most recent completed sweep."""
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "retention.sweep").order_by(AuditEvent.id.desc()).limit(1)
    )


def sweep_summary(event: AuditEvent | None) -> dict | None:
    """A completed sweep's counts for display: {'when', 'who', 'via', 'rows': [(category, action, count)]}."""
    if event is None:
        return None
    details = json.loads(event.details or "{}")
    counts = details.get("counts", {})
    actions = details.get("actions", {})
    rows = [
        (CATEGORIES[key], actions.get(key, "delete"), counts[key])
        for key in DISPLAY_ORDER
        if key in counts and key in CATEGORIES
    ]
    return {
        "when": event.occurred_at,
        "who": event.actor_username,
        "via": details.get("via"),
        "rows": rows,
        "total": sum(counts.values()),
    }


def sweep_is_stale(now: datetime | None = None) -> bool:
    """True when no sweep has completed in the last STALE_AFTER_DAYS days."""
    now = now or clock.utcnow()
    event = last_sweep()
    return event is None or event.occurred_at < now - timedelta(days=STALE_AFTER_DAYS)
