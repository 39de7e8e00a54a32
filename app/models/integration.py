"""What left the club: every delivery of member data to a recipient outside it (GDPR Art. 15(1)(c), 19, 30)."""

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

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

    @property
    def field_names(self) -> list[str]:
        return [name for name in self.fields.split(",") if name]


class DataTransferMember(db.Model):
    """Which members one delivery concerned. A full erasure deletes the link; anonymisation keeps it."""

    __tablename__ = "data_transfer_members"

    transfer_id: Mapped[int] = mapped_column(ForeignKey("data_transfers.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True)

    transfer: Mapped[DataTransfer] = relationship(back_populates="members")
