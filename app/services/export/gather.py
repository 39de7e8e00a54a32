"""Gather everything held on a member into plain data (dicts and dataclasses).

What the producing staff member may not see is left out, and the export says so:
staff notes need members.notes, health notes members.health, invoices and the IBAN
members.finance, and contact details members.contact. Translated texts (purposes, rights,
reasons) come out in the language active while gathering (see ``flask_babel.force_locale``).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Consent,
    DataRequest,
    HealthNote,
    Invoice,
    Member,
    StaffNote,
    Subscription,
    Visit,
)
from app.services import clock, plans
from app.services.export import art15

RECENT_VISITS = 50

CONTACT_FIELDS = ("email", "phone", "street", "house_number", "postcode", "city", "country")
PROFILE_FIELDS = (
    "member_number", "first_name", "infix", "last_name", "date_of_birth", "gender",
    *CONTACT_FIELDS, "iban", "joined_on", "ended_on", "status", "processing_restricted",
    "restricted_since", "created_at", "updated_at",
)

# Column order of each list category: JSON keys, CSV headers and PDF tables follow it.
COLUMNS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("plan", "starts_on", "ends_on", "monthly_fee", "status"),
    "visits": ("checked_in_at", "location", "source"),
    "invoices": ("number", "issued_on", "due_on", "amount", "description", "status", "paid_on",
                 "billing_name", "billing_address"),
    "consents": ("purpose", "status", "given_at", "given_via", "withdrawn_at", "withdrawn_via"),
    "staff_notes": ("created_at", "body"),
    "health_notes": ("created_at", "body"),
    "data_requests": ("reference", "kind", "channel", "status", "received_at", "due_on",
                      "identity_verified_at", "decision", "decision_reason", "outcome",
                      "export_produced_at", "export_handed_over_at", "closed_at", "message"),
}

# What each permission guards, for the letter's "what was left out" paragraph.
GUARDS = (
    ("contact", "members.contact"),
    ("finance", "members.finance"),
    ("staff_notes", "members.notes"),
    ("health_notes", "members.health"),
)


# Categories left out whole when the guard named here is missing (see GUARDS).
GUARDED_CATEGORIES = {"invoices": "finance", "staff_notes": "staff_notes", "health_notes": "health_notes"}


def local(moment: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as an aware time in the club's zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(clock.LOCAL_ZONE)


@dataclass
class Omission:
    """A part of the data the producing staff member may not see, and why it is missing."""

    key: str
    permission: str
    reason: str


@dataclass
class MemberExport:
    """Everything held on one member, as plain values (dates, datetimes, Decimals, strings)."""

    member_number: int
    full_name: str
    language: str
    generated_at: datetime
    profile: dict
    subscriptions: list[dict]
    visit_count: int
    visit_months: list[dict]
    recent_visits: list[dict]
    consents: list[dict]
    data_requests: list[dict]
    categories: list[dict]
    recipients: list[art15.Recipient]
    rights: list[dict]
    omitted: list[Omission]
    visits: list[dict] | None = None  # the complete list; None when only the summary was asked
    invoices: list[dict] | None = None
    staff_notes: list[dict] | None = None
    health_notes: list[dict] | None = None
    request_reference: str | None = None
    postal_address: list[str] = field(default_factory=list)

    @property
    def omitted_keys(self) -> list[str]:
        return [o.key for o in self.omitted]


def omissions_for(actor) -> list[Omission]:
    """What an export produced by this staff member leaves out, with a reason in words."""
    reasons = {
        "contact": _("Your contact details (email, phone, address) are not included: "
                     "the staff member who produced this export is not allowed to see them."),
        "finance": _("Your invoices and bank account number (IBAN) are not included: "
                     "the staff member who produced this export is not allowed to see financial data."),
        "staff_notes": _("Notes by staff are not included: "
                         "the staff member who produced this export is not allowed to read them."),
        "health_notes": _("Health notes are not included: they are special-category data and "
                          "the staff member who produced this export is not allowed to read them."),
    }
    return [Omission(key, code, reasons[key]) for key, code in GUARDS if not actor.has_permission(code)]


def gather(member: Member, actor, *, complete_visits: bool = True, request_reference: str | None = None,
           omitted: list[Omission] | None = None) -> MemberExport:
    """Everything held on the member that ``actor`` may see, in the current language.

    ``omitted`` overrides what is left out (flow.omissions_for_export decides it: nothing for the
    answer to a request); by default it follows the actor's field permissions.
    ``complete_visits=False`` keeps only the monthly summary and the most recent visits (the
    PDF); the package asks for the complete list. Visits are read with one streamed query.
    """
    if omitted is None:
        omitted = omissions_for(actor)
    left_out = {o.key for o in omitted}

    profile = {name: getattr(member, name) for name in PROFILE_FIELDS}
    if "contact" in left_out:
        for name in CONTACT_FIELDS:
            profile.pop(name)
    if "finance" in left_out:
        profile.pop("iban")

    visit_count, months, recent, complete = _visits(member, complete_visits)

    export = MemberExport(
        member_number=member.member_number,
        full_name=member.full_name,
        language=str(get_locale() or "en"),
        generated_at=clock.utcnow(),
        profile=profile,
        subscriptions=_subscription_rows(member),
        visit_count=visit_count,
        visit_months=months,
        recent_visits=recent,
        visits=complete,
        consents=[_consent_row(c) for c in db.session.scalars(
            select(Consent).where(Consent.member_id == member.id).order_by(Consent.given_at, Consent.id))],
        data_requests=_rows(DataRequest, DataRequest.member_id == member.id, DataRequest.received_at, "data_requests"),
        categories=[],
        recipients=art15.recipients_for(member),
        rights=[{"key": key, "title": str(title), "text": str(text)} for key, title, text in art15.RIGHTS],
        omitted=omitted,
        request_reference=request_reference,
    )
    if "finance" not in left_out:
        export.invoices = _rows(Invoice, Invoice.member_id == member.id, Invoice.issued_on, "invoices")
    if "staff_notes" not in left_out:
        export.staff_notes = _rows(StaffNote, StaffNote.member_id == member.id, StaffNote.created_at, "staff_notes")
    if "health_notes" not in left_out:
        export.health_notes = _rows(HealthNote, HealthNote.member_id == member.id, HealthNote.created_at, "health_notes")
    if "contact" not in left_out:
        street = " ".join(p for p in (member.street, member.house_number) if p)
        town = "  ".join(p for p in (member.postcode, member.city) if p)
        export.postal_address = [line for line in (street, town) if line]
    export.categories = _categories(export, member)
    return export


def _rows(model, condition, order, category: str) -> list[dict]:
    columns = [getattr(model, name) for name in COLUMNS[category]]
    result = db.session.execute(select(*columns).where(condition).order_by(order, model.id))
    return [dict(zip(COLUMNS[category], row, strict=True)) for row in result]


def _subscription_rows(member: Member) -> list[dict]:
    """The member's subscriptions with the plan's name in the export's language (the catalogue's, never typed text)."""
    stmt = (select(Subscription).where(Subscription.member_id == member.id)
            .order_by(Subscription.starts_on, Subscription.id))
    rows = []
    for subscription in db.session.scalars(stmt):
        row = {name: getattr(subscription, name) for name in COLUMNS["subscriptions"] if name != "plan"}
        rows.append({"plan": plans.plan_label(subscription.plan), **row})
    return rows


def _consent_row(consent: Consent) -> dict:
    return {
        "purpose": consent.purpose,
        "status": "given" if consent.withdrawn_at is None else "withdrawn",
        "given_at": consent.given_at,
        "given_via": consent.given_via,
        "withdrawn_at": consent.withdrawn_at,
        "withdrawn_via": consent.withdrawn_via,
    }


def _visits(member: Member, complete: bool):
    """One streamed query, newest first: count, per-month summary, the recent ones, maybe all."""
    stmt = (
        select(Visit.checked_in_at, Visit.location, Visit.source)
        .where(Visit.member_id == member.id)
        .order_by(Visit.checked_in_at.desc(), Visit.id.desc())
    )
    months: dict[str, dict] = {}
    recent: list[dict] = []
    everything: list[dict] | None = [] if complete else None
    count = 0
    for checked_in_at, location, source in db.session.execute(stmt, execution_options={"yield_per": 1000}):
        count += 1
        row = {"checked_in_at": checked_in_at, "location": location, "source": source}
        if len(recent) < RECENT_VISITS:
            recent.append(row)
        if everything is not None:
            everything.append(row)
        key = local(checked_in_at).strftime("%Y-%m")
        month = months.get(key)
        if month is None:
            months[key] = {"month": key, "visits": 1, "first": checked_in_at, "last": checked_in_at,
                           "locations": {location} if location else set()}
        else:
            month["visits"] += 1
            month["first"] = checked_in_at  # rows arrive newest first
            if location:
                month["locations"].add(location)
    summary = []
    for key in sorted(months, reverse=True):
        month = months[key]
        summary.append({**month, "locations": sorted(month["locations"])})
    if everything is not None:
        everything.reverse()  # the package lists visits oldest first
    return count, summary, recent, everything


def _categories(export: MemberExport, member: Member) -> list[dict]:
    """The Art. 15 table: per category its purpose, basis, source, retention and what is included."""
    retention = art15.retention_by_category()
    left_out = set(export.omitted_keys)
    counts = {
        "profile": 1,
        "subscriptions": len(export.subscriptions),
        "visits": export.visit_count,
        "invoices": None if export.invoices is None else len(export.invoices),
        "consents": len(export.consents),
        "staff_notes": None if export.staff_notes is None else len(export.staff_notes),
        "health_notes": None if export.health_notes is None else len(export.health_notes),
        "data_requests": len(export.data_requests),
    }
    visit_sources = sorted({row["source"] for row in (export.visits or export.recent_visits)})
    rows = []
    for category in art15.CATEGORIES:
        source = str(art15.SOURCES[category])
        if category == "visits" and visit_sources:
            labels = [str(art15.VISIT_SOURCE_LABELS.get(s, s)) for s in visit_sources]
            source = f"{source.rstrip('.')} ({', '.join(labels)})."
        kept = retention[category]
        rows.append({
            "category": category,
            "title": str(art15.CATEGORY_TITLES[category]),
            "records": counts[category],
            "included": GUARDED_CATEGORIES.get(category) not in left_out,
            "purpose": str(art15.PURPOSES[category]),
            "legal_basis": str(art15.LEGAL_BASES[category]),
            "source": source,
            "retention": kept["words"],
            "retention_basis": kept["basis"],
            "retention_set_by_club": kept["configured"],
            "retention_months": kept["months"],
        })
    return rows
