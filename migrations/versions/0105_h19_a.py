"""data requests: the language of the public form, and the address a letter asked for by e-mail goes to (kept with the letter)

Revision ID: 0105_h19_a
Revises: 0080_i17_a
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0105_h19_a'
down_revision = '0080_i17_a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_requests') as batch:
        batch.add_column(sa.Column('locale', sa.String(length=5), nullable=True))
        batch.add_column(sa.Column('letter_email', sa.String(length=254), nullable=True))


def downgrade():
    with op.batch_alter_table('data_requests') as batch:
        batch.drop_column('letter_email')
        batch.drop_column('locale')
