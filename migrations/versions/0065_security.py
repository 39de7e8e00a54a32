"""security: a per-user session epoch (logout and password changes end every session); 2FA for admins

Revision ID: 0065_security
Revises: 0064_api_clients
"""
from alembic import op
import sqlalchemy as sa


revision = '0065_security'
down_revision = '0064_api_clients'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))
    # Administrator and Privacy officer require two-factor login by default (existing installations too).
    op.execute(sa.text("UPDATE roles SET requires_2fa = :yes WHERE system_key IN ('administrator', 'privacy_officer')")
               .bindparams(yes=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
