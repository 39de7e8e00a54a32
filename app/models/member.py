"""The member administration: members and everything attached to them."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import one_of, utcnow
from app.models.plan import Plan

MEMBER_STATUSES = ("active", "ended", "anonymised")
ACTIVE, ENDED, ANONYMISED = MEMBER_STATUSES
SUBSCRIPTION_STATUSES = ("active", "ended", "cancelled", "frozen")  # frozen: paused (TechnoGym hears Froze)
INVOICE_STATUSES = ("open", "paid", "cancelled")
VISIT_SOURCES = ("desk", "gate", "app", "import")
CONSENT_PURPOSES = ("newsletter", "photos", "marketing", "technogym", "egym")


class Member(db.Model):
    """A club member; member_number (klantnummer) is what staff see and is never reused."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_number: Mapped[int] = mapped_column(unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    infix: Mapped[str | None] = mapped_column(String(30))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None]
    gender: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    street: Mapped[str | None] = mapped_column(String(150))
    house_number: Mapped[str | None] = mapped_column(String(20))
    postcode: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="NL")
    iban: Mapped[str | None] = mapped_column(String(40))
    joined_on: Mapped[date]
    ended_on: Mapped[date | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)
    processing_restricted: Mapped[bool] = mapped_column(default=False)
    restricted_since: Mapped[datetime | None]
    anonymised_at: Mapped[datetime | None]
    # Lower-case, accent-free copy of the searchable fields; erasure must clear it too.
    search_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    subscriptions: Mapped[list["Subscription"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Subscription.starts_on.desc()",
    )
    consents: Mapped[list["Consent"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Consent.given_at.desc()",
    )
    staff_notes: Mapped[list["StaffNote"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True,
        order_by="StaffNote.created_at.desc()",
    )
    health_notes: Mapped[list["HealthNote"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", passive_deletes=True,
        order_by="HealthNote.created_at.desc()",
    )

    __table_args__ = (
        Index("ix_members_name", "last_name", "first_name"),
        # The member search is LIKE '%term%' on search_text: a trigram GIN index on PostgreSQL
        # (migration 0010_members_search); SQLite gets a plain index that it scans instead of the table.
        Index("ix_members_search_text", "search_text", postgresql_using="gin",
              postgresql_ops={"search_text": "gin_trgm_ops"}),
        one_of("status", MEMBER_STATUSES),
    )

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.infix, self.last_name) if part)

    @property
    def sort_name(self) -> str:
        """'Berg, Anna van den': how a Dutch member list sorts and shows names."""
        given = " ".join(part for part in (self.first_name, self.infix) if part)
        return f"{self.last_name}, {given}" if given else self.last_name

    @hybrid_property
    def is_anonymised(self) -> bool:
        """Erased by anonymisation; in SQL too (``Member.is_anonymised``, ``~Member.is_anonymised``)."""
        return self.status == ANONYMISED

    def __repr__(self) -> str:  # member number only: names never reach logs
        return f"<Member {self.member_number}>"


class MemberStatusCount(db.Model):
    """How many members have each status, kept by database triggers on `members` (migration 0103_h18a_a).

    The member list's total and the dashboard's active members read it instead of counting the
    status index on every page. Written only by the triggers, in the member row's transaction.
    """

    __tablename__ = "member_status_counts"
    # Code that copies rows table by table (a test's saved world) leaves it out: inserting the
    # members rebuilds it, and copying it too would count them twice.
    __table_args__ = {"info": {"kept_by_triggers": True}}

    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    total: Mapped[int]


class Subscription(db.Model):
    """A member's subscription to a plan from the catalogue, over a period."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    # RESTRICT: a plan with subscriptions is retired, never deleted (erasure leaves the catalogue alone).
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    monthly_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member] = relationship(back_populates="subscriptions")
    plan: Mapped[Plan] = relationship()

    # The running subscriptions per plan (the dashboard's counts) are one range of this index,
    # read without the table; the catalogue's counts of every subscription read it whole.
    __table_args__ = (Index("ix_subscriptions_status_plan", "status", "plan_id", "ends_on"),
                      one_of("status", SUBSCRIPTION_STATUSES))


class Visit(db.Model):
    """One check-in at the club."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    checked_in_at: Mapped[datetime] = mapped_column(index=True)
    # Indexed for the erasure's row scan: it steps through the few distinct locations of millions of visits.
    location: Mapped[str] = mapped_column(String(100), default="", index=True)
    # One of VISIT_SOURCES, never typed text (its CHECK constraint): the residual scan of an erasure skips it.
    source: Mapped[str] = mapped_column(String(20), default="desk")

    member: Mapped[Member] = relationship()

    __table_args__ = (Index("ix_visits_member_time", "member_id", "checked_in_at"),
                      one_of("source", VISIT_SOURCES))


class Invoice(db.Model):
    """An invoice is an immutable document with its own copy of the billing name and address.

    It outlives an erased member (fiscal retention), detached: member_id becomes NULL.
    """

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    # Generated ("F2026-0000001"), never typed text: the residual scan of an erasure skips it.
    number: Mapped[str] = mapped_column(String(30), unique=True, info={"scan": False})
    issued_on: Mapped[date] = mapped_column(index=True)
    due_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    description: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    paid_on: Mapped[date | None]
    billing_name: Mapped[str] = mapped_column(String(250))
    billing_address: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship()

    __table_args__ = (one_of("status", INVOICE_STATUSES),)


class Consent(db.Model):
    """Consent for one purpose: when and how it was given, and withdrawn."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(40))
    given_at: Mapped[datetime] = mapped_column(default=utcnow)
    given_via: Mapped[str] = mapped_column(String(40), default="desk")
    withdrawn_at: Mapped[datetime | None] = mapped_column(index=True)  # the retention policy's range
    withdrawn_via: Mapped[str | None] = mapped_column(String(40))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    member: Mapped[Member] = relationship(back_populates="consents")

    __table_args__ = (one_of("purpose", CONSENT_PURPOSES),)

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class _MemberNote:
    """The columns of a note about a member, written by staff (health notes and staff notes alike)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class HealthNote(_MemberNote, db.Model):
    """Special-category data (GDPR Art. 9): only with the health permission."""

    __tablename__ = "health_notes"

    member: Mapped[Member] = relationship(back_populates="health_notes")


class StaffNote(_MemberNote, db.Model):
    """A free-text note by staff about a member."""

    __tablename__ = "staff_notes"

    member: Mapped[Member] = relationship(back_populates="staff_notes")
