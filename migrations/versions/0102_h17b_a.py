"""member search: phone numbers as digits in search_text's contact part (no schema change)

Revision ID: 0102_h17b_a
Revises: 0100_h12_a

The search finds a phone number however staff type it ("06 18401421", "+31 6 18401421"):
members.search_text_for() now ends the contact part with the phone's digits. This fills them
in for the members already stored. The FTS5 triggers on SQLite (0085_i18_a) and the pg_trgm
index on PostgreSQL follow search_text by themselves, so neither changes shape; the phone
stays in the contact part, which only users with members.contact search.

The migration keeps its own copy of the normalisation so it does not change with the
application code.
"""
from alembic import op
import sqlalchemy as sa


revision = '0102_h17b_a'
down_revision = '0100_h12_a'
branch_labels = None
depends_on = None

BATCH = 2000
members = sa.table("members", sa.column("id", sa.Integer), sa.column("phone", sa.String),
                   sa.column("search_text", sa.Text))


def _digits(value):
    text = (value or "").strip().replace("(0)", "")
    digits = "".join(ch for ch in text if ch.isdigit())
    if text.startswith("+"):
        digits = "00" + digits
    if digits.startswith("0031"):
        digits = "0" + digits[4:]
    return digits


def _rewrite(add: bool):
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(
            sa.select(members.c.id, members.c.phone, members.c.search_text)
            .where(members.c.id > last, members.c.phone.isnot(None), members.c.phone != "")
            .order_by(members.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        for row_id, phone, search_text in rows:
            digits = _digits(phone)
            text = search_text or ""
            if not digits or "|" not in text:
                continue
            suffix = " " + digits
            if add and not text.endswith(suffix):
                new = text + suffix
            elif not add and text.endswith(suffix):
                new = text[: -len(suffix)]
            else:
                continue
            bind.execute(members.update().where(members.c.id == row_id).values(search_text=new))
        last = rows[-1][0]


def upgrade():
    _rewrite(add=True)


def downgrade():
    _rewrite(add=False)
