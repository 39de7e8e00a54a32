"""vocabularies: a CHECK constraint on every column that holds a fixed vocabulary

Revision ID: 0100_h12_a
Revises: 0105_h19_a

The models declare them with `app.models.base.one_of`; this migration keeps its own copy of the
values as they are today (a later change to a vocabulary comes with its own migration).

On SQLite a constraint can only be added by rebuilding the table (Alembic's batch mode). SQLite
drops a table's triggers with it, so after `members` is rebuilt the triggers of its search index
are created again by the code of migration 0085_i18_a, which made them; the index's rows keep
the members' ids, so its contents stay valid. Foreign keys are off while migrations run on SQLite
(migrations/env.py), so dropping the old table neither cascades to nor blocks its children.
"""
from alembic import context, op

revision = '0100_h12_a'
down_revision = '0105_h19_a'
branch_labels = None
depends_on = None

CHANGE_KINDS = ("rectified", "restricted", "erased")
RECIPIENT_KINDS = ("api_client", "connector", "manual")

VOCABULARIES = {
    "members": {"status": ("active", "ended", "anonymised")},
    "subscriptions": {"status": ("active", "ended", "cancelled", "frozen")},
    "invoices": {"status": ("open", "paid", "cancelled")},
    "visits": {"source": ("desk", "gate", "app", "import")},
    "consents": {"purpose": ("newsletter", "photos", "marketing", "technogym", "egym")},
    "data_requests": {
        "kind": ("access", "portability", "erasure", "rectification", "restriction", "objection"),
        "channel": ("intake", "desk", "mail", "email", "phone"),
        "status": ("received", "in_progress", "completed", "refused", "withdrawn"),
        "ground": ("no_longer_needed", "consent_withdrawn", "objection", "unlawful", "legal_obligation"),
        "decision": ("grant", "partial", "refuse"),
        "erasure_method": ("delete", "anonymise"),
    },
    "recipient_notices": {
        "action": CHANGE_KINDS,
        "recipient_kind": RECIPIENT_KINDS,
        "state": ("pending", "notified", "failed", "impossible"),
    },
    "data_transfers": {"recipient_kind": RECIPIENT_KINDS},
    "outbox_events": {"state": ("pending", "claimed", "done", "parked")},
    "job_runs": {"state": ("queued", "running", "done", "failed")},
    "member_changes": {"kind": CHANGE_KINDS},
    "plans": {
        "period": ("month", "quarter", "half_year", "year", "week", "day", "ten_ride", "lifetime"),
        "egym_membership_type": ("BASIC", "PREMIUM", "PROSPECT", "CORPORATE_FITNESS"),
    },
    "retention_policies": {"action": ("delete", "anonymise")},
    "member_imports": {"status": ("uploaded", "queued", "running", "done", "cancelled", "failed")},
    "users": {"kind": ("staff", "partner")},
}


def _search_index_migration():
    """Migration 0085_i18_a's module (as Alembic loaded it): its create_triggers() made the triggers this rebuild drops."""
    return context.script.get_revision("0085_i18_a").module


def _rebuilds_members() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade():
    for table, columns in VOCABULARIES.items():
        with op.batch_alter_table(table) as batch:
            for column, values in columns.items():
                allowed = ", ".join(f"'{value}'" for value in values)
                batch.create_check_constraint(op.f(f"ck_{table}_{column}"), f"{column} IN ({allowed})")
    if _rebuilds_members():
        _search_index_migration().create_triggers()


def downgrade():
    for table, columns in VOCABULARIES.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_constraint(op.f(f"ck_{table}_{column}"), type_="check")
    if _rebuilds_members():
        _search_index_migration().create_triggers()
