"""Retention policies: how long each category of data is kept, and what happens then."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import one_of, utcnow

RETENTION_ACTIONS = ("delete", "anonymise")


class RetentionPolicy(db.Model):
    """One category's period (months), what it counts from, the action, and the basis in words."""

    __tablename__ = "retention_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(40), unique=True)
    period_months: Mapped[int]
    counted_from: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (one_of("action", RETENTION_ACTIONS),)
