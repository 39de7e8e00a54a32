"""The erasure engine: delete or anonymise members, set-based, in the caller's transaction.

Used by the erasure wizard (one member), the retention sweep (thousands at once) and
`privacy reapply-erasures`. Every statement works on chunks of member ids, so erasing
100,000 members costs a few hundred SQL statements, not a loop over ORM objects. Nothing
is committed here: the caller commits once, so a failure anywhere leaves every row as it was.

What happens per table (the preview shows the same rules to staff before anything runs):
- consents, health notes, staff notes, lifted legal holds: deleted (both methods);
- visits and subscriptions: deleted, or kept as statistics on the anonymised row;
- invoices: kept by law (fiscal retention, 7 years from the end of the book year, and open
  ones) detached from the member with their billing copy; older ones deleted;
- data requests: the register row stays (reference, kind, dates), requester details removed;
- the member row: deleted, or every personal field cleared and search_text emptied.
"""

import json
import re
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
    literal,
    literal_column,
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
from app.services import audit, clock, fiscal, ledger, signals, storage
from app.services.errors import DomainError

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


# --- fiscal retention ------------------------------------------------------------------

def _kept_invoice_clause(today: date):
    """Invoices the law keeps: under fiscal retention, or still open (a claim)."""
    return or_(Invoice.issued_on >= fiscal.oldest_kept_issue_date(today), Invoice.status == "open")


# --- legal holds --------------------------------------------------------------------------

def held_member_ids(member_ids) -> set[int]:
    """The ids among member_ids that have an active legal hold (for callers that filter first)."""
    held: set[int] = set()
    for chunk in _chunks(member_ids):
        held.update(db.session.scalars(
            select(LegalHold.member_id).where(LegalHold.member_id.in_(chunk), LegalHold.lifted_at.is_(None))
        ))
    return held


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
        held = list(db.session.scalars(
            select(Member.member_number).join(LegalHold, LegalHold.member_id == Member.id)
            .where(Member.id.in_(_batch_ids()), LegalHold.lifted_at.is_(None))
        ))
        if held:
            raise LegalHoldError(set(held))

    member_ids = [member_id for member_id, _number in rows]
    numbers = [number for _member_id, number in rows]
    signals.erasing.send(None, member_ids=member_ids, method=method, source=source)
    others = _other_member_references()
    _erase_batch(method, now, _kept_invoice_clause(today), request_reference, others)
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
    minimise = {
        "requester_name": None, "requester_email": None, "requester_date_of_birth": None,
        "requester_member_number": None, "message": None, "member_id": None,
    }
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
            **ANONYMISED_VALUES, status="anonymised", anonymised_at=now, updated_at=now,
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
            requester_name=None, requester_email=None, requester_date_of_birth=None,
            requester_member_number=None, message=None,
            minimised_at=func.coalesce(DataRequest.minimised_at, now),
        ))
    return count


# --- exceptions and preview ----------------------------------------------------------------

EXCEPTION_LABELS = {
    "open_invoices": _l("Open invoices: the club still has a claim."),
    "fiscal_retention": _l("Invoices under the fiscal retention period (7 years after the end of the book year)."),
    "active_subscription": _l("An active subscription: the contract still runs."),
    "legal_hold": _l("A recorded legal hold or dispute."),
}


