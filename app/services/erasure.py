"""The erasure engine: delete or anonymise members, set-based, in the caller's transaction.

Used by the erasure wizard (one member), the retention sweep (thousands at once) and
`privacy reapply-erasures`. Every statement works on chunks of member ids, so erasing
100,000 members costs a few hundred SQL statements, not a loop over ORM objects. Nothing
is committed here: the caller commits once, so a failure anywhere leaves every row as it was.

What happens per table (the preview shows the same rules to staff before anything runs):
- consents, health notes, staff notes, lifted legal holds: deleted (both methods);
- visits and subscriptions: deleted, or kept as statistics on the anonymised row;
- invoices: what services/fiscal.py says the law keeps (the retention period after the end of
  the book year, and open ones) is detached from the member with its billing copy; the rest goes;
- data requests: the register row stays (reference, kind, dates), requester details removed;
- the member row: deleted, or every personal field cleared and search_text emptied.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    case,
    delete,
    func,
    or_,
    select,
    update,
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
from app.models.member import ANONYMISED
from app.models.privacy import REQUESTER_FIELDS
from app.services import audit, clock, fiscal, holds, ledger, signals, storage
from app.services.errors import DomainError
from app.services.ledger import members_back  # noqa: F401  (its home is the ledger; importable here as before)
from app.services.members import like_escape

CHUNK = 500
METHODS = ("delete", "anonymise")


class ErasureError(DomainError):
    """An erasure that must not run; the message is safe to show to staff."""


class LegalHoldError(ErasureError):
    """One or more members have an active legal hold: nothing was erased."""

    def __init__(self, member_numbers):
        self.member_numbers = sorted(member_numbers)
        super().__init__(f"active legal hold on member(s) {', '.join(map(str, self.member_numbers))}")


def _chunks(values, size: int = CHUNK):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- the core ------------------------------------------------------------------------------

ANONYMISED_VALUES = {
    "first_name": "",
    "infix": None,
    "last_name": "",
    "date_of_birth": None,
    "gender": None,
    "email": None,
    "phone": None,
    "street": None,
    "house_number": None,
    "postcode": None,
    "city": None,
    "iban": None,
    "search_text": "",
    "processing_restricted": False,
    "restricted_since": None,
}

# Tables the engine handles by name; any other table pointing at members is handled by its
# foreign key rule (deleted with the member when it cascades, unlinked when it sets NULL).
HANDLED = {"members", "consents", "health_notes", "staff_notes", "visits", "subscriptions",
           "invoices", "data_requests", "legal_holds"}


def _other_member_references():
    """(table, column, ondelete) for foreign keys to members.id in tables not handled by name."""
    found = []
    for table in db.metadata.sorted_tables:
        if table.name in HANDLED:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "members":
                found.append((table, fk.parent, (fk.ondelete or "").upper()))
    return found


# The ids of one erasure batch, in a temporary table of the connection: every statement then
# joins against it, so 100,000 members cost a dozen statements and no huge parameter lists.
BATCH = Table("erasure_batch", MetaData(), Column("id", Integer, primary_key=True))


def _stage(ids) -> None:
    connection = db.session.connection()
    connection.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS erasure_batch (id INTEGER PRIMARY KEY)")
    connection.exec_driver_sql("DELETE FROM erasure_batch")
    postgres = connection.dialect.name == "postgresql"
    for chunk in _chunks(ids, 50_000 if postgres else 10_000):
        if postgres:  # one statement per chunk: the ids travel as one array
            connection.exec_driver_sql("INSERT INTO erasure_batch (id) SELECT unnest(%s::integer[])", (chunk,))
        else:
            connection.exec_driver_sql("INSERT INTO erasure_batch (id) VALUES (?)", [(i,) for i in chunk])
    if postgres:  # temporary tables have no statistics until asked: let the planner see the size
        connection.exec_driver_sql("ANALYZE erasure_batch")


BATCH_MEMBERS = "SELECT m.id, m.member_number FROM erasure_batch b JOIN members m ON m.id = b.id ORDER BY b.id"
BATCH_TO_ANONYMISE = (
    "SELECT m.id, m.member_number FROM erasure_batch b JOIN members m ON m.id = b.id "
    "WHERE m.status <> 'anonymised' ORDER BY b.id"
)


def _driver_rows(sql: str) -> list[tuple]:
    """Run a parameterless SELECT on the session's own DBAPI connection (same transaction): plain tuples."""
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        cursor.close()


