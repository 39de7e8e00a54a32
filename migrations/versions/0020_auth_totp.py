"""users.totp_last_step: a two-factor code is accepted only once

Revision ID: 0020_auth_totp
Revises: 0010_members_search
"""
from alembic import op
import sqlalchemy as sa


revision = '0020_auth_totp'
down_revision = '0010_members_search'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
