"""The member search index on SQLite: an FTS5 trigram table beside `members`.

PostgreSQL searches `members.search_text` with its pg_trgm GIN index (migration
0010_members_search). SQLite has no such index: `LIKE '%term%'` reads every row. There the
search uses `members_fts`, an FTS5 table with the trigram tokenizer (migration 0085_i18_a):

- two columns, `name` (names and member number: the part of search_text before the
  separator) and `contact` (email, postcode, city), so a user without `members.contact`
  matches on the name column only;
- contentless (`content=''`): the table keeps trigrams and row ids, never a second copy of
  the text, so the only copy of a name stays in `members`;
- kept up to date by triggers on `members` (insert, update of search_text, delete), so it
  changes in the same transaction as the member row, whatever statement changed it (the ORM,
  the erasure engine's set-based UPDATE, the demo loader's Core inserts);
- FTS5 marks deleted rows and drops their terms only when segments are merged. SQLite 3.40
  has no `secure-delete` option for FTS5, so after an erasure (`signals.erased`) the index
  is merged into one segment (`optimize`) inside the erasure's transaction: no trigram of the
  erased member remains (tests/members/test_search_fts.py proves it with an `fts5vocab` table).

Terms shorter than three characters have no trigram; those fall back to LIKE on search_text.
"""

from sqlalchemy import column, literal_column, select, table, text

from app.extensions import db
from app.services import signals

FTS_TABLE = "members_fts"
# FTS5 keeps its data in ordinary tables named after the virtual table.
_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
MIN_TERM = 3  # the trigram tokenizer finds nothing for shorter phrases

_fts = table(FTS_TABLE, column("rowid"))


def derived_tables() -> frozenset[str]:
    """Tables in the database that are not models: the FTS table and its shadow tables.

    They are built by the migration and maintained by triggers; the schema comparison of the
    migrations with the models (`flask db migrate`, tests/test_foundation.py) leaves them out.
    """
    return frozenset({FTS_TABLE, *(FTS_TABLE + suffix for suffix in _SHADOW_SUFFIXES)})


def include_name(name, type_, parent_names) -> bool:
    """Alembic's `include_name` hook: compare every table except the derived ones."""
    return not (type_ == "table" and name in derived_tables())


def in_use(session=None) -> bool:
    """True on SQLite (the FTS table exists from migration 0085_i18_a on)."""
    session = session or db.session
    return session.get_bind().dialect.name == "sqlite"


def _phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def match_expression(terms: list[str], *, names_only: bool) -> str:
    """An FTS5 query: every term as a phrase (a substring for the trigram tokenizer), all required."""
    prefix = "name : " if names_only else ""
    return " AND ".join(prefix + _phrase(term) for term in terms)


def matching_ids(terms: list[str], *, names_only: bool):
    """A sub-select of the member ids whose index text contains every term (each >= 3 characters)."""
    expression = match_expression(terms, names_only=names_only)
    return select(_fts.c.rowid).where(literal_column(FTS_TABLE).op("MATCH")(expression))


def optimize(session=None) -> None:
    """Merge the index into one segment, dropping every deleted row's terms (in the caller's transaction)."""
    session = session or db.session
    session.execute(text("INSERT INTO members_fts(members_fts) VALUES ('optimize')"))


def rebuild(session=None) -> None:
    """Rebuild the index from members.search_text (after a bulk load with the triggers bypassed)."""
    session = session or db.session
    session.execute(text("INSERT INTO members_fts(members_fts) VALUES ('delete-all')"))
    fill = f"INSERT INTO members_fts(rowid, name, contact) SELECT id, {NAME_SQL}, {CONTACT_SQL} FROM members"  # noqa: S608 # nosec B608 - constants
    session.execute(text(fill))
    optimize(session)


# The split of search_text ("<names> <number> | <contact>") in SQL, used by the triggers too.
NAME_SQL = ("CASE WHEN instr(coalesce(search_text, ''), '|') > 0 "
            "THEN substr(search_text, 1, instr(search_text, '|') - 1) ELSE coalesce(search_text, '') END")
CONTACT_SQL = ("CASE WHEN instr(coalesce(search_text, ''), '|') > 0 "
               "THEN substr(search_text, instr(search_text, '|') + 1) ELSE '' END")


DEFERRED = "clubhouse_fts_optimize_deferred"


def defer_optimize(session=None) -> None:
    """For a job of many erasure chunks (the retention sweep): merge once, at its end.

    A merge rewrites the whole index (about 1 s for 100,000 members); the sweep calls
    `optimize_deferred()` before its last commit. Until then the erased members' rows are already
    gone from every search (the triggers), only their deleted terms wait in older segments.
    """
    session = session or db.session()
    session.info[DEFERRED] = False


def optimize_deferred(session=None) -> bool:
    """Merge now if an erasure was deferred; True when it merged."""
    session = session or db.session()
    pending = session.info.pop(DEFERRED, False)
    if pending:
        optimize(session)
    return pending


def _on_erased(_sender, member_ids=None, method=None, source=None) -> None:
    # The triggers already removed the members' rows from the index (their search_text was
    # emptied or the row deleted); the merge drops the deleted terms from the segments.
    if not member_ids or not in_use():
        return
    session = db.session()
    if DEFERRED in session.info:
        session.info[DEFERRED] = True
        return
    optimize(session)


def register() -> None:
    """Connect the erasure hook (once)."""
    signals.erased.connect(_on_erased)
