"""The member search index on SQLite: FTS5 trigram tables beside `members`.

PostgreSQL searches `members.search_text` with its pg_trgm GIN index (migration
0010_members_search). SQLite has no such index: `LIKE '%term%'` reads every row. There the
search uses FTS5 tables with the trigram tokenizer (migrations 0085_i18_a and 0106_h18c_a):

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
  is merged (`optimize`) inside the erasure's transaction: no trigram of the erased member
  remains (tests/members/test_search_fts.py proves it with `fts5vocab` tables);
- the index is 16 tables, `members_fts_0` .. `members_fts_15`, a member's entries in shard
  `id % 16` (migration 0106_h18c_a). A merge rewrites the whole table it merges: with one
  table an erasure rewrote 37 MB for 100,000 members (0.9 s, plus writing those pages to the
  WAL, holding the write lock); now it merges only the erased members' shards. A search
  asks every shard (a UNION ALL of 16 MATCHes), a fraction of a millisecond more.

Terms shorter than three characters have no trigram; those fall back to LIKE on search_text.
"""

from sqlalchemy import column, literal_column, select, table, text, union_all

from app.extensions import db
from app.services import signals

SHARDS = 16  # migration 0106_h18c_a made this many; changing it needs a migration
FTS_TABLES = tuple(f"members_fts_{number}" for number in range(SHARDS))
# FTS5 keeps its data in ordinary tables named after the virtual table.
_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
MIN_TERM = 3  # the trigram tokenizer finds nothing for shorter phrases

_shards = tuple(table(name, column("rowid")) for name in FTS_TABLES)


def shard_of(member_id: int) -> str:
    """The index table that holds the member's entries."""
    return FTS_TABLES[member_id % SHARDS]


def derived_tables() -> frozenset[str]:
    """Tables in the database that are not models: the FTS table and its shadow tables.

    They are built by the migration and maintained by triggers; the schema comparison of the
    migrations with the models (`flask db migrate`, tests/test_foundation.py) leaves them out.
    """
    return frozenset({*FTS_TABLES, *(name + suffix for name in FTS_TABLES for suffix in _SHADOW_SUFFIXES)})


def include_name(name, type_, parent_names) -> bool:
    """Alembic's `include_name` hook: compare every table except the derived ones."""
    return not (type_ == "table" and name in derived_tables())


def in_use(session=None) -> bool:
    """True on SQLite (the index exists from migration 0085_i18_a on)."""
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
    return union_all(*(select(shard.c.rowid).where(literal_column(shard.name).op("MATCH")(expression))
                       for shard in _shards))


def _optimize_statement(name: str):
    return text(f"INSERT INTO {name}({name}) VALUES ('optimize')")  # noqa: S608 # nosec B608 - fixed names


def optimize(session=None, member_ids=None) -> None:
    """Merge the shards of these members (all shards: None), dropping every deleted row's terms.

    In the caller's transaction: the erased members' trigrams are gone when it commits.
    """
    session = session or db.session
    _merge(session, FTS_TABLES if member_ids is None else {shard_of(member_id) for member_id in member_ids})


def _merge(session, names) -> None:
    for name in sorted(names):
        session.execute(_optimize_statement(name))


def rebuild(session=None) -> None:
    """Rebuild the index from members.search_text (after a bulk load with the triggers bypassed)."""
    session = session or db.session
    for number, name in enumerate(FTS_TABLES):
        session.execute(text(f"INSERT INTO {name}({name}) VALUES ('delete-all')"))  # noqa: S608 # nosec B608
        fill = (f"INSERT INTO {name}(rowid, name, contact) SELECT id, {NAME_SQL}, {CONTACT_SQL} "  # noqa: S608 # nosec B608 - constants
                f"FROM members WHERE id % {SHARDS} = {number}")
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

    A merge rewrites the shards it merges (up to the whole index, about 1 s for 100,000
    members); the sweep calls `optimize_deferred()` before its last commit, which merges every
    shard an erasure touched. Until then the erased members' rows are already gone from every
    search (the triggers), only their deleted terms wait in older segments.
    """
    session = session or db.session()
    session.info[DEFERRED] = set()


def optimize_deferred(session=None) -> bool:
    """Merge the shards the deferred erasures touched; True when there were any."""
    session = session or db.session()
    pending = session.info.pop(DEFERRED, None)  # the shards' names
    if pending:
        _merge(session, pending)
    return bool(pending)


def _on_erased(_sender, member_ids=None, method=None, source=None) -> None:
    # The triggers already removed the members' rows from the index (their search_text was
    # emptied or the row deleted); the merge drops the deleted terms from the segments.
    if not member_ids or not in_use():
        return
    session = db.session()
    if DEFERRED in session.info:
        session.info[DEFERRED].update(shard_of(member_id) for member_id in member_ids)
        return
    optimize(session, member_ids)


def register() -> None:
    """Connect the erasure hook (once)."""
    signals.erased.connect(_on_erased)
