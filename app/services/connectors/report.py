"""What the overview and the member page show: read from the declaration, the settings and the logs."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select

from app.extensions import db
from app.models import Connector, ConnectorMember, DataTransfer, Member, OutboxEvent
from app.services import transfers
from app.services.connectors import egym, settings
from app.services.connectors import plans as connector_plans

LOG_ROWS = 25


@dataclass
class Overview:
    row: Connector
    declaration: object
    sent_fields: list
    not_sent_fields: list
    eligible: int
    synced: int
    pending: int
    failed: int
    parked: int
    errors: list  # (member number or None, code, text, when, candidate ids)
    log: list  # DataTransfer rows, newest first
    plan_labels: list  # the plans and groups taking part, in words (none: all plans)


@dataclass
class SyncProblems:
    """One partner's errors to resolve: members whose sync failed, deliveries parked after their retries."""

    name: str
    display_name: str
    failed: int
    parked: int


def sync_problems() -> list[SyncProblems]:
    """Per partner with something to resolve, the overview's Failed and Parked counts: one grouped statement."""
    failed = (select(ConnectorMember.connector, literal("failed").label("kind"), func.count().label("n"))
              .where(ConnectorMember.state == "failed").group_by(ConnectorMember.connector))
    parked = (select(OutboxEvent.connector, literal("parked").label("kind"), func.count().label("n"))
              .where(OutboxEvent.state == "parked").group_by(OutboxEvent.connector))
    found: dict[str, dict] = {}
    for name, kind, count in db.session.execute(failed.union_all(parked)):
        found.setdefault(name, {"failed": 0, "parked": 0})[kind] = count
    return [
        SyncProblems(name, settings.DECLARATIONS[name].display_name if name in settings.DECLARATIONS else name, **counts)
        for name, counts in sorted(found.items())
    ]


def error_text(code: str | None, connector: str = "egym"):
    if not code:
        return ""
    spec = settings.DECLARATIONS.get(connector, egym.DECLARATION)
    if code.startswith("missing:"):
        name = code.split(":", 1)[1]
        label = next((f.label for f in spec.fields if f.name == name), name)
        return _l("The required field '%(field)s' has no value: fill it in on the member page.", field=label)
    return settings.ERROR_TEXTS.get(connector, egym.ERROR_TEXTS).get(code, code)


def overview(name: str) -> Overview:
    spec = settings.declaration(name)
    row = settings.connector(name)
    chosen = row.optional_field_list
    sent = spec.sent_fields(chosen)
    count = lambda q: db.session.scalar(q) or 0  # noqa: E731
    eligible = count(select(func.count()).select_from(Member).where(settings.eligible_clause(row)))
    synced = count(select(func.count()).select_from(ConnectorMember).where(
        ConnectorMember.connector == name, ConnectorMember.state == "synced"))
    failed = count(select(func.count()).select_from(ConnectorMember).where(
        ConnectorMember.connector == name, ConnectorMember.state == "failed"))
    pending = count(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.connector == name, OutboxEvent.state.in_(("pending", "claimed"))))
    parked = count(select(func.count()).select_from(OutboxEvent).where(
        OutboxEvent.connector == name, OutboxEvent.state == "parked"))
    errors = [
        (number, code, error_text(code, name), when, [c for c in (candidates or "").split(",") if c])
        for number, code, when, candidates in db.session.execute(
            select(Member.member_number, ConnectorMember.error_code, ConnectorMember.updated_at,
                   ConnectorMember.candidates)
            .join(Member, Member.id == ConnectorMember.member_id)
            .where(ConnectorMember.connector == name, ConnectorMember.state == "failed")
            .order_by(Member.member_number).limit(200)
        )
    ]
    errors += [(None, code, error_text(code, name), when, []) for code, when in db.session.execute(
        select(OutboxEvent.error_code, OutboxEvent.created_at).where(
            OutboxEvent.connector == name, OutboxEvent.state == "parked", OutboxEvent.member_id.is_(None)))]
    log = list(db.session.scalars(select(DataTransfer).where(DataTransfer.recipient_key == name)
                                  .order_by(DataTransfer.at.desc(), DataTransfer.id.desc()).limit(LOG_ROWS)))
    return Overview(row, spec, sent, [f for f in spec.fields if f not in sent], eligible, synced, pending, failed,
                    parked, errors, log, connector_plans.choice_labels(row.plan_list))


def member_connectors(member: Member) -> list[dict]:
    """For the member page: per connector, when it last received this member's data and which fields (by label)."""
    found = []
    for received in transfers.recipients_of(member.id):
        if received.recipient_kind != "connector" or received.recipient_key not in settings.DECLARATIONS:
            continue
        spec = settings.DECLARATIONS[received.recipient_key]
        names = {f.name: f.label for f in spec.fields}
        link = db.session.get(ConnectorMember, (received.recipient_key, member.id))
        found.append({
            "name": received.recipient_name, "key": received.recipient_key, "first_at": received.first_at,
            "last_at": received.last_at, "times": received.deliveries, "fields": [names.get(n, n) for n in received.fields],
            "state": link.state if link else None, "opted_out": bool(link and link.opted_out),
        })
    return found
