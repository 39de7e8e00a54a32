"""data transfers: the log of member data sent to partners (API clients, connectors, by hand)

Revision ID: 0061_data_transfers
Revises: 0060_ledger_indexes
"""
from alembic import op
import sqlalchemy as sa


revision = '0061_data_transfers'
down_revision = '0060_ledger_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('recipient_kind', sa.String(length=20), nullable=False),
    sa.Column('recipient_key', sa.String(length=60), nullable=False),
    sa.Column('recipient_name', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=200), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_transfers'))
    )
    with op.batch_alter_table('data_transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_transfers_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_transfers_recipient_key'), ['recipient_key'], unique=False)

    op.create_table('data_transfer_members',
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_data_transfer_members_member_id_members'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['transfer_id'], ['data_transfers.id'], name=op.f('fk_data_transfer_members_transfer_id_data_transfers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('transfer_id', 'member_id', name=op.f('pk_data_transfer_members'))
    )
    with op.batch_alter_table('data_transfer_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_transfer_members_member_id'), ['member_id'], unique=False)



def downgrade():
    with op.batch_alter_table('data_transfer_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_transfer_members_member_id'))

    op.drop_table('data_transfer_members')
    with op.batch_alter_table('data_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_transfers_recipient_key'))
        batch_op.drop_index(batch_op.f('ix_data_transfers_at'))

    op.drop_table('data_transfers')
