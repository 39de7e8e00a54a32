"""member search index: trigram GIN on PostgreSQL

Revision ID: 0010_members_search
Revises: 0004_retention
"""
from alembic import op


revision = '0010_members_search'
down_revision = '0004_retention'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm ships with PostgreSQL (contrib) and is a trusted extension since PostgreSQL 13,
        # so the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index('ix_members_search_text', ['search_text'], unique=False,
                              postgresql_using='gin', postgresql_ops={'search_text': 'gin_trgm_ops'})


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index('ix_members_search_text')
