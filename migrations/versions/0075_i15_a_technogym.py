"""technogym: the connector's application id and integration user, the partner's membership state and candidates

Revision ID: 0075_i15_a
Revises: 0090_i19_a
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0075_i15_a'
down_revision = '0090_i19_a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('integration_user', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('password_encrypted', sa.Text(), nullable=True))
    with op.batch_alter_table('connector_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partner_state', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('candidates', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('connector_members', schema=None) as batch_op:
        batch_op.drop_column('candidates')
        batch_op.drop_column('partner_state')
    with op.batch_alter_table('connectors', schema=None) as batch_op:
        batch_op.drop_column('password_encrypted')
        batch_op.drop_column('integration_user')
        batch_op.drop_column('application_id')
