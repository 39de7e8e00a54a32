"""The residual scan: a member's identifiers, every text column searched for them, the files too."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import (
    Date,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
)

from app.extensions import db
from app.models import (
    Member,
)
from app.models.privacy import REQUESTER_FIELDS
from app.services import clock, fiscal, storage
from app.services.members import like_escape

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
    # A column under a vocabulary's CHECK constraint (models/base.py `one_of`) holds one of a few
    # fixed words, never typed text: a status, a kind, a source.
    fixed = {constraint.info["vocabulary_of"] for constraint in table.constraints
             if "vocabulary_of" in constraint.info}
    text_columns, birth_columns = [], []
    for column in table.columns:
        if column.name in SKIP_COLUMNS or column.name in fixed or column.info.get("scan") is False:
            continue  # hashes; fixed words; generated values
        if isinstance(column.type, Date) and "birth" in column.name:
            birth_columns.append(column)
        elif isinstance(column.type, Text) or (
            isinstance(column.type, String) and (column.type.length or 10_000) >= MIN_LENGTH
        ):
            text_columns.append(column)
    return text_columns, birth_columns


def _like(value: str) -> str:
    return f"%{like_escape(value)}%"


SCAN_CHUNK = 20_000  # primary keys (or distinct values) searched at a time
# Up to this many rows a table's text is read by primary-key ranges, all its columns in one pass;
# a bigger table (visits: 10 million rows, a handful of distinct locations) is read one column at a
# time as its distinct values, which the database collapses before they reach Python.
ROW_PASS_LIMIT = 2_000_000


@dataclass(frozen=True)
class _TablePlan:
    """What the scan reads of one table; it holds no value of a member, so it is built once per table."""

    table: object
    text_columns: tuple
    birth_columns: tuple
    pk: object
    row_text: object  # the row's text columns joined by a separator, as one SQL expression
    joined: object  # SELECT "key KEY_MARK row_text" of each row of a key range, joined by ROW_MARK (None: not an integer key)
    rows: object  # SELECT pk, row_text of a key range
    distinct: tuple = ()  # per text column, the SELECT of its distinct values (tables over ROW_PASS_LIMIT)


# The separators of the joined text: control characters that no identifier holds (NUL cannot be
# stored in PostgreSQL text, so there the columns are separated by \x01 instead).
KEY_MARK, ROW_MARK = "\x02", "\x03"


_PLANS: dict[tuple[str, str], _TablePlan] = {}


def _distinct_values(table, column):
    """The SELECT of a column's distinct non-NULL values.

    Where an index leads with the column, a loose index scan: a recursive query that seeks the
    smallest value greater than the last one, one index seek per distinct value (SQLite and
    PostgreSQL do not skip through an index for DISTINCT by themselves). 10 million visits hold a
    handful of locations: microseconds instead of reading every row.
    """
    if not any(list(index.columns)[0] is column for index in table.indexes):
        return select(column).distinct().where(column.is_not(None))
    values = select(func.min(column).label("value")).where(column.is_not(None)).cte("stepped", recursive=True)
    following = select(func.min(column)).where(column > values.c.value).scalar_subquery()
    values = values.union_all(select(following).where(values.c.value.is_not(None)))
    return select(values.c.value).where(values.c.value.is_not(None))


def _plan(table) -> _TablePlan:
    dialect = db.session.get_bind().dialect.name
    plan = _PLANS.get((dialect, table.name))
    if plan is not None and plan.table is table:
        return plan
    text_columns, birth_columns = _scannable_columns(table)
    pk = list(table.primary_key.columns)[0]
    row_text = joined = rows = None
    if text_columns:
        # NUL cannot be stored in PostgreSQL text: there the separator is \x01. No identifier holds either.
        separator = literal_column("char(0)") if dialect == "sqlite" else literal("\x01")
        row_text = func.coalesce(text_columns[0], "")
        for column in text_columns[1:]:
            row_text = row_text.concat(separator).concat(func.coalesce(column, ""))
        if isinstance(pk.type, Integer):
            in_range = pk.between(bindparam("low"), bindparam("high"))
            keyed_text = cast(pk, String).concat(literal(KEY_MARK)).concat(row_text)
            aggregate = (func.group_concat(keyed_text, literal(ROW_MARK)) if dialect == "sqlite"
                         else func.string_agg(keyed_text, literal(ROW_MARK)))
            joined = select(func.count(), aggregate).where(in_range)
            rows = select(pk, row_text).where(in_range)
    distinct = tuple(_distinct_values(table, column) for column in text_columns)
    plan = _TablePlan(table, tuple(text_columns), tuple(birth_columns), pk, row_text, joined, rows, distinct)
    _PLANS[(dialect, table.name)] = plan
    return plan


def _key_ranges(plans) -> dict[str, tuple[int, int] | None]:
    """The lowest and highest integer primary key of each table (None: empty), all in one statement."""
    keyed = [plan for plan in plans if plan.joined is not None]
    if not keyed:
        return {}
    row = db.session.execute(select(*(
        select(bound(plan.pk)).scalar_subquery() for plan in keyed for bound in (func.min, func.max)))).one()
    return {plan.table.name: None if row[2 * i] is None else (row[2 * i], row[2 * i + 1])
            for i, plan in enumerate(keyed)}


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


# str.lower() of each Latin-1 character, as a table of bytes: each of the 256 lower-cases to one
# Latin-1 character (tests/privacy/test_residual_scan_modes.py holds the table to str.lower).
_LATIN1_LOWER = bytes(ord(chr(code).lower()) for code in range(256))


def _as_str(value: str) -> str:
    return value


def _as_latin1(value: str) -> bytes | None:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return None  # a character outside Latin-1: it cannot occur in a text that is all Latin-1


def _lowered(text: str):
    """The text lower-cased as str.lower() does, and the function that spells a value the same way.

    ASCII text takes str.lower's own fast path. Other text that is all Latin-1 (Dutch, German and
    French accents) is lower-cased through the byte table, about four times as fast as str.lower
    on accented text (which was 0.4 s of the scan of a chain's 800,000 invoices); the haystack and
    the values are then Latin-1 bytes. Anything else goes through str.lower.
    """
    if not text.isascii():
        try:
            return text.encode("latin-1").translate(_LATIN1_LOWER), _as_latin1
        except UnicodeEncodeError:
            pass
    return text.lower(), _as_str


ANCHOR_LENGTH = 4  # a shared part shorter than this occurs almost everywhere: not worth a search


def _anchor(spellings) -> str | None:
    """The longest text every spelling of one identifier holds ("58968004" of "+31 6 58968004" and
    "0658968004"), or None when they share less than ANCHOR_LENGTH characters or there is one spelling."""
    if len(spellings) < 2:
        return None
    shortest = min(spellings, key=len)
    for size in range(len(shortest), ANCHOR_LENGTH - 1, -1):
        for start in range(len(shortest) - size + 1):
            part = shortest[start:start + size]
            if all(part in spelling for spelling in spellings):
                return part
    return None


def _occurring(groups, haystack, spell) -> set[str]:
    """The values that occur in the (lower-cased) haystack; `groups` is (anchor, values) per kind.

    Where a kind's anchor is absent, so is each of its spellings, and they are not searched for
    (a chain's invoices hold almost none of them: the five spellings of a phone number cost one search).
    """
    here = set()
    for anchor, values in groups:
        if anchor is not None:
            needle = spell(anchor)
            if needle is None or needle not in haystack:
                continue
        for value in values:
            needle = spell(value)
            if needle is not None and (value == anchor or needle in haystack):
                here.add(value)
    return here


def _candidates(plan: _TablePlan, keys: tuple[int, int] | None, groups) -> tuple[set[str], list | None]:
    """Which values occur in the table's text columns, and (for tables read by key ranges) in which rows.

    `groups` holds the values per kind, each with its anchor (`_anchor`).

    Returns (values found, primary keys of the rows holding one, or None when the table was read
    by distinct values: then the row query looks for the found values with LIKE). Each range of
    SCAN_CHUNK keys comes back from the database as one joined string, lower-cased and searched
    with Python's substring search; only a range that holds a value is read again row by row.
    A LIKE per value per column per row (what verify ran before) took 120 s over 10 million visits;
    a Python string per row, 4 s over the 832,000 invoices of a chain.
    """
    found: set[str] = set()
    values = {value for _anchor_text, kind_values in groups for value in kind_values}
    if not values or not plan.text_columns:
        return found, []
    if plan.joined is None:  # a key that is not an integer (small tables of settings): row by row
        rows_found = []
        for rows in _driver_chunks(select(plan.pk, plan.row_text)):
            for key, text in rows:
                lowered = text.lower()
                here = {value for value in values if value in lowered}
                if here:
                    found |= here
                    rows_found.append(key)
        return found, rows_found
    if keys is None:
        return found, []  # an empty table
    if keys[1] > ROW_PASS_LIMIT:
        for statement in plan.distinct:
            for rows in _driver_chunks(statement):
                haystack = "\x00".join(str(row[0]) for row in rows).lower()
                found.update(value for value in values if value in haystack)
        return found, None
    rows_found = []
    connection = db.session.connection()
    for low in range(keys[0], keys[1] + 1, SCAN_CHUNK):
        bounds = {"low": low, "high": low + SCAN_CHUNK - 1}
        count, joined = connection.execute(plan.joined, bounds).one()
        haystack, spell = _lowered(joined or "")
        here = _occurring(groups, haystack, spell)
        if not here:
            continue
        found |= here
        key_mark, row_mark = spell(KEY_MARK), spell(ROW_MARK)
        if haystack.count(key_mark) == count and haystack.count(row_mark) == count - 1:
            # Each occurrence's row: the key after the ROW_MARK before it (the marks are only ours).
            row_keys = set()
            for value in here:
                needle = spell(value)
                start = haystack.find(needle)
                while start >= 0:
                    row_start = haystack.rfind(row_mark, 0, start) + 1
                    row_keys.add(int(haystack[row_start:haystack.index(key_mark, row_start)]))
                    start = haystack.find(needle, start + 1)
            rows_found.extend(sorted(row_keys))
            continue
        for key, text in connection.execute(plan.rows, bounds):  # a mark typed into a text: row by row
            lowered = text.lower()
            if any(value in lowered for value in here):
                rows_found.append(key)
    return found, rows_found


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
    groups: list = field(init=False)  # (anchor, values) per kind

    def __post_init__(self):
        kinds: dict[str, list[str]] = {}
        for kind, value in self.patterns:
            kinds.setdefault(kind, []).append(value)
        self.groups = [(_anchor(values), tuple(values)) for values in kinds.values()]

    def query(self, plan: _TablePlan, keys: tuple[int, int] | None):
        """The SELECT of the table's rows that may hold an identifier, or None when nothing can match."""
        table, pk, text_columns, birth_columns = plan.table, plan.pk, plan.text_columns, plan.birth_columns
        # Only the (column, value) pairs that occur in the column at all go into the row query:
        # the row-by-row LIKE of every value was 120 s over 10 million visits.
        present, rows_found = _candidates(plan, keys, self.groups)
        if rows_found is None:
            conditions = [func.lower(col).like(_like(value), escape="\\")
                          for col in text_columns for _, value in self.patterns if value in present]
        else:
            conditions = [pk.in_(rows_found)] if rows_found else []
        if self.dob is not None and self.member_id is not None and table.name == "members":
            # A date of birth is shared with others born that day: only the member's own row counts.
            conditions.extend(and_(col == self.dob, table.c.id == self.member_id) for col in birth_columns)
        if not conditions:
            return None
        selected = {col.name for col in (*text_columns, *birth_columns)}
        extra = [table.c[c] for c in ("member_id", "issued_on", "status", "reference", "letter_produced_at")
                 if c in table.c and c not in selected]
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
        """failure, kept_by_law (a detached invoice the law keeps, with its date), until_letter, or with_letter
        (the address a made letter is to be e-mailed to, with the day the sweep removes it at the latest)."""
        if (table.name == "invoices" and row.get("member_id") is None and row.get("issued_on")
                and fiscal.is_kept(row["issued_on"], row.get("status"), self.today)):
            return "kept_by_law", fiscal.kept_until(row["issued_on"]).isoformat()
        if table.name == "data_requests" and column_name == "letter_email" and row.get("letter_produced_at"):
            from app.services import privacy_requests

            goes = row["letter_produced_at"] + timedelta(days=privacy_requests._keep_days())
            return "with_letter", goes.date().isoformat()
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
    # The club's own lists (the plan catalogue) are left out: no member data can be typed into them.
    plans = [plan for plan in (_plan(table) for table in db.metadata.sorted_tables if not table.info.get("catalogue"))
             if plan.text_columns or plan.birth_columns]
    key_ranges = _key_ranges(plans)
    tables_scanned = columns_scanned = 0
    for plan in plans:
        table, text_columns, birth_columns = plan.table, plan.text_columns, plan.birth_columns
        tables_scanned += 1
        columns_scanned += len(text_columns) + len(birth_columns)
        query = scan.query(plan, key_ranges.get(table.name))
        if query is None:
            continue
        pk_name = plan.pk.name
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
        "with_letter": sum(1 for hit in hits if hit["status"] == "with_letter"),
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
    if storage.database_path() is None:
        return {"scanned": False, "files": [], "failures": 0, "explained": 0, "shared": 0, "ok": True}
    lawful = (row_report or {}).get("_lawful_values", {})
    kinds = {value: kind for kind, values in patterns.items() for value in values}
    results = storage.scan_files(patterns)  # the database, its side files and every SQLite file in instance/
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
