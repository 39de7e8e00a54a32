"""Member imports from a club's previous software, and the members they brought in."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import one_of, utcnow

IMPORT_STATUSES = ("uploaded", "queued", "running", "done", "cancelled", "failed")


class MemberImport(db.Model):
    """One uploaded file on its way in: counts, the column mapping and progress, never row values.

    The file itself lives in instance/imports/ (mode 0600) until the import ends or is
    cancelled; `token` names it there. `headers` holds the file's column names (the service
    refuses a first row that looks like data, so no personal value lands here).
    """

    __tablename__ = "member_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="uploaded", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    header_key: Mapped[str] = mapped_column(String(64), default="", index=True)
    headers: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of column names
    mapping: Mapped[str] = mapped_column(Text, default="{}")  # JSON: column name -> field
    encoding: Mapped[str] = mapped_column(String(20), default="utf-8")
    delimiter: Mapped[str] = mapped_column(String(1), default=";")
    locale: Mapped[str] = mapped_column(String(5), default="nl")  # the language of the reasons
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    updated_count: Mapped[int] = mapped_column(default=0)
    unchanged_count: Mapped[int] = mapped_column(default=0)
    refused_count: Mapped[int] = mapped_column(default=0)
    has_refused_file: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (one_of("status", IMPORT_STATUSES),)


class ImportedMember(db.Model):
    """A member brought in by an import: the old system's member number (external reference).

    Imported members keep that number as their member number, so the erasure ledger (keyed
    hashes of member numbers) recognises a member erased here when an old file comes back.
    """

    __tablename__ = "imported_members"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(40), unique=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("member_imports.id", ondelete="SET NULL"), index=True)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
