"""member search on SQLite: FTS5 trigram table kept by triggers (PostgreSQL: nothing, pg_trgm stays)

Revision ID: 0085_i18_a
Revises: 0066_connectors

The table is contentless (it stores trigrams and row ids, no copy of the text) with two
columns split from members.search_text at its '|' separator: `name` and `contact`.
app/services/search_index.py explains the design; the migration keeps its own copy of the
SQL so it does not change when the application code does.
"""
from alembic import op


revision = '0085_i18_a'
down_revision = '0066_connectors'
branch_labels = None
depends_on = None


def _name(row):
    return (f"CASE WHEN instr(coalesce({row}.search_text, ''), '|') > 0 "
            f"THEN substr({row}.search_text, 1, instr({row}.search_text, '|') - 1) "
            f"ELSE coalesce({row}.search_text, '') END")


def _contact(row):
    return (f"CASE WHEN instr(coalesce({row}.search_text, ''), '|') > 0 "
            f"THEN substr({row}.search_text, instr({row}.search_text, '|') + 1) ELSE '' END")


def _insert(row):
    return f"INSERT INTO members_fts(rowid, name, contact) VALUES ({row}.id, {_name(row)}, {_contact(row)});"


def _delete(row):
    # A contentless table forgets a row only when given the exact values it was indexed with.
    return (f"INSERT INTO members_fts(members_fts, rowid, name, contact) "
            f"VALUES ('delete', {row}.id, {_name(row)}, {_contact(row)});")


def upgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE VIRTUAL TABLE members_fts USING fts5(name, contact, content='', tokenize='trigram')")
    op.execute(f"INSERT INTO members_fts(rowid, name, contact) SELECT id, {_name('members')}, {_contact('members')} FROM members")
    create_triggers()


def create_triggers():
    """The triggers that keep members_fts in step with members.

    SQLite drops a table's triggers with the table, so a later migration that rebuilds `members`
    (Alembic's batch mode on SQLite) calls this again afterwards (0100_h12_a does).
    """
    op.execute(f"CREATE TRIGGER members_fts_insert AFTER INSERT ON members BEGIN {_insert('new')} END")
    op.execute(f"CREATE TRIGGER members_fts_delete AFTER DELETE ON members BEGIN {_delete('old')} END")
    op.execute("CREATE TRIGGER members_fts_update AFTER UPDATE OF search_text ON members "
               f"WHEN old.search_text IS NOT new.search_text BEGIN {_delete('old')} {_insert('new')} END")


def drop_triggers():
    for trigger in ("members_fts_insert", "members_fts_delete", "members_fts_update"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    drop_triggers()
    op.execute("DROP TABLE IF EXISTS members_fts")
