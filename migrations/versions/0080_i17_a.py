"""data requests: the letter's text for the member, apart from the internal reasons; the kept letter

Revision ID: 0080_i17_a
Revises: 0075_i15_b
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0080_i17_a'
down_revision = '0075_i15_b'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_requests') as batch:
        batch.add_column(sa.Column('letter_text', sa.Text(), nullable=True))
        batch.add_column(sa.Column('letter_pdf', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('letter_sent_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('data_requests') as batch:
        batch.drop_column('letter_sent_at')
        batch.drop_column('letter_pdf')
        batch.drop_column('letter_text')