def _batch_ids():
    return select(BATCH.c.id)


def erase_members(member_ids, method: str, actor, *, source: str, request_reference: str | None = None,
                  _ignore_holds: bool = False) -> int:
    """Delete or anonymise members by id, set-based; writes the ledger; flushes, never commits.

    Refuses the whole batch (LegalHoldError) when any member has an active legal hold.
    Members already anonymised are left alone by a second anonymisation (harmless twice).
    Returns how many members were erased.
    """
    if method not in METHODS:
        raise ErasureError(f"unknown erasure method {method!r}")
    ids = {int(i) for i in member_ids}
    if not ids:
        return 0
    db.session.flush()
    now = clock.utcnow()
    today = clock.today()

    _stage(sorted(ids))
    # Plain tuples from the driver, already-anonymised members left out by SQL: the sweep
    # reads 25,000 members per batch here, and Row objects would cost more than the update.
    rows = _driver_rows(BATCH_TO_ANONYMISE if method == "anonymise" else BATCH_MEMBERS)
    if not rows:
        return 0
    if len(rows) != len(ids):
        _stage([member_id for member_id, _number in rows])
    if not _ignore_holds:
        held = holds.held_member_numbers(_batch_ids())
        if held:
            raise LegalHoldError(set(held))

    member_ids = [member_id for member_id, _number in rows]
    numbers = [number for _member_id, number in rows]
    signals.erasing.send(None, member_ids=member_ids, method=method, source=source)
    others = _other_member_references()
    _erase_batch(method, now, fiscal.kept_clause(today), request_reference, others)
    # The commit then checkpoints SQLite's WAL or vacuums these tables on PostgreSQL.
    storage.touched(HANDLED | {table.name for table, _column, _ondelete in others})
    signals.erased.send(None, member_ids=member_ids, method=method, source=source)
    db.session.connection().execute(BATCH.delete())

    ledger.record(numbers, method, source=source, request_reference=request_reference, erased_at=now)
    audit.record(
        "privacy.erasure", actor,
        target_type="member" if len(numbers) == 1 else "members",
        target_id=member_ids[0] if len(member_ids) == 1 else None,
        member_number=numbers[0] if len(numbers) == 1 else None,
        details={"method": method, "count": len(numbers), "source": source, "request": request_reference},
    )
    # The identity map may still hold the erased objects; make the ORM reread them.
    db.session.expire_all()
    return len(numbers)


