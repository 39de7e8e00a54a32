"""art. 19 and long jobs: recipients registered by hand, the notices on a request, job runs with progress

Revision ID: 0075_i15_b
Revises: 0075_i15_a
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0075_i15_b'
down_revision = '0075_i15_a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('manual_recipients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=200), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('retired_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_manual_recipients'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('active_key', sa.String(length=60), nullable=True),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('processed', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_job_runs_started_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('active_key', name=op.f('uq_job_runs_active_key'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_job_runs_kind'), ['kind'], unique=False)

    op.create_table('recipient_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('recipient_kind', sa.String(length=20), nullable=False),
    sa.Column('recipient_key', sa.String(length=60), nullable=False),
    sa.Column('recipient_name', sa.String(length=120), nullable=False),
    sa.Column('fields', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('notified_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.String(length=300), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('outbox_event_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_recipient_notices_recorded_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['data_requests.id'], name=op.f('fk_recipient_notices_request_id_data_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recipient_notices'))
    )
    with op.batch_alter_table('recipient_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recipient_notices_outbox_event_id'), ['outbox_event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_recipient_notices_request_id'), ['request_id'], unique=False)



def downgrade():
    with op.batch_alter_table('recipient_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recipient_notices_request_id'))
        batch_op.drop_index(batch_op.f('ix_recipient_notices_outbox_event_id'))

    op.drop_table('recipient_notices')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_job_runs_kind'))

    op.drop_table('job_runs')
    op.drop_table('manual_recipients')
