"""member imports and the mail outbox; members.import for Administrator and Manager

Revision ID: 0090_i19_a
Revises: 0085_i18_b
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0090_i19_a'
down_revision = '0085_i18_b'
branch_labels = None
depends_on = None

IMPORTING_ROLES = ('administrator', 'manager')
roles = sa.table('roles', sa.column('id', sa.Integer), sa.column('system_key', sa.String))
role_permissions = sa.table('role_permissions', sa.column('role_id', sa.Integer), sa.column('code', sa.String))


def upgrade():
    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('subject_type', sa.String(length=20), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=80), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_outbox_dedupe_key'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_mail_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mail_outbox_member_id'), ['member_id'], unique=False)

    op.create_table('member_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('header_key', sa.String(length=64), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('encoding', sa.String(length=20), nullable=False),
    sa.Column('delimiter', sa.String(length=1), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('processed_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('refused_count', sa.Integer(), nullable=False),
    sa.Column('has_refused_file', sa.Boolean(), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_member_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_imports')),
    sa.UniqueConstraint('token', name=op.f('uq_member_imports_token'))
    )
    with op.batch_alter_table('member_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_imports_header_key'), ['header_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_imports_status'), ['status'], unique=False)

    op.create_table('imported_members',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('external_ref', sa.String(length=40), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['member_imports.id'], name=op.f('fk_imported_members_import_id_member_imports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_imported_members_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_imported_members')),
    sa.UniqueConstraint('external_ref', name=op.f('uq_imported_members_external_ref'))
    )
    with op.batch_alter_table('imported_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_members_import_id'), ['import_id'], unique=False)

    # The new code for the default roles that should hold it (roles are otherwise left as edited).
    conn = op.get_bind()
    for role_id in conn.execute(sa.select(roles.c.id).where(roles.c.system_key.in_(IMPORTING_ROLES))).scalars().all():
        held = conn.execute(sa.select(role_permissions.c.code).where(
            role_permissions.c.role_id == role_id, role_permissions.c.code == 'members.import')).first()
        if held is None:
            conn.execute(role_permissions.insert().values(role_id=role_id, code='members.import'))


def downgrade():
    op.get_bind().execute(role_permissions.delete().where(role_permissions.c.code == 'members.import'))
    with op.batch_alter_table('imported_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_imported_members_import_id'))

    op.drop_table('imported_members')
    with op.batch_alter_table('member_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_imports_status'))
        batch_op.drop_index(batch_op.f('ix_member_imports_header_key'))

    op.drop_table('member_imports')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_outbox_member_id'))
        batch_op.drop_index('ix_mail_outbox_due')

    op.drop_table('mail_outbox')