def _erase_batch(method, now, kept_invoices, request_reference, others) -> None:
    def execute(statement):
        # The session is expired afterwards, so the ORM need not track the rows it changes.
        return db.session.execute(statement, execution_options={"synchronize_session": False})

    batch = _batch_ids()
    # Invoices: the law keeps some (detached, with their billing copy); the rest go.
    execute(update(Invoice).where(Invoice.member_id.in_(batch), kept_invoices).values(member_id=None))
    execute(delete(Invoice).where(Invoice.member_id.in_(batch)))
    # Data requests: the register keeps the request, without the requester's details.
    minimise = {**dict.fromkeys(REQUESTER_FIELDS), "member_id": None}
    others_filter = DataRequest.member_id.in_(batch)
    if request_reference:
        others_filter = and_(others_filter, DataRequest.reference != request_reference)
        execute(update(DataRequest).where(DataRequest.member_id.in_(batch),
                                          DataRequest.reference == request_reference)
                .values(member_id=None))
    execute(update(DataRequest).where(others_filter, DataRequest.minimised_at.is_(None))
            .values(minimised_at=now))
    execute(update(DataRequest).where(others_filter).values(**minimise))
    for model in (Consent, HealthNote, StaffNote, LegalHold):
        execute(delete(model).where(model.member_id.in_(batch)))
    if method == "delete":
        for model in (Visit, Subscription):
            execute(delete(model).where(model.member_id.in_(batch)))
        for table, column, ondelete in others:
            if ondelete == "CASCADE" or not column.nullable:
                execute(table.delete().where(column.in_(batch)))
            else:
                execute(table.update().where(column.in_(batch)).values({column.name: None}))
        execute(delete(Member).where(Member.id.in_(batch)))
    else:
        # The subscriptions stay as figures (which plan, when, how long) and end now: an
        # anonymised person has no running contract. Nothing on them was typed about the person.
        today = clock.today()
        execute(update(Subscription).where(Subscription.member_id.in_(batch), Subscription.status == "active").values(
            status="ended",
            ends_on=case((and_(Subscription.ends_on.is_not(None), Subscription.ends_on < today), Subscription.ends_on),
                         (Subscription.starts_on > today, Subscription.starts_on), else_=today),
        ))
        execute(update(Member).where(Member.id.in_(batch)).values(
            **ANONYMISED_VALUES, status=ANONYMISED, anonymised_at=now, updated_at=now,
        ))


def erase_member(member: Member, method: str, actor, *, request_reference: str | None = None,
                 source: str = "wizard") -> int:
    """Erase one member (the wizard's path): the same core, plus unlinked requests naming them."""
    number = member.member_number
    email = (member.email or "").strip().lower()
    conditions = [DataRequest.requester_member_number == str(number)]
    if email:
        conditions.append(func.lower(DataRequest.requester_email) == email)
    unlinked = select(DataRequest.id).where(DataRequest.member_id.is_(None), or_(*conditions))
    if request_reference:
        unlinked = unlinked.where(DataRequest.reference != request_reference)
    stray = list(db.session.scalars(unlinked))
    count = erase_members([member.id], method, actor, source=source, request_reference=request_reference)
    if count and stray:
        now = clock.utcnow()
        db.session.execute(update(DataRequest).where(DataRequest.id.in_(stray)).values(
            **dict.fromkeys(REQUESTER_FIELDS), minimised_at=func.coalesce(DataRequest.minimised_at, now),
        ))
    return count


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
            rows.append(PreviewRow(table.name, table.name, delete=n) if ondelete == "CASCADE" or not column.nullable
                        else PreviewRow(table.name, table.name, anonymise=n, why=_l("Unlinked from the member.")))
        else:
            rows.append(PreviewRow(table.name, table.name, keep=n,
                                   why=_l("Linked to the anonymised record only by its internal id.")))
    return rows


# --- identifiers and the residual-PII scan -----------------------------------------------

IDENTIFIER_KINDS = ("name", "email", "phone", "address", "iban", "date_of_birth")
SKIP_COLUMNS = {"password_hash", "totp_secret", "member_key", "prev_hash", "entry_hash", "hash"}
MIN_LENGTH = 8


class Identifiers(Mapping):
    """A member's identifiers per kind (lower-case spellings), plus what the scan needs beside them.

    It reads as the mapping kind -> values (the file scan and the reports use only that); the
    date of birth and the member's id (the date is matched in the member's own row only) are
    fields, never values of the mapping. Held in memory only: it is personal data.
    """

    def __init__(self, values: dict[str, list[str]], *, date_of_birth: date | None = None,
                 member_id: int | None = None):
        self.values_by_kind = values
        self.date_of_birth = date_of_birth
        self.member_id = member_id

    def __getitem__(self, kind: str) -> list[str]:
        return self.values_by_kind[kind]

    def __iter__(self):
        return iter(self.values_by_kind)

    def __len__(self) -> int:
        return len(self.values_by_kind)

    def __repr__(self) -> str:  # never the values: a repr can reach a log
        return f"<Identifiers kinds={sorted(self.values_by_kind)} member_id={self.member_id}>"


