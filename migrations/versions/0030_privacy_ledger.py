"""erasure ledger: no unique index on entry_hash

The hash chain already makes every entry_hash unique; the random 64-character unique
index tripled the cost of recording a bulk erasure (the retention sweep).

Revision ID: 0030_privacy_ledger
Revises: 0020_auth_totp
"""
from alembic import op


revision = '0030_privacy_ledger'
down_revision = '0020_auth_totp'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_erasure_records_entry_hash'), type_='unique')


def downgrade():
    with op.batch_alter_table('erasure_records', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_erasure_records_entry_hash'), ['entry_hash'])
