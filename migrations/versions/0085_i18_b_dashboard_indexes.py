"""dashboard indexes: subscriptions (status, plan_id, ends_on) covering the per-plan counts; consents.withdrawn_at

Revision ID: 0085_i18_b
Revises: 0085_i18_a
"""
from alembic import op


revision = '0085_i18_b'
down_revision = '0085_i18_a'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_subscriptions_status_plan', 'subscriptions', ['status', 'plan_id', 'ends_on'], unique=False)
    op.create_index('ix_consents_withdrawn_at', 'consents', ['withdrawn_at'], unique=False)


def downgrade():
    op.drop_index('ix_consents_withdrawn_at', table_name='consents')
    op.drop_index('ix_subscriptions_status_plan', table_name='subscriptions')