def identifiers_of(member: Member) -> Identifiers:
    """The member's identifiers, lower-case, in the spellings they are likely stored in.

    Capture these BEFORE erasing: afterwards there is nothing left to read them from.
    """
    ids: dict[str, set[str]] = {kind: set() for kind in IDENTIFIER_KINDS}

    def add(kind, value):
        value = (value or "").strip().lower()
        if len(value) >= 4:
            ids[kind].add(value)

    from app.services.members import fold

    for name in (member.full_name, member.sort_name, f"{member.first_name} {member.last_name}",
                 f"{member.infix} {member.last_name}" if member.infix else ""):  # "ter Quastenbroek" tells too
        add("name", name)
        add("name", fold(name))  # the folded search text ("jorg" for "Jörg")
    add("email", member.email)
    if member.phone:
        add("phone", member.phone)
        compact = re.sub(r"[\s\-()./]", "", member.phone)
        add("phone", compact)
        add("phone", re.sub(r"\D", "", member.phone))  # digits only: 31612345678
        if compact.startswith("+31"):  # the Dutch national spellings: 0698765432, 06-98765432
            national = "0" + compact[3:]
            add("phone", national)
            add("phone", f"{national[:2]}-{national[2:]}")
    if member.street:
        add("address", f"{member.street} {member.house_number or ''}".strip())
        add("address", fold(f"{member.street} {member.house_number or ''}".strip()))
    if member.iban:
        compact = member.iban.replace(" ", "")
        add("iban", member.iban)
        add("iban", compact)
        add("iban", " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)))
    if member.date_of_birth:
        dob = member.date_of_birth
        add("date_of_birth", dob.isoformat())
        add("date_of_birth", dob.strftime("%d-%m-%Y"))
        add("date_of_birth", dob.strftime("%d/%m/%Y"))
    return Identifiers({kind: sorted(values) for kind, values in ids.items() if values},
                       date_of_birth=member.date_of_birth, member_id=member.id)


def _scannable_columns(table):
    text_columns, birth_columns = [], []
    for column in table.columns:
        if column.name in SKIP_COLUMNS:
            continue
        if isinstance(column.type, Date) and "birth" in column.name:
            birth_columns.append(column)
        elif isinstance(column.type, Text) or (
            isinstance(column.type, String) and (column.type.length or 10_000) >= MIN_LENGTH
        ):
            text_columns.append(column)
    return text_columns, birth_columns


def _like(value: str) -> str:
    return f"%{like_escape(value)}%"


@dataclass
class _Scan:
    """One residual scan: what it looks for, and what it found so far."""

    patterns: list[tuple[str, str]]  # (kind, value)
    dob: date | None
    member_id: int | None
    request_reference: str | None
    today: date
    hits: list = field(default_factory=list)
    lawful: dict = field(default_factory=dict)  # value -> copies in lawful rows (in memory, for the file scan)

    def query(self, table, text_columns, birth_columns):
        """The SELECT of the table's rows that may hold an identifier, or None when nothing can match."""
        conditions = [func.lower(col).like(_like(value), escape="\\") for col in text_columns for _, value in self.patterns]
        if self.dob is not None and self.member_id is not None and table.name == "members":
            # A date of birth is shared with others born that day: only the member's own row counts.
            conditions.extend(and_(col == self.dob, table.c.id == self.member_id) for col in birth_columns)
        if not conditions:
            return None
        selected = {col.name for col in (*text_columns, *birth_columns)}
        extra = [table.c[c] for c in ("member_id", "issued_on", "status", "reference") if c in table.c and c not in selected]
        pk = list(table.primary_key.columns)[0]
        return select(pk, *text_columns, *birth_columns, *extra).where(or_(*conditions))

    def row_hits(self, table, row, pk_name, text_columns, birth_columns) -> set[tuple[str, str]]:
        """(column, kind) for each identifier found in the row."""
        found = set()
        for col in text_columns:
            content = row[col.name].lower() if isinstance(row[col.name], str) else ""
            found.update((col.name, kind) for kind, value in self.patterns if value in content)
        own_row = table.name == "members" and self.member_id is not None and row[pk_name] == self.member_id
        for col in birth_columns:
            if self.dob is not None and row[col.name] == self.dob and (found or own_row):
                found.add((col.name, "date_of_birth"))
        return found

    def status_of(self, table, row, column_name) -> tuple[str, str | None]:
        """failure, kept_by_law (a detached invoice the law keeps, with its date) or until_letter."""
        if (table.name == "invoices" and row.get("member_id") is None and row.get("issued_on")
                and fiscal.is_kept(row["issued_on"], row.get("status"), self.today)):
            return "kept_by_law", fiscal.kept_until(row["issued_on"]).isoformat()
        if (table.name == "data_requests" and self.request_reference
                and row.get("reference") == self.request_reference and column_name in REQUESTER_FIELDS):
            return "until_letter", None
        return "failure", None

    def add(self, table, row, pk_name, column_name, kind) -> None:
        status, until = self.status_of(table, row, column_name)
        self.hits.append({"table": table.name, "column": column_name, "row_id": str(row[pk_name]), "kind": kind,
                          "status": status, "until": until})
        if status != "failure" and isinstance(row.get(column_name), str):
            content = row[column_name].lower()
            for _kind, value in self.patterns:
                if value in content:
                    self.lawful[value] = self.lawful.get(value, 0) + content.count(value)


def verify(identifiers: Mapping, *, request_reference: str | None = None) -> dict:
    """Scan every text column of every table for the identifiers; the report names no value.

    Hits in invoices detached and kept by law (services/fiscal.py: under the retention period,
    or open) are 'kept_by_law' (with the date they expire); hits in the handled request's own
    requester fields are 'until_letter' (removed when the confirmation letter is made); any
    other hit is a 'failure'.
    """
    scan = _Scan(patterns=[(kind, value) for kind in IDENTIFIER_KINDS for value in identifiers.get(kind, [])],
                 dob=getattr(identifiers, "date_of_birth", None), member_id=getattr(identifiers, "member_id", None),
                 request_reference=request_reference, today=clock.today())
    tables_scanned = columns_scanned = 0
    for table in db.metadata.sorted_tables:
        if table.info.get("catalogue"):
            continue  # the club's own lists (the plan catalogue): no member data can be typed into them
        text_columns, birth_columns = _scannable_columns(table)
        if not text_columns and not birth_columns:
            continue
        tables_scanned += 1
        columns_scanned += len(text_columns) + len(birth_columns)
        query = scan.query(table, text_columns, birth_columns)
        if query is None:
            continue
        pk_name = list(table.primary_key.columns)[0].name
        for row in db.session.execute(query).mappings():
            for column_name, kind in sorted(scan.row_hits(table, row, pk_name, text_columns, birth_columns)):
                scan.add(table, row, pk_name, column_name, kind)
    hits = scan.hits
    failures = sum(1 for hit in hits if hit["status"] == "failure")
    return {
        "checked_at": clock.utcnow().isoformat(timespec="seconds"),
        "tables_scanned": tables_scanned,
        "columns_scanned": columns_scanned,
        "identifier_kinds": sorted(k for k in identifiers if not k.startswith("_")),
        "hits": hits,
        "failures": failures,
        "kept_by_law": sum(1 for hit in hits if hit["status"] == "kept_by_law"),
        "until_letter": sum(1 for hit in hits if hit["status"] == "until_letter"),
        "ok": failures == 0,
        "_lawful_values": scan.lawful,
    }


# In the files, a kind counts as a failure unless the rows hold a lawful copy of that kind (an
# invoice kept by law carries the billing name and address). A date of birth is shared with
# other members born that day, so its hits in the files are reported, never blamed on this member.
FILE_SHARED_KINDS = {"date_of_birth"}


def verify_files(identifiers: dict[str, list[str]], row_report: dict | None = None) -> dict:
    """Scan the raw bytes of the SQLite files for the identifiers (after the commit and checkpoint).

    On PostgreSQL the portal cannot read the server's files: the result says so (`scanned: False`).
    """
    patterns = {kind: values for kind, values in identifiers.items() if not kind.startswith("_")}
    files = storage.sqlite_files()
    if storage.database_path() is None:
        return {"scanned": False, "files": [], "failures": 0, "explained": 0, "shared": 0, "ok": True}
    lawful = (row_report or {}).get("_lawful_values", {})
    kinds = {value: kind for kind, values in patterns.items() for value in values}
    results = storage.scan_files(patterns, files)
    failures = explained = shared = 0
    shown = []
    for result in results:
        for value, count in result["values"].items():
            if kinds[value] in FILE_SHARED_KINDS:
                shared += count
            elif lawful.get(value):  # the same value in a row the law keeps (its table and indexes)
                explained += count
            else:
                failures += count
        shown.append({"file": result["file"], "bytes": result["bytes"], "hits": dict(sorted(result["hits"].items()))})
    return {"scanned": True, "checked_at": clock.utcnow().isoformat(timespec="seconds"), "files": shown,
            "failures": failures, "explained": explained, "shared": shared, "ok": failures == 0}


def report_json(report: dict) -> str:
    """The report as stored: keys starting with '_' hold values and stay in memory."""
    return json.dumps({key: value for key, value in report.items() if not key.startswith("_")}, sort_keys=True)


# --- the ledger applied again after a restore ---------------------------------------------

@dataclass
class ReapplyResult:
    file_entries: int = 0
    table_rows_restored: int = 0
    chain_problems: list = field(default_factory=list)
    found: list = field(default_factory=list)  # (member id, member number, method, reference)
    erased: int = 0
    identifiers: dict = field(default_factory=dict)  # kind -> values of the members erased again (in memory only)


def identifiers_of_many(member_ids) -> dict[str, list[str]]:
    """The identifiers of many members merged per kind (for one file scan after a reapply or restore)."""
    merged: dict[str, set[str]] = {}
    for chunk in _chunks(member_ids):
        for member in db.session.scalars(select(Member).where(Member.id.in_(chunk))):
            for kind, values in identifiers_of(member).items():
                if not kind.startswith("_"):
                    merged.setdefault(kind, set()).update(values)
    return {kind: sorted(values) for kind, values in merged.items()}


def reapply(actor, *, dry_run: bool = False) -> ReapplyResult:
    """After a restore: put lost ledger rows back and erase the members that came back, the same way."""
    if not dry_run:
        ledger.lock()  # two hosts re-applying at once would only queue behind each other
    health = ledger.check(ledger.read_file())
    missing = health.missing
    result = ReapplyResult(file_entries=len(health.entries), chain_problems=health.chain_problems,
                           table_rows_restored=len(missing), found=health.back)
    if dry_run:
        return result
    if missing:
        ledger.restore_table_rows(missing)
    groups: dict[tuple[str, str | None], list[int]] = {}
    for member_id, _number, method, reference in result.found:
        groups.setdefault((method, reference), []).append(member_id)
    result.identifiers = identifiers_of_many([member_id for member_id, *_rest in result.found])
    for (method, reference), ids in sorted(groups.items(), key=lambda item: (item[0][0], item[0][1] or "")):
        result.erased += erase_members(ids, method, actor, source="reapply", request_reference=reference,
                                       _ignore_holds=True)
    audit.record("privacy.reapply_erasures", actor, details={
        "restored_ledger_rows": result.table_rows_restored, "erased": result.erased,
    })
    return result
