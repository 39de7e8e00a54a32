"""What argues against erasing now (the wizard's exceptions) and the preview per table."""

from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    func,
    or_,
    select,
)

from app.extensions import db
from app.models import (
    Consent,
    DataRequest,
    HealthNote,
    Invoice,
    LegalHold,
    Member,
    StaffNote,
    Subscription,
    Visit,
)
from app.services import clock, fiscal, holds
from app.services.erasure.engine import _other_member_references

# --- exceptions and preview ----------------------------------------------------------------

EXCEPTION_LABELS = {
    "open_invoices": _l("Open invoices: the club still has a claim."),
    "fiscal_retention": _l("Invoices under the fiscal retention period (%(years)s years after the end of the book year).",
                           years=fiscal.RETENTION_YEARS),
    "active_subscription": _l("An active subscription: the contract still runs."),
    "legal_hold": _l("A recorded legal hold or dispute."),
}


def find_exceptions(member: Member) -> list[dict]:
    """What argues against erasing now: [{code, count, until}] (until: date or None)."""
    today = clock.today()
    found = []
    invoices = db.session.execute(select(Invoice.issued_on, Invoice.status).where(Invoice.member_id == member.id)).all()
    open_count = sum(1 for inv in invoices if fiscal.is_open(inv.status))
    if open_count:
        found.append({"code": "open_invoices", "count": open_count, "until": None})
    retained = [inv.issued_on for inv in invoices if fiscal.kept_until(inv.issued_on) >= today]
    if retained:
        found.append({"code": "fiscal_retention", "count": len(retained), "until": fiscal.kept_until(max(retained))})
    active = db.session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.member_id == member.id, Subscription.status == "active",
        or_(Subscription.ends_on.is_(None), Subscription.ends_on >= today)))
    if active:
        found.append({"code": "active_subscription", "count": active, "until": None})
    held = holds.count_active(member)
    if held:
        found.append({"code": "legal_hold", "count": held, "until": None})
    return found


# What each table holds, in words, where a page names a table (the preview's rows for tables other modules
# add, the verification report's groups); the table names stay in folded detail and in the kept JSON.
TABLE_WORDS = {
    "members": _l("Member record"), "invoices": _l("Invoices"),
    "data_requests": _l("Data requests (the requester's details)"), "visits": _l("Visits"),
    "subscriptions": _l("Subscriptions"), "consents": _l("Consents"), "health_notes": _l("Health notes"),
    "staff_notes": _l("Staff notes"), "audit_events": _l("Audit log"), "users": _l("User accounts"),
    "legal_holds": _l("Legal holds"), "outbox_events": _l("Deliveries to partners"),
    "connector_members": _l("Partner accounts"), "transfers": _l("Transfer log"),
    "data_transfer_members": _l("Transfer log"), "imported_members": _l("Import record (old member number)"),
    "member_changes": _l("Change feed for API clients"),
}


def table_words(table: str) -> str:
    """A table's contents in words; a table nobody has named yet reads as its name without underscores."""
    words = TABLE_WORDS.get(table)
    return str(words) if words is not None else table.replace("_", " ")


@dataclass
class PreviewRow:
    table: str
    label: object  # a lazy translated string
    delete: int = 0
    anonymise: int = 0
    keep: int = 0
    why: object = ""
    until: date | None = None
    details: list = field(default_factory=list)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def preview(member: Member, method: str) -> list[PreviewRow]:
    """Per table: how many rows the erasure deletes, anonymises or keeps, why, and until when."""
    today = clock.today()
    rows = []
    if method == "delete":
        rows.append(PreviewRow("members", _l("Member record"), delete=1,
                               why=_l("The member and everything attached are removed.")))
    else:
        rows.append(PreviewRow("members", _l("Member record"), anonymise=1,
                               why=_l("Names, contact details, address, IBAN and date of birth are removed; "
                                          "membership dates stay for statistics.")))
    n = _count(Visit, Visit.member_id == member.id)
    if method == "delete":
        rows.append(PreviewRow("visits", _l("Visits"), delete=n))
    else:
        rows.append(PreviewRow("visits", _l("Visits"), keep=n,
                               why=_l("Kept as statistics on the anonymised record; they hold no personal details.")))
    subscriptions = db.session.scalars(select(Subscription).where(Subscription.member_id == member.id)
                                       .order_by(Subscription.starts_on, Subscription.id)).all()
    plan_details = [{"plan": s.plan, "starts_on": s.starts_on, "ends_on": s.ends_on} for s in subscriptions]
    if method == "delete":
        rows.append(PreviewRow("subscriptions", _l("Subscriptions"), delete=len(subscriptions), details=plan_details,
                               why=_l("The plans themselves stay in the club's catalogue.") if subscriptions else ""))
    else:
        rows.append(PreviewRow("subscriptions", _l("Subscriptions"), keep=len(subscriptions), details=plan_details,
                               why=_l("Kept as statistics on the anonymised record: the plan from the club's "
                                      "catalogue, the dates and the fee; running ones end today.")))
    for model, label in ((Consent, _l("Consents")), (HealthNote, _l("Health notes")),
                         (StaffNote, _l("Staff notes")), (LegalHold, _l("Lifted legal holds"))):
        rows.append(PreviewRow(model.__tablename__, label, delete=_count(model, model.member_id == member.id)))

    invoices = db.session.execute(select(Invoice.id, Invoice.number, Invoice.issued_on, Invoice.status)
                                  .where(Invoice.member_id == member.id).order_by(Invoice.issued_on)).all()
    kept = [inv for inv in invoices if fiscal.is_kept(inv.issued_on, inv.status, today)]
    gone = len(invoices) - len(kept)
    row = PreviewRow("invoices", _l("Invoices"), delete=gone, keep=len(kept))
    if kept:
        row.why = _l("Kept under the fiscal retention obligation, detached from the member, with the "
                         "billing name and address printed on them.")
        row.until = max(fiscal.kept_until(inv.issued_on) for inv in kept)
        row.details = [{"number": inv.number, "until": fiscal.kept_until(inv.issued_on), "open": fiscal.is_open(inv.status)}
                       for inv in kept]
    rows.append(row)
    n = _count(DataRequest, DataRequest.member_id == member.id)
    rows.append(PreviewRow("data_requests", _l("Data requests"), anonymise=n,
                           why=_l("The register keeps reference, kind and dates; the requester's details are removed "
                                      "(for this request once the confirmation letter is made).")))
    for table, column, ondelete in _other_member_references():
        n = db.session.scalar(select(func.count()).select_from(table).where(column == member.id)) or 0
        if method == "delete":
            label = table_words(table.name)
            rows.append(PreviewRow(table.name, label, delete=n) if ondelete == "CASCADE" or not column.nullable
                        else PreviewRow(table.name, label, anonymise=n, why=_l("Unlinked from the member.")))
        else:
            rows.append(PreviewRow(table.name, table_words(table.name), keep=n,
                                   why=_l("Linked to the anonymised record only by its internal id.")))
    return rows
