"""connectors: settings, the per-member mapping, the transactional outbox, worker heartbeats

Revision ID: 0066_connectors
Revises: 0062_erasure_storage
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0066_connectors'
down_revision = '0062_erasure_storage'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('connectors',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('base_url', sa.String(length=300), nullable=False),
    sa.Column('api_key_encrypted', sa.Text(), nullable=True),
    sa.Column('legal_basis', sa.String(length=20), nullable=False),
    sa.Column('processing_agreement', sa.String(length=300), nullable=True),
    sa.Column('plans', sa.Text(), nullable=False),
    sa.Column('optional_fields', sa.Text(), nullable=False),
    sa.Column('sync_time', sa.String(length=5), nullable=True),
    sa.Column('last_sync_at', sa.DateTime(), nullable=True),
    sa.Column('last_full_sync_on', sa.String(length=10), nullable=True),
    sa.Column('last_test_at', sa.DateTime(), nullable=True),
    sa.Column('last_test_ok', sa.Boolean(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_connectors'))
    )
    op.create_table('outbox_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('connector', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.Column('done_at', sa.DateTime(), nullable=True),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_events'))
    )
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_events_due', ['connector', 'state', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_events_member_id'), ['member_id'], unique=False)

    op.create_table('worker_heartbeats',
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_worker_heartbeats'))
    )
    op.create_table('connector_members',
    sa.Column('connector', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.String(length=100), nullable=True),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('synced_at', sa.DateTime(), nullable=True),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('error_code', sa.String(length=60), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_connector_members_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('connector', 'member_id', name=op.f('pk_connector_members'))
    )
    with op.batch_alter_table('connector_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_connector_members_member_id'), ['member_id'], unique=False)



def downgrade():
    with op.batch_alter_table('connector_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_connector_members_member_id'))

    op.drop_table('connector_members')
    op.drop_table('worker_heartbeats')
    with op.batch_alter_table('outbox_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_events_member_id'))
        batch_op.drop_index('ix_outbox_events_due')

    op.drop_table('outbox_events')
    op.drop_table('connectors')
