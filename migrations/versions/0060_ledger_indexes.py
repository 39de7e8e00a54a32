"""erasure ledger: drop the unused index on erased_at

No query looks ledger entries up by time (lookups go by member_key, the chain by id), and
every erasure batch shares one timestamp, so the index only added work to each insert:
0.1-0.2 s per 100,000 entries in the retention sweep on SQLite.

Revision ID: 0060_ledger_indexes
Revises: 0030_privacy_ledger
"""
from alembic import op


revision = '0060_ledger_indexes'
down_revision = '0030_privacy_ledger'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.drop_index('ix_erasure_records_erased_at')


def downgrade():
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.create_index('ix_erasure_records_erased_at', ['erased_at'], unique=False)
