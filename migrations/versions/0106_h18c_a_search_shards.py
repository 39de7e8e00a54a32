"""member search on SQLite: the FTS5 index in 16 shards by member id, so an erasure merges one

Revision ID: 0106_h18c_a
Revises: 0103_h18a_a

An erasure merges the search index (`optimize`) so that no trigram of the erased member stays
in an older segment (SQLite 3.40 has no FTS5 secure-delete). With one table that rewrote the
whole index: about 37 MB for 100,000 members, 0.9 s of merging plus the commit of the
written pages, with the database's write lock held all along. Split by `id % 16`, a member's
entries live in one shard, and merging that shard rewrites a sixteenth. Same columns,
tokenizer and contentless tables as 0085_i18_a. The migration keeps its own copy of the SQL,
so it does not change when the application code does; the downgrade runs 0085_i18_a's own
upgrade again (its module from Alembic's revision map), so the one table comes back exactly as that made it.
"""
from alembic import context, op

revision = '0106_h18c_a'
down_revision = '0103_h18a_a'
branch_labels = None
depends_on = None

SHARDS = 16
_NAME = ("CASE WHEN instr(coalesce({row}.search_text, ''), '|') > 0 "
         "THEN substr({row}.search_text, 1, instr({row}.search_text, '|') - 1) "
         "ELSE coalesce({row}.search_text, '') END")
_CONTACT = ("CASE WHEN instr(coalesce({row}.search_text, ''), '|') > 0 "
            "THEN substr({row}.search_text, instr({row}.search_text, '|') + 1) ELSE '' END")


def _shard(number: int) -> str:
    return f"members_fts_{number}"


def _insert(row: str) -> str:
    # A trigger cannot pick its table by value: one guarded statement per shard, one of which applies.
    name, contact = _NAME.format(row=row), _CONTACT.format(row=row)
    return " ".join(f"INSERT INTO {_shard(n)}(rowid, name, contact) SELECT {row}.id, {name}, {contact} "
                    f"WHERE {row}.id % {SHARDS} = {n};" for n in range(SHARDS))


def _delete(row: str) -> str:
    # A contentless table forgets a row only when given the exact values it was indexed with.
    name, contact = _NAME.format(row=row), _CONTACT.format(row=row)
    return " ".join(f"INSERT INTO {_shard(n)}({_shard(n)}, rowid, name, contact) "
                    f"SELECT 'delete', {row}.id, {name}, {contact} WHERE {row}.id % {SHARDS} = {n};"
                    for n in range(SHARDS))


def create_triggers():
    """The triggers that keep the shards in step with members (a later rebuild of `members` calls this)."""
    op.execute(f"CREATE TRIGGER members_fts_insert AFTER INSERT ON members BEGIN {_insert('new')} END")
    op.execute(f"CREATE TRIGGER members_fts_delete AFTER DELETE ON members BEGIN {_delete('old')} END")
    op.execute("CREATE TRIGGER members_fts_update AFTER UPDATE OF search_text ON members "
               f"WHEN old.search_text IS NOT new.search_text BEGIN {_delete('old')} {_insert('new')} END")


def _single_table_migration():
    """Migration 0085_i18_a's module (as Alembic loaded it): its triggers (same names as these) and its one table, for the downgrade."""
    return context.script.get_revision("0085_i18_a").module


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    _single_table_migration().drop_triggers()
    op.execute("DROP TABLE IF EXISTS members_fts")
    name, contact = _NAME.format(row="members"), _CONTACT.format(row="members")
    for n in range(SHARDS):
        op.execute(f"CREATE VIRTUAL TABLE {_shard(n)} USING fts5(name, contact, content='', tokenize='trigram')")
        op.execute(f"INSERT INTO {_shard(n)}(rowid, name, contact) SELECT id, {name}, {contact} "
                   f"FROM members WHERE id % {SHARDS} = {n}")
        op.execute(f"INSERT INTO {_shard(n)}({_shard(n)}) VALUES ('optimize')")
    create_triggers()


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    single = _single_table_migration()
    single.drop_triggers()
    for n in range(SHARDS):
        op.execute(f"DROP TABLE IF EXISTS {_shard(n)}")
    single.upgrade()  # the one table, filled from members, and its triggers
    op.execute("INSERT INTO members_fts(members_fts) VALUES ('optimize')")
