"""The club's plan catalogue: what a member can subscribe to, managed by the club (never typed about a person)."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import one_of, utcnow

# How long one purchase of a plan runs (or what it buys); labels in app/services/plans.py.
PLAN_PERIODS = ("month", "quarter", "half_year", "year", "week", "day", "ten_ride", "lifetime")
# Months per period, for the monthly equivalent of a price; the other periods are not paid per month.
PERIOD_MONTHS = {"month": 1, "quarter": 3, "half_year": 6, "year": 12}
# Groups the product knows (shown translated); a club may use its own group names as well.
PLAN_GROUPS = ("fitness", "group_classes", "swimming", "racket_sports", "youth", "other")
# eGym MMS API v2 `membershipType` values a plan can be sent as.
EGYM_MEMBERSHIP_TYPES = ("BASIC", "PREMIUM", "PROSPECT", "CORPORATE_FITNESS")


class Plan(db.Model):
    """One entry of the catalogue. Retired plans (active=False) stay on existing subscriptions.

    The catalogue holds no personal data: its rows are written on /plans by staff with
    plans.manage, and a subscription only points at a row (the residual scan skips it).
    """

    __tablename__ = "plans"
    __table_args__ = (one_of("period", PLAN_PERIODS),
                      one_of("egym_membership_type", EGYM_MEMBERSHIP_TYPES),
                      {"info": {"catalogue": True}})

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)  # Dutch display name
    name_en: Mapped[str | None] = mapped_column(String(80))  # English display, where it differs
    period: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # euros, per period
    renews: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)  # False: retired, not offered for new subscriptions
    plan_group: Mapped[str] = mapped_column(String(40))
    egym_membership_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Plan {self.id}>"
