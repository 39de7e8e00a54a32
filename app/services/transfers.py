"""The transfer log: what member data went to which recipient, and when (never the values).

Every part that sends member data out of the club (the partner API, the equipment
connectors, a recipient registered by hand) records its deliveries here, so the member's
data export, the member page and the Art. 19 notifications read one log.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select

from app.extensions import db
from app.models import DataTransfer, DataTransferMember
from app.models.integration import RECIPIENT_KINDS
from app.services import clock


def record(recipient_kind: str, recipient_key: str, recipient_name: str, channel: str,
           fields: Iterable[str], member_ids: Iterable[int]) -> DataTransfer | None:
    """Log one delivery of `fields` for `member_ids`; flushes, the caller commits. None when no member."""
    if recipient_kind not in RECIPIENT_KINDS:
        raise ValueError(f"unknown recipient kind {recipient_kind!r}")
    ids = sorted(set(member_ids))
    if not ids:
        return None
    transfer = DataTransfer(
        at=clock.utcnow(), recipient_kind=recipient_kind, recipient_key=str(recipient_key),
        recipient_name=recipient_name, channel=channel, fields=",".join(fields), member_count=len(ids),
    )
    db.session.add(transfer)
    db.session.flush()
    db.session.execute(insert(DataTransferMember), [{"transfer_id": transfer.id, "member_id": i} for i in ids])
    return transfer


@dataclass(frozen=True)
class Received:
    """One recipient of a member's data: what it received, first and last time."""

    recipient_kind: str
    recipient_key: str
    recipient_name: str
    fields: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    deliveries: int


def recipients_of(member_id: int) -> list[Received]:
    """Every recipient that received data of this member, with the union of the fields sent."""
    rows = db.session.execute(
        select(DataTransfer.recipient_kind, DataTransfer.recipient_key, DataTransfer.recipient_name,
               DataTransfer.fields, DataTransfer.at)
        .join(DataTransferMember, DataTransferMember.transfer_id == DataTransfer.id)
        .where(DataTransferMember.member_id == member_id)
        .order_by(DataTransfer.at)
    ).all()
    grouped: dict[tuple[str, str], dict] = {}
    for kind, key, name, fields, at in rows:
        entry = grouped.setdefault((kind, key), {"name": name, "fields": [], "first": at, "last": at, "n": 0})
        entry["name"] = name  # the latest display name
        entry["last"] = at
        entry["n"] += 1
        for field in fields.split(","):
            if field and field not in entry["fields"]:
                entry["fields"].append(field)
    return [
        Received(kind, key, e["name"], tuple(e["fields"]), e["first"], e["last"], e["n"])
        for (kind, key), e in grouped.items()
    ]


def count_for_recipient(recipient_key: str) -> int:
    """How many deliveries one recipient has had."""
    return db.session.scalar(select(func.count()).select_from(DataTransfer)
                             .where(DataTransfer.recipient_key == str(recipient_key))) or 0


def export_recipients(member) -> list:
    """The member's data export (Art. 15(1)(c)) lists every recipient of the transfer log."""
    from app.services.export.art15 import Recipient

    return [
        Recipient(name=r.recipient_name, kind=r.recipient_kind, categories=list(r.fields),
                  first_at=r.first_at.date(), last_at=r.last_at.date(), times=r.deliveries)
        for r in recipients_of(member.id)
    ]


def register_export_source() -> None:
    """Make the transfer log the export's source of recipients (idempotent)."""
    from app.services.export import art15

    art15.register_recipient_source(export_recipients)