def find_exceptions(member: Member) -> list[dict]:
    """What argues against erasing now: [{code, count, until}] (until: date or None)."""
    today = clock.today()
    found = []
    open_count = db.session.scalar(select(func.count()).select_from(Invoice).where(
        Invoice.member_id == member.id, Invoice.status == "open"))
    if open_count:
        found.append({"code": "open_invoices", "count": open_count, "until": None})
    retained = db.session.execute(select(func.count(), func.max(Invoice.issued_on)).where(
        Invoice.member_id == member.id, Invoice.issued_on >= fiscal.oldest_kept_issue_date(today))).one()
    if retained[0]:
        found.append({"code": "fiscal_retention", "count": retained[0], "until": fiscal.kept_until(retained[1])})
    active = db.session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.member_id == member.id, Subscription.status == "active",
        or_(Subscription.ends_on.is_(None), Subscription.ends_on >= today)))
    if active:
        found.append({"code": "active_subscription", "count": active, "until": None})
    holds = db.session.scalar(select(func.count()).select_from(LegalHold).where(
        LegalHold.member_id == member.id, LegalHold.lifted_at.is_(None)))
    if holds:
        found.append({"code": "legal_hold", "count": holds, "until": None})
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
    cutoff = fiscal.oldest_kept_issue_date(today)
    kept = [inv for inv in invoices if inv.issued_on >= cutoff or inv.status == "open"]
    gone = len(invoices) - len(kept)
    row = PreviewRow("invoices", _l("Invoices"), delete=gone, keep=len(kept))
    if kept:
        row.why = _l("Kept under the fiscal retention obligation, detached from the member, with the "
                         "billing name and address printed on them.")
        row.until = max(fiscal.kept_until(inv.issued_on) for inv in kept)
        row.details = [{"number": inv.number, "until": fiscal.kept_until(inv.issued_on), "open": inv.status == "open"}
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


def identifiers_of(member: Member) -> dict[str, list[str]]:
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
    result = {kind: sorted(values) for kind, values in ids.items() if values}
    if member.date_of_birth:
        result["_dob"] = [member.date_of_birth.isoformat()]
    result["_member_id"] = [str(member.id)]
    return result


def _scannable_columns(table):
    text_columns, birth_columns = [], []
    for column in table.columns:
        if column.name in SKIP_COLUMNS or column.info.get("scan") is False:  # hashes; generated or fixed values
            continue
        if isinstance(column.type, Date) and "birth" in column.name:
            birth_columns.append(column)
        elif isinstance(column.type, Text) or (
            isinstance(column.type, String) and (column.type.length or 10_000) >= MIN_LENGTH
        ):
            text_columns.append(column)
    return text_columns, birth_columns


SCAN_CHUNK = 20_000  # rows (or distinct values) joined and searched at a time
# Up to this many rows a table's text is read row by row, all its columns in one pass; a bigger
# table (visits: 10 million rows, a handful of distinct locations) is read one column at a time
# as its distinct values, which the database collapses before they reach Python.
ROW_PASS_LIMIT = 2_000_000


def _driver_chunks(statement):
    """The rows of a SELECT in chunks of plain tuples, on the session's connection (same transaction)."""
    dialect = db.session.get_bind().dialect
    if dialect.name == "sqlite":
        # The driver's cursor: no Row objects. The statement holds no value of the member (only
        # the separator constant), so it is compiled with its constants.
        sql = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        cursor = db.session.connection().connection.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(SCAN_CHUNK):
                yield rows
        finally:
            cursor.close()
        return
    result = db.session.connection().execute(statement.execution_options(yield_per=SCAN_CHUNK))
    try:
        for part in result.partitions():
            yield [tuple(row) for row in part]
    finally:
        result.close()


def _candidates(table, text_columns, patterns) -> tuple[set[str], list | None]:
    """Which values occur in the table's text columns, and (for tables read row by row) in which rows.

    Returns (values found, primary keys of the rows holding one, or None when the table was read
    by distinct values: then the row query looks for the found values with LIKE). The text is
    read in chunks, lower-cased and joined with NUL, and searched with Python's substring search;
    only a chunk that holds a value is looked at row by row. A LIKE per value per column per row
    (what verify ran before) took 120 s over 10 million visits.
    """
    values = {value for _kind, value in patterns}
    found: set[str] = set()
    if not values or not text_columns:
        return found, []
    pk = list(table.primary_key.columns)[0]
    size = db.session.scalar(select(func.max(pk))) if isinstance(pk.type, Integer) else None
    if size is not None and size > ROW_PASS_LIMIT:
        for column in text_columns:
            for rows in _driver_chunks(select(column).distinct().where(column.is_not(None))):
                haystack = "\x00".join(str(row[0]) for row in rows).lower()
                found.update(value for value in values if value in haystack)
        return found, None
    separator = literal_column("char(0)") if db.session.get_bind().dialect.name == "sqlite" else literal("\x01")
    row_text = func.coalesce(text_columns[0], "")
    for column in text_columns[1:]:
        row_text = row_text.concat(separator).concat(func.coalesce(column, ""))
    rows_found = []
    for rows in _driver_chunks(select(pk, row_text)):
        haystack = "\x00".join(row[1] for row in rows).lower()
        here = {value for value in values if value in haystack}
        if not here:
            continue
        found |= here
        for key, text in rows:
            lowered = text.lower()
            if any(value in lowered for value in here):
                rows_found.append(key)
    return found, rows_found


def _like(value: str) -> str:
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def verify(identifiers: dict[str, list[str]], *, request_reference: str | None = None) -> dict:
    """Scan every text column of every table for the identifiers; the report names no value.

    Hits in invoices detached and under fiscal retention are 'kept_by_law' (with the date
    they expire); hits in the handled request's own requester fields are 'until_letter'
    (removed when the confirmation letter is made); any other hit is a 'failure'.
    """
    today = clock.today()
    patterns = [(kind, value) for kind in IDENTIFIER_KINDS for value in identifiers.get(kind, [])]
    dob = date.fromisoformat(identifiers["_dob"][0]) if identifiers.get("_dob") else None
    member_id = int(identifiers["_member_id"][0]) if identifiers.get("_member_id") else None
    hits, tables_scanned, columns_scanned = [], 0, 0
    lawful: dict[str, int] = {}  # value -> copies in lawful rows; in memory only, for the file scan
    for table in db.metadata.sorted_tables:
        if table.info.get("catalogue"):
            continue  # the club's own lists (the plan catalogue): no member data can be typed into them
        text_columns, birth_columns = _scannable_columns(table)
        if not text_columns and not birth_columns:
            continue
        tables_scanned += 1
        columns_scanned += len(text_columns) + len(birth_columns)
        pk = list(table.primary_key.columns)[0]
        # Only the (column, value) pairs that occur in the column at all go into the row query:
        # the row-by-row LIKE of every value was 120 s over 10 million visits.
        present, rows_found = _candidates(table, text_columns, patterns)
        if rows_found is None:
            conditions = [func.lower(col).like(_like(value), escape="\\")
                          for col in text_columns for _, value in patterns if value in present]
        else:
            conditions = [pk.in_(rows_found)] if rows_found else []
        if dob is not None and birth_columns:
            if table.name == "members" and member_id is not None:
                conditions.extend(and_(col == dob, table.c.id == member_id) for col in birth_columns)
        if not conditions:
            continue
        extra = [table.c[c] for c in ("member_id", "issued_on", "reference") if c in table.c]
        query = select(pk, *text_columns, *birth_columns, *extra).where(or_(*conditions))
        for row in db.session.execute(query).mappings():
            row_hits = []
            for col in text_columns:
                content = (row[col.name] or "").lower() if isinstance(row[col.name], str) else ""
                for kind, value in patterns:
                    if value in content:
                        row_hits.append((col.name, kind))
            for col in birth_columns:
                if dob is not None and row[col.name] == dob and (row_hits or (
                        table.name == "members" and member_id is not None and row[pk.name] == member_id)):
                    row_hits.append((col.name, "date_of_birth"))
            for column_name, kind in sorted(set(row_hits)):
                hit = {"table": table.name, "column": column_name, "row_id": str(row[pk.name]), "kind": kind,
                       "status": "failure", "until": None}
                if table.name == "invoices" and row.get("member_id") is None and row.get("issued_on"):
                    expiry = fiscal.kept_until(row["issued_on"])
                    if expiry >= today:
                        hit["status"], hit["until"] = "kept_by_law", expiry.isoformat()
                elif (table.name == "data_requests" and request_reference
                      and row.get("reference") == request_reference
                      and (column_name.startswith("requester_") or column_name == "message")):
                    hit["status"] = "until_letter"
                hits.append(hit)
                if hit["status"] != "failure" and isinstance(row.get(column_name), str):
                    content = row[column_name].lower()
                    for _kind, value in patterns:
                        if value in content:
                            lawful[value] = lawful.get(value, 0) + content.count(value)
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
        "_lawful_values": lawful,
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


def members_back(entries=None) -> list[tuple[int, int, str, str | None]]:
    """Members whose keyed number is in the ledger file but who are present again.

    A member anonymised and found anonymised is not back; one deleted (or anonymised and now
    carrying personal data again) is. Returns (member id, member number, method, request reference).
    """
    entries = ledger.read_file() if entries is None else entries
    if not entries:
        return []
    methods: dict[str, tuple[str, str | None]] = {}
    for entry in entries:
        if methods.get(entry.member_key, ("",))[0] != "delete":
            methods[entry.member_key] = (entry.method, entry.request_reference)
    members = db.session.execute(select(Member.id, Member.member_number, Member.status)).all()
    keys = ledger.member_keys([number for _member_id, number, _status in members], ledger.ledger_key())
    found = []
    for (member_id, number, status), member_key in zip(members, keys, strict=True):
        method, reference = methods.get(member_key, (None, None))
        if method is None or (method == "anonymise" and status == "anonymised"):
            continue
        found.append((member_id, number, method, reference))
    return found


def reapply(actor, *, dry_run: bool = False) -> ReapplyResult:
    """After a restore: put lost ledger rows back and erase the members that came back, the same way."""
    if not dry_run:
        ledger.lock()  # two hosts re-applying at once would only queue behind each other
    entries = ledger.read_file()
    result = ReapplyResult(file_entries=len(entries), chain_problems=ledger.verify_chain(entries))
    missing = ledger.missing_table_rows(entries)
    result.table_rows_restored = len(missing)
    result.found = members_back(entries)
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
