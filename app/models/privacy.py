"""Data requests (GDPR Art. 15-21), their timeline, legal holds and the erasure ledger."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.api import CHANGE_KINDS
from app.models.base import one_of, utcnow
from app.models.integration import RECIPIENT_KINDS

REQUEST_KINDS = ("access", "portability", "erasure", "rectification", "restriction", "objection")
REQUEST_CHANNELS = ("intake", "desk", "mail", "email", "phone")
REQUEST_STATUSES = ("received", "in_progress", "completed", "refused", "withdrawn")
ERASURE_GROUNDS = ("no_longer_needed", "consent_withdrawn", "objection", "unlawful", "legal_obligation")
ERASURE_METHODS = ("delete", "anonymise")
DECISIONS = ("grant", "partial", "refuse")
# Which kinds come with a data export, and which go through the erasure wizard.
EXPORT_KINDS = ("access", "portability")
WIZARD_KINDS = ("erasure", "objection")
# The wizard's steps in order; "executing" (the erasure runs) and "closed" (the letter is made,
# the request closed) lie outside the pages a person is sent to.
WIZARD_STEPS = ("ground", "decision", "method", "confirm", "result", "letter")
WIZARD_EXECUTED_STEPS = ("executing", "result", "letter", "closed")  # the erasure has run or is running
# What minimising a request clears: the requester's own details (the register keeps the rest).
# privacy_requests.minimise, the erasure engine and its residual scan all read this.
REQUESTER_FIELDS = ("requester_name", "requester_email", "requester_date_of_birth", "requester_member_number", "message")


class DataRequest(db.Model):
    """A data subject's request, from receipt to its closing, with its deadline."""

    __tablename__ = "data_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)
    channel: Mapped[str] = mapped_column(String(20), default="intake")
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    # What the requester told us; removed (minimised) once the request is closed.
    requester_name: Mapped[str | None] = mapped_column(String(250))
    requester_email: Mapped[str | None] = mapped_column(String(254))
    requester_date_of_birth: Mapped[date | None]
    requester_member_number: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(String(5))  # the language of the public form: the letter's default
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id", ondelete="SET NULL"), index=True
    )
    # Kept after erasure: a member number is not reused and lets the register stay readable.
    member_number: Mapped[int | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_on: Mapped[date] = mapped_column(index=True)
    extended_due_on: Mapped[date | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    identity_verified_at: Mapped[datetime | None]
    identity_verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    identity_method: Mapped[str | None] = mapped_column(Text)
    ground: Mapped[str | None] = mapped_column(String(30))
    exceptions_found: Mapped[str | None] = mapped_column(Text)  # JSON list of exception codes
    decision: Mapped[str | None] = mapped_column(String(20))
    decision_reason: Mapped[str | None] = mapped_column(Text)  # internal: for the file, not for the letter
    letter_text: Mapped[str | None] = mapped_column(Text)  # what the letter tells the member about the decision
    erasure_method: Mapped[str | None] = mapped_column(String(20))
    wizard_step: Mapped[str | None] = mapped_column(String(20))
    verification_report: Mapped[str | None] = mapped_column(Text)  # JSON, no personal data
    outcome: Mapped[str | None] = mapped_column(Text)
    export_produced_at: Mapped[datetime | None]
    export_handed_over_at: Mapped[datetime | None]
    letter_produced_at: Mapped[datetime | None]
    # The letter as made, kept so a lost file can be downloaded again until the officer marks it sent
    # (then removed); the retention sweep removes an unsent copy after LETTER_KEEP_DAYS.
    letter_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    letter_sent_at: Mapped[datetime | None]
    # The address the requester asked the letter to be e-mailed to, copied from requester_email as the
    # letter is made (before the minimising removes that): it lives and goes with letter_pdf (removed
    # when the mail has gone, the letter is marked sent, or the sweep removes the unsent copy).
    letter_email: Mapped[str | None] = mapped_column(String(254))
    closed_at: Mapped[datetime | None]
    minimised_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    member = relationship("Member")
    events: Mapped[list["RequestEvent"]] = relationship(
        back_populates="request", cascade="all, delete-orphan", passive_deletes=True,
        order_by="RequestEvent.occurred_at",
    )

    __table_args__ = (
        one_of("kind", REQUEST_KINDS),
        one_of("channel", REQUEST_CHANNELS),
        one_of("status", REQUEST_STATUSES),
        one_of("ground", ERASURE_GROUNDS),
        one_of("decision", DECISIONS),
        one_of("erasure_method", ERASURE_METHODS),
    )

    @property
    def effective_due_on(self) -> date:
        return self.extended_due_on or self.due_on

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def has_export(self) -> bool:
        """An access or portability request: it is answered with a data export."""
        return self.kind in EXPORT_KINDS

    @property
    def uses_wizard(self) -> bool:
        """An erasure (or an objection continued into one) goes through the erasure wizard."""
        return self.kind in WIZARD_KINDS

    @property
    def erasure_executed(self) -> bool:
        """The wizard's erasure has run (or is running): it cannot be executed again."""
        return self.wizard_step in WIZARD_EXECUTED_STEPS

    @property
    def wizard_unfinished(self) -> bool:
        """The wizard was started and its letter is not made yet: the request cannot be completed."""
        return self.uses_wizard and self.wizard_step not in (None, "closed")


class RequestEvent(db.Model):
    """One step on a request's timeline: who did what, when."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)

    request: Mapped[DataRequest] = relationship(back_populates="events")
    actor = relationship("User")


class LegalHold(db.Model):
    """A dispute or legal claim that keeps a member's data from erasure and the sweep."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_at: Mapped[datetime] = mapped_column(default=utcnow)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    lifted_at: Mapped[datetime | None]
    lifted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    member = relationship("Member")


class ErasureRecord(db.Model):
    """The erasure ledger inside the database; its twin is an append-only file outside it.

    member_key is a keyed hash (HMAC-SHA256) of the member number: the number itself is
    never stored here, so the ledger can be kept and compared without holding personal data.
    """

    __tablename__ = "erasure_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_key: Mapped[str] = mapped_column(String(64), index=True)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
    method: Mapped[str] = mapped_column(String(20))
    request_reference: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="wizard")
    prev_hash: Mapped[str] = mapped_column(String(64))
    # Not unique-indexed on purpose: the chain already makes each hash unique, and a random
    # 64-character unique index triples the cost of the retention sweep's bulk insert.
    entry_hash: Mapped[str] = mapped_column(String(64))

    # No index on erased_at: nothing looks entries up by time, and the index only slowed the
    # retention sweep's bulk insert (migration 0060_ledger_indexes).


NOTICE_STATES = ("pending", "notified", "failed", "impossible")


class RecipientNotice(db.Model):
    """GDPR Art. 19 on one request: one recipient of the member's data, told of the correction, restriction or erasure.

    Names the recipient as the transfer log did and what it received (field names); the member
    is named only through the request (its member number). `outbox_event_id` is the connector's
    outbox row that carries the news; the delivery marks this notice when that row is delivered.
    """

    __tablename__ = "recipient_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))  # one of CHANGE_KINDS: rectified, restricted, erased
    recipient_kind: Mapped[str] = mapped_column(String(20))
    recipient_key: Mapped[str] = mapped_column(String(60))
    recipient_name: Mapped[str] = mapped_column(String(120))
    fields: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    notified_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(300))  # our words or a partner's error code
    reason: Mapped[str | None] = mapped_column(Text)  # why notifying is impossible or disproportionate
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    outbox_event_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: the outbox is swept

    request: Mapped[DataRequest] = relationship()

    __table_args__ = (
        one_of("action", CHANGE_KINDS),
        one_of("recipient_kind", RECIPIENT_KINDS),
        one_of("state", NOTICE_STATES),
    )

    @property
    def is_resolved(self) -> bool:
        return self.state in ("notified", "impossible")
