"""The API clients' changes feed (GDPR Art. 19): who must hear that a member it received changed.

Each entry is written in the same transaction as the change itself, one row per API client
that received the member (read from the transfer log): `rectified` when a field granted to
that client changed (members.update_member), `restricted` when processing was restricted
(privacy_requests.set_restriction), `erased` for an erasure (through the erasure engine's
hook, so the wizard, the retention sweep and reapply-erasures all write it). No values.
"""

from sqlalchemy import DateTime, String, cast, insert, literal, select

from app.extensions import db
from app.models import ApiClient, DataTransfer, DataTransferMember, Member, MemberChange
from app.services import clock, signals

CHUNK = 5000


def _recipient_clients(member_ids):
    """(client, member id) pairs: API clients that received these members, per the transfer log."""
    return (
        select(ApiClient.id, DataTransferMember.member_id)
        .join(DataTransfer, DataTransfer.recipient_key == cast(ApiClient.user_id, String))
        .join(DataTransferMember, DataTransferMember.transfer_id == DataTransfer.id)
        .where(DataTransfer.recipient_kind == "api_client", DataTransferMember.member_id.in_(member_ids))
        .distinct()
    )


def rectified(member: Member, changed_fields) -> int:
    """A member's details changed: tell each client for which one of its granted fields changed."""
    from app.services.api_clients import granted_fields

    changed = set(changed_fields)
    rows = db.session.execute(_recipient_clients([member.id])).all()
    if not rows:
        return 0
    clients = {c.id: c for c in db.session.scalars(select(ApiClient).where(ApiClient.id.in_([r[0] for r in rows])))}
    now = clock.utcnow()
    written = 0
    for client_id, _member_id in rows:
        if changed & set(granted_fields(clients[client_id])):
            db.session.add(MemberChange(client_id=client_id, member_id=member.id, member_number=member.member_number,
                                        kind="rectified", at=now))
            written += 1
    db.session.flush()
    return written


def _write(member_ids, kind: str) -> None:
    """One row per (receiving client, member), set-based."""
    now = clock.utcnow()
    ids = sorted(set(member_ids))
    for start in range(0, len(ids), CHUNK):
        pairs = _recipient_clients(ids[start:start + CHUNK]).subquery()
        source = (
            select(pairs.c.id, pairs.c.member_id, Member.member_number, literal(kind, String(20)),
                   literal(now, DateTime()))
            .join(Member, Member.id == pairs.c.member_id)
        )
        db.session.execute(insert(MemberChange).from_select(
            ["client_id", "member_id", "member_number", "kind", "at"], source))


def restricted(member: Member) -> None:
    """Processing of the member was restricted (Art. 18): the clients that had the data must know."""
    _write([member.id], "restricted")
    db.session.flush()


def on_erasure(_sender, member_ids=(), **_kw) -> None:
    """Receiver of ``signals.erasing``: written before the engine deletes the members and their transfer links.

    The members are the engine's staged batch (the ids of member_ids), read in one statement.
    """
    from app.services import erasure

    pairs = _recipient_clients(erasure._batch_ids()).subquery()
    db.session.execute(insert(MemberChange).from_select(
        ["client_id", "member_id", "member_number", "kind", "at"],
        select(pairs.c.id, pairs.c.member_id, Member.member_number, literal("erased", String(20)),
               literal(clock.utcnow(), DateTime())).join(Member, Member.id == pairs.c.member_id)))


def feed(client: ApiClient, *, after_id: int = 0, limit: int = 100) -> list[MemberChange]:
    """The client's entries after a cursor, oldest first."""
    return list(db.session.scalars(
        select(MemberChange).where(MemberChange.client_id == client.id, MemberChange.id > after_id)
        .order_by(MemberChange.id).limit(limit)
    ))


def register() -> None:
    """Connect the erasure hook (once)."""
    signals.erasing.connect(on_erasure)

