"""member counts per status, kept by triggers: the member list's total and the dashboard's active members

Revision ID: 0103_h18a_a
Revises: 0102_h17b_a

Counting 88,000 active members read the whole status index on every list page (about 3 ms of a
12 ms request on SQLite, 30 ms on PostgreSQL). The triggers keep one row per status up to date
in the same transaction as the member row, so the unfiltered list reads its total. The migration
keeps its own copy of the SQL, so it does not change when the application code does.
"""
import sqlalchemy as sa
from alembic import op

revision = '0103_h18a_a'
down_revision = '0102_h17b_a'
branch_labels = None
depends_on = None

_ADD = ("INSERT INTO member_status_counts (status, total) VALUES ({row}.status, 1) "
        "ON CONFLICT (status) DO UPDATE SET total = member_status_counts.total + 1;")
_SUBTRACT = "UPDATE member_status_counts SET total = total - 1 WHERE status = {row}.status;"


def upgrade():
    op.create_table(
        "member_status_counts",
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_member_status_counts")),
    )
    op.execute("INSERT INTO member_status_counts (status, total) SELECT status, count(*) FROM members GROUP BY status")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(f"CREATE TRIGGER members_count_insert AFTER INSERT ON members BEGIN {_ADD.format(row='new')} END")
        op.execute(f"CREATE TRIGGER members_count_delete AFTER DELETE ON members BEGIN {_SUBTRACT.format(row='old')} END")
        op.execute("CREATE TRIGGER members_count_update AFTER UPDATE OF status ON members "
                   f"WHEN old.status IS NOT new.status BEGIN {_SUBTRACT.format(row='old')} {_ADD.format(row='new')} END")
        return
    # A status change touches two rows: always in the order of their status, so two changes
    # crossing each other (ending one member while another is reactivated) cannot deadlock.
    op.execute(f"""
        CREATE FUNCTION members_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND NEW.status < OLD.status THEN
                {_ADD.format(row='NEW')}
                {_SUBTRACT.format(row='OLD')}
            ELSE
                IF TG_OP IN ('UPDATE', 'DELETE') THEN {_SUBTRACT.format(row='OLD')} END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') THEN {_ADD.format(row='NEW')} END IF;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER members_count_insert_delete AFTER INSERT OR DELETE ON members "
               "FOR EACH ROW EXECUTE FUNCTION members_count_change()")
    op.execute("CREATE TRIGGER members_count_update AFTER UPDATE OF status ON members FOR EACH ROW "
               "WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION members_count_change()")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("members_count_insert", "members_count_delete", "members_count_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    else:
        op.execute("DROP TRIGGER IF EXISTS members_count_insert_delete ON members")
        op.execute("DROP TRIGGER IF EXISTS members_count_update ON members")
        op.execute("DROP FUNCTION IF EXISTS members_count_change()")
    op.drop_table("member_status_counts")
