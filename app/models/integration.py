"""What left the club: every delivery of member data to a recipient outside it (GDPR Art. 15(1)(c), 19, 30)."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import one_of, utcnow

# Who received it: a partner client of the API, an equipment connector (eGym, TechnoGym), or a
# recipient without an interface registered by hand (an accountant, an insurer).
RECIPIENT_KINDS = ("api_client", "connector", "manual")


class DataTransfer(db.Model):
    """One delivery: recipient, channel, the field names sent, when. Never the values."""

    __tablename__ = "data_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    recipient_kind: Mapped[str] = mapped_column(String(20))
    # A stable key of the recipient (the API client's user id, the connector's name) and its
    # display name as it was at the time of the delivery.
    recipient_key: Mapped[str] = mapped_column(String(60), index=True)
    recipient_name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(200))
    # Field names as the recipient spells them, comma-separated, in a stable order.
    fields: Mapped[str] = mapped_column(Text, default="")
    member_count: Mapped[int] = mapped_column(default=0)

    members: Mapped[list["DataTransferMember"]] = relationship(
        back_populates="transfer", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (one_of("recipient_kind", RECIPIENT_KINDS),)

    @property
    def field_names(self) -> list[str]:
        return [name for name in self.fields.split(",") if name]


class DataTransferMember(db.Model):
    """Which members one delivery concerned. A full erasure deletes the link; anonymisation keeps it."""

    __tablename__ = "data_transfer_members"

    transfer_id: Mapped[int] = mapped_column(ForeignKey("data_transfers.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)

    transfer: Mapped[DataTransfer] = relationship(back_populates="members")


# --- equipment connectors (eGym, ...): settings, the per-member mapping, the outbox ----------

OUTBOX_STATES = ("pending", "claimed", "done", "parked")


class Connector(db.Model):
    """One equipment platform's settings for this club. The API key is stored encrypted."""

    __tablename__ = "connectors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    base_url: Mapped[str] = mapped_column(String(300), default="")
    # Fernet token of the partner's API key; the key that opens it lives outside the database.
    api_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # TechnoGym's server-to-server access: the application id, the integration user and its
    # password (encrypted like the key). Unused by eGym.
    application_id: Mapped[str | None] = mapped_column(String(100))
    integration_user: Mapped[str | None] = mapped_column(String(200))
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(String(20), default="consent")
    processing_agreement: Mapped[str | None] = mapped_column(String(300))
    # Comma-separated: plan names or plan groups taking part (empty: all), optional fields switched on.
    plans: Mapped[str] = mapped_column(Text, default="")
    optional_fields: Mapped[str] = mapped_column(Text, default="")
    sync_time: Mapped[str | None] = mapped_column(String(5))  # "HH:MM", local time; None: no daily sync
    last_sync_at: Mapped[datetime | None]
    last_full_sync_on: Mapped[str | None] = mapped_column(String(10))
    last_test_at: Mapped[datetime | None]
    last_test_ok: Mapped[bool | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @staticmethod
    def _split(value: str | None) -> list[str]:
        return [part for part in (value or "").split(",") if part]

    @property
    def plan_list(self) -> list[str]:
        return self._split(self.plans)

    @property
    def optional_field_list(self) -> list[str]:
        return self._split(self.optional_fields)


class ConnectorMember(db.Model):
    """A member as one connector knows them: the partner's account id, the opt-out, the last result.

    Holds no personal values: ids, field names, an error code and a message built by us.
    """

    __tablename__ = "connector_members"

    connector: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)
    account_id: Mapped[str | None] = mapped_column(String(100))
    opted_out: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, synced, failed, excluded, removed
    synced_at: Mapped[datetime | None]
    fields: Mapped[str] = mapped_column(Text, default="")
    error_code: Mapped[str | None] = mapped_column(String(60))
    # What the partner was last told about the membership (TechnoGym: "subscribed:<subscription id>"),
    # and the partner's candidate ids when it answered "match found" (for staff to choose from).
    partner_state: Mapped[str | None] = mapped_column(String(40))
    candidates: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxEvent(db.Model):
    """A partner must hear about a change: which member (or, for an erasure, only the partner's account id).

    Never a copy of the member's data: the payload is built from the current data at send time.
    """

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    connector: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[int | None] = mapped_column(index=True)  # no foreign key: the row outlives a deletion
    account_id: Mapped[str | None] = mapped_column(String(100))  # only on erasure rows
    kind: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(60))
    http_status: Mapped[int | None]

    __table_args__ = (Index("ix_outbox_events_due", "connector", "state", "next_attempt_at"),
                      one_of("state", OUTBOX_STATES))


class WorkerHeartbeat(db.Model):
    """A job-queue worker says it is alive (host and process id, no personal data)."""

    __tablename__ = "worker_heartbeats"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- recipients without an interface, registered by hand (an accountant, an insurer) ---------

class ManualRecipient(db.Model):
    """A recipient of member data without an interface: told of a correction or erasure by letter.

    Holds the organisation's own details (its address for the letter), never a member's.
    """

    __tablename__ = "manual_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(200), default="")  # what it does with the data, in words
    address: Mapped[str] = mapped_column(Text, default="")  # where the notification letter goes
    categories: Mapped[str] = mapped_column(Text, default="")  # comma-separated categories of data it receives
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    @property
    def key(self) -> str:
        """Its key in the transfer log."""
        return f"manual:{self.id}"

    @property
    def category_list(self) -> list[str]:
        return [part.strip() for part in self.categories.split(",") if part.strip()]


# --- long jobs started from a page (the retention sweep, a full sync) ---------------------------

JOB_RUN_STATES = ("queued", "running", "done", "failed")


class JobRun(db.Model):
    """One run of a long job on the queue: its progress while it runs, its outcome afterwards. No personal data."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)  # "retention_sweep", "full_sync:egym", ...
    state: Mapped[str] = mapped_column(String(20), default="queued")
    # The kind while queued or running, NULL afterwards: the unique index lets one run of a kind be active.
    active_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    total: Mapped[int | None]
    processed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[str | None] = mapped_column(Text)  # JSON of counts and codes, written by the job
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("state", JOB_RUN_STATES),)
