"""The mail outbox: what must be sent to whom, by reference; the message is built at send time."""

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import utcnow

MAIL_KINDS = ("intake_ack", "account_notice", "privacy_reminder", "delivery_parked", "request_export")
MAIL_STATUSES = ("pending", "sent", "parked")


class MailOutbox(db.Model):
    """One mail waiting for (or done with) the SMTP server.

    Holds no address and no text: `subject_type`/`subject_id` point at the request, user or
    member the mail is about, and the recipient and body are read from there when it is sent,
    so a mail about a person erased meanwhile is never sent (the erasure deletes the row).
    `params` is JSON with codes only (which setting changed, which reminder).
    """

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int | None]
    member_id: Mapped[int | None] = mapped_column(index=True)  # for the erasure hook
    locale: Mapped[str] = mapped_column(String(5), default="nl")
    params: Mapped[str] = mapped_column(Text, default="{}")
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)
