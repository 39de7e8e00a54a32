"""The partner API: each client's settings, its idempotency keys and its changes feed."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.auth import User
from app.models.base import one_of, utcnow

# What the changes feed tells a client about a member it has received (GDPR Art. 19).
CHANGE_KINDS = ("rectified", "restricted", "erased")


class ApiClient(db.Model):
    """The settings of one partner system; its account and roles are a User of kind 'partner'.

    A token is `chp_<token_id>_<secret>`: the id finds the row, the SHA-256 of the whole token
    is compared in constant time. Only hashes are stored; the token is shown once.
    """

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    # Member fields granted on top of the ones every client gets, as the API spells them.
    extra_fields: Mapped[str] = mapped_column(Text, default="")
    # Addresses and CIDR ranges (IPv4, IPv6), comma-separated; empty: any address.
    allowed_networks: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[datetime]
    processing_agreement: Mapped[str] = mapped_column(Text, default="")
    token_id: Mapped[str] = mapped_column(String(24), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # After a rotation the previous token keeps working until previous_valid_until.
    previous_token_id: Mapped[str | None] = mapped_column(String(24), index=True)
    previous_token_hash: Mapped[str | None] = mapped_column(String(64))
    previous_valid_until: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # "revoked" (by staff) or "exposed" (a valid token arrived without TLS).
    revoked_reason: Mapped[str | None] = mapped_column(String(20))
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def name(self) -> str:
        return self.user.username


class ApiIdempotencyKey(db.Model):
    """An Idempotency-Key of a POST /checkins, so a retried check-in counts once (kept 24 hours)."""

    __tablename__ = "api_idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    # SHA-256 of the key and of the request body: the key is the client's free text.
    key_hash: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("client_id", "key_hash", name="uq_api_idempotency_keys_client_key"),)


class MemberChange(db.Model):
    """One entry of a client's changes feed: a member it received was rectified, restricted or erased.

    Written in the same transaction as the change, one row per client that had received the
    member (from the transfer log). No values, only the member number, the kind and the time.
    """

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    member_number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (Index("ix_member_changes_client_id_id", "client_id", "id"),
                      one_of("kind", CHANGE_KINDS))
