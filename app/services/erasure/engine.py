"""The erasure engine: delete or anonymise members, set-based, in the caller's transaction.

Before any row changes it sends ``signals.erasing`` (a receiver that raises refuses the
erasure), after the statements ``signals.erased``; it writes the ledger and the audit log.
"""


from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    Table,
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
# The model's constant, not a literal; no input reaches this text.
BATCH_TO_ANONYMISE = (
    "SELECT m.id, m.member_number FROM erasure_batch b JOIN members m ON m.id = b.id "  # noqa: S608 # nosec B608
    f"WHERE m.status <> '{ANONYMISED}' ORDER BY b.id"
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
