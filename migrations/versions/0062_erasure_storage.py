"""erasure storage: maintenance_status (a WAL checkpoint or VACUUM after an erasure that failed)

Revision ID: 0062_erasure_storage
Revises: 0065_security
"""
from alembic import op
import sqlalchemy as sa


revision = '0062_erasure_storage'
down_revision = '0065_security'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('maintenance_status',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('failing_since', sa.DateTime(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_maintenance_status'))
    )


def downgrade():
    op.drop_table('maintenance_status')
