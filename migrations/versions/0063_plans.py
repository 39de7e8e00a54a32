"""plans: a catalogue of plans; subscriptions point at one instead of carrying free text

Each distinct free-text plan (trimmed, runs of spaces made one, case-folded) becomes one
catalogue entry, named after its most frequent spelling, priced at its most frequent monthly
fee, per month, renewing, in the group "other" (managers correct the entries on /plans).
Every subscription then points at its entry and the text column goes. The default roles
Administrator and Manager get the new permission plans.manage.

Revision ID: 0063_plans
Revises: 0061_data_transfers
"""
from collections import Counter
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0063_plans'
down_revision = '0061_data_transfers'
branch_labels = None
depends_on = None

NAME_LENGTH = 80
MANAGING_ROLES = ('administrator', 'manager')

plans = sa.table(
    'plans',
    sa.column('id', sa.Integer), sa.column('name', sa.String), sa.column('name_en', sa.String),
    sa.column('period', sa.String), sa.column('price', sa.Numeric(10, 2)), sa.column('renews', sa.Boolean),
    sa.column('active', sa.Boolean), sa.column('plan_group', sa.String),
    sa.column('egym_membership_type', sa.String), sa.column('created_at', sa.DateTime),
    sa.column('updated_at', sa.DateTime),
)
subscriptions = sa.table(
    'subscriptions', sa.column('id', sa.Integer), sa.column('plan', sa.String), sa.column('plan_id', sa.Integer),
    sa.column('monthly_fee', sa.Numeric(10, 2)),
)
roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('system_key', sa.String))
role_permissions = sa.table('role_permissions', sa.column('role_id', sa.Integer), sa.column('code', sa.String))


def _key(text):
    return ' '.join((text or '').split()).casefold()


def _catalogue_from_free_text(conn):
    """One plan per folded text; every subscription pointed at its plan (one UPDATE per distinct text)."""
    rows = conn.execute(sa.select(subscriptions.c.plan, subscriptions.c.monthly_fee)).all()
    spellings, fees, stored = {}, {}, {}
    for text, fee in rows:
        key = _key(text)
        stored.setdefault(key, set()).add(text)
        spellings.setdefault(key, Counter())[' '.join((text or '').split())] += 1
        fees.setdefault(key, Counter())[fee] += 1
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    taken = set()
    for key in sorted(spellings):
        # The most frequent spelling names the entry (ties: alphabetical); cut to the column's length.
        name = sorted(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0][0] or 'Onbekend abonnement'
        name = name[:NAME_LENGTH].strip()
        base, n = name, 2
        while _key(name) in taken:  # two long texts equal in their first 80 characters
            suffix = f' ({n})'
            name, n = base[:NAME_LENGTH - len(suffix)] + suffix, n + 1
        taken.add(_key(name))
        fee = sorted(fees[key].items(), key=lambda item: (-item[1], -(item[0] or 0)))[0][0] or 0
        conn.execute(plans.insert().values(
            name=name, name_en=None, period='month', price=fee, renews=True, active=True, plan_group='other',
            egym_membership_type=None, created_at=now, updated_at=now,
        ))
        plan_id = conn.execute(sa.select(plans.c.id).where(plans.c.name == name)).scalar_one()
        conn.execute(subscriptions.update().where(subscriptions.c.plan.in_(sorted(stored[key])))
                     .values(plan_id=plan_id))


def upgrade():
    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=True),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('renews', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('plan_group', sa.String(length=40), nullable=False),
    sa.Column('egym_membership_type', sa.String(length=20), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('name', name=op.f('uq_plans_name'))
    )
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))

    conn = op.get_bind()
    _catalogue_from_free_text(conn)

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.alter_column('plan_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_subscriptions_plan_id'), ['plan_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_subscriptions_plan_id_plans'), 'plans', ['plan_id'], ['id'],
                                    ondelete='RESTRICT')
        batch_op.drop_column('plan')

    # The new code for the default roles that should hold it (roles are otherwise left as edited).
    for role_id in conn.execute(sa.select(roles.c.id).where(roles.c.system_key.in_(MANAGING_ROLES))).scalars().all():
        held = conn.execute(sa.select(role_permissions.c.code).where(
            role_permissions.c.role_id == role_id, role_permissions.c.code == 'plans.manage')).first()
        if held is None:
            conn.execute(role_permissions.insert().values(role_id=role_id, code='plans.manage'))


def downgrade():
    conn = op.get_bind()
    conn.execute(role_permissions.delete().where(role_permissions.c.code == 'plans.manage'))
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan', sa.String(length=100), nullable=True))
    conn.execute(subscriptions.update().values(
        plan=sa.select(plans.c.name).where(plans.c.id == subscriptions.c.plan_id).scalar_subquery()))
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.alter_column('plan', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_subscriptions_plan_id_plans'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_subscriptions_plan_id'))
        batch_op.drop_column('plan_id')
    op.drop_table('plans')
