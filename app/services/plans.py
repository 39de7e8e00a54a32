"""The plan catalogue: what members can subscribe to, maintained by staff with plans.manage.

Plans are club data, not personal data: a subscription points at a plan by id, so nothing
typed about a person is stored with it, and anonymisation keeps the reference for the
figures (which plan, when, how long). A plan in use is retired, never deleted.
Every function takes an explicit ``actor``, writes its audit event, flushes; the caller commits.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select, update

from app.extensions import db
from app.models import Plan, Subscription
from app.models.plan import EGYM_MEMBERSHIP_TYPES, PERIOD_MONTHS, PLAN_GROUPS, PLAN_PERIODS
from app.services import audit, clock, signals
from app.services.errors import DomainError

NAME_LENGTH = 80
GROUP_LENGTH = 40
MAX_PRICE = Decimal("100000")
FIELDS = ("name", "name_en", "period", "price", "renews", "plan_group", "egym_membership_type")

PERIOD_LABELS = {
    "month": _l("per month"),
    "quarter": _l("per quarter"),
    "half_year": _l("per half year"),
    "year": _l("per year"),
    "week": _l("per week"),
    "day": _l("day pass"),
    "ten_ride": _l("ten-ride card"),
    "lifetime": _l("once, for life"),
}
GROUP_LABELS = {
    "fitness": _l("Fitness"),
    "group_classes": _l("Group classes"),
    "swimming": _l("Swimming"),
    "racket_sports": _l("Racket sports"),
    "youth": _l("Youth"),
    "other": _l("Other"),
}
assert set(PERIOD_LABELS) == set(PLAN_PERIODS) and set(GROUP_LABELS) == set(PLAN_GROUPS)  # noqa: S101


class PlanError(DomainError, ValueError):
    """A catalogue rule refused the change; str(error) is a message for staff, field names the form field."""

    def __str__(self) -> str:
        return str(self.message)


def fold(text: str | None) -> str:
    """How names are compared: trimmed, runs of spaces made one, case-folded."""
    return " ".join((text or "").split()).casefold()


def _tidy(text: str | None) -> str:
    return " ".join((text or "").split())


# --- showing plans ----------------------------------------------------------------------------


def _locale(locale) -> str:
    return str(locale or get_locale() or "nl")[:2]


def plan_label(plan: Plan | None, locale=None) -> str:
    """The plan's name in a language: the English name where one is set, else the Dutch name."""
    if plan is None:
        return ""
    if _locale(locale) == "en" and plan.name_en:
        return plan.name_en
    return plan.name


def group_label(group: str | None) -> str:
    """A known group translated; a club's own group name as it was written."""
    label = GROUP_LABELS.get(group or "")
    return str(label) if label is not None else (group or "")


def period_label(period: str | None) -> str:
    label = PERIOD_LABELS.get(period or "")
    return str(label) if label is not None else (period or "")


def monthly_price(plan: Plan) -> Decimal | None:
    """The price per month for plans paid per month, quarter, half year or year; None for the others."""
    months = PERIOD_MONTHS.get(plan.period)
    if months is None:
        return None
    return (Decimal(plan.price) / months).quantize(Decimal("0.01"))


def active_plans() -> list[Plan]:
    """The plans offered for new subscriptions, by group and name."""
    return list(db.session.scalars(select(Plan).where(Plan.active.is_(True)).order_by(Plan.plan_group, Plan.name)))


def all_plans() -> list[Plan]:
    """The whole catalogue: active plans first, then the retired ones."""
    return list(db.session.scalars(select(Plan).order_by(Plan.active.desc(), Plan.plan_group, Plan.name)))


def get_plan(plan_id) -> Plan | None:
    try:
        plan_id = int(plan_id)
    except (TypeError, ValueError):
        return None
    if not 0 < plan_id < 2**31:
        return None
    return db.session.get(Plan, plan_id)


def known_groups() -> list[str]:
    """Group names for the form's suggestions: the known ones, then those the club uses."""
    used = db.session.scalars(select(Plan.plan_group).distinct()).all()
    return list(PLAN_GROUPS) + sorted(g for g in used if g not in PLAN_GROUPS)


# --- figures ------------------------------------------------------------------------------------


def running_clause(today=None):
    """A subscription counts as active while its status is active and its end date has not passed."""
    today = today or clock.today()
    return (Subscription.status == "active") & or_(Subscription.ends_on.is_(None), Subscription.ends_on >= today)


@dataclass(frozen=True)
class PlanCount:
    plan: Plan
    active: int
    ended: int


def subscription_counts(*, include_retired: bool = True) -> list[PlanCount]:
    """Per plan: its active subscriptions and the ended ones (anonymised members' included), one query."""
    running = running_clause()
    rows = db.session.execute(
        select(Subscription.plan_id,
               func.sum(case((running, 1), else_=0)),
               func.sum(case((running, 0), else_=1)))
        .group_by(Subscription.plan_id)
    ).all()
    counts = {plan_id: (int(active or 0), int(ended or 0)) for plan_id, active, ended in rows}
    result = []
    for plan in all_plans():
        if not include_retired and not plan.active and not counts.get(plan.id, (0, 0))[0]:
            continue
        active, ended = counts.get(plan.id, (0, 0))
        result.append(PlanCount(plan, active, ended))
    return result


def active_counts() -> list[PlanCount]:
    """For the dashboard: plans with active subscriptions, most subscribed first (retired ones too).

    Counts only the running subscriptions: one range of ix_subscriptions_status_plan, without the
    table (subscription_counts also counts the ended ones, for the catalogue page).
    """
    rows = db.session.execute(
        select(Subscription.plan_id, func.count()).where(running_clause()).group_by(Subscription.plan_id)
    ).all()
    active = {plan_id: int(count) for plan_id, count in rows}
    counts = [PlanCount(plan, active[plan.id], 0) for plan in all_plans() if active.get(plan.id)]
    return sorted(counts, key=lambda c: (-c.active, c.plan.name))


# --- changing the catalogue -----------------------------------------------------------------------


def _clean(data: dict, plan: Plan | None) -> dict:
    """Check and normalise a plan's fields; PlanError names the first field at fault."""
    name = _tidy(data.get("name"))
    if not name:
        raise PlanError(_l("A plan needs a name."), field="name")
    if len(name) > NAME_LENGTH:
        raise PlanError(_l("A name has at most %(max)s characters.", max=NAME_LENGTH), field="name")
    name_en = _tidy(data.get("name_en")) or None
    if name_en and len(name_en) > NAME_LENGTH:
        raise PlanError(_l("A name has at most %(max)s characters.", max=NAME_LENGTH), field="name_en")
    if name_en and fold(name_en) == fold(name):
        name_en = None  # only where the English name differs
    period = data.get("period")
    if period not in PLAN_PERIODS:
        raise PlanError(_l("Choose a period from the list."), field="period")
    try:
        price = Decimal(str(data.get("price"))).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise PlanError(_l("Enter the price in euros, for example 34.95."), field="price") from None
    if not price.is_finite() or not Decimal(0) <= price <= MAX_PRICE:
        raise PlanError(_l("Enter a price between 0 and 100,000 euros."), field="price")
    renews = bool(data.get("renews"))
    if renews and period == "lifetime":
        raise PlanError(_l("A plan bought once for life cannot renew."), field="renews")
    group = _tidy(data.get("plan_group"))
    group = next((key for key in PLAN_GROUPS if fold(key) == fold(group) or fold(GROUP_LABELS[key]) == fold(group)),
                 group)
    if not group:
        raise PlanError(_l("Choose or type a group, for example fitness."), field="plan_group")
    if len(group) > GROUP_LENGTH:
        raise PlanError(_l("A group has at most %(max)s characters.", max=GROUP_LENGTH), field="plan_group")
    egym = data.get("egym_membership_type") or None
    if egym is not None and egym not in EGYM_MEMBERSHIP_TYPES:
        raise PlanError(_l("Choose an eGym membership type from the list."), field="egym_membership_type")
    for other in db.session.scalars(select(Plan).where(Plan.id != (plan.id if plan and plan.id else -1))):
        taken = {fold(other.name), fold(other.name_en or other.name)}
        retired = "" if other.active else " " + str(_l("(retired: reactivate it instead)"))
        for field, typed in (("name", name), ("name_en", name_en or name)):
            if fold(typed) in taken:
                message = str(_l("The catalogue already has a plan named %(name)s.", name=typed)) + retired
                raise PlanError(message, field=field)
    return {"name": name, "name_en": name_en, "period": period, "price": price, "renews": renews,
            "plan_group": group, "egym_membership_type": egym}


def create_plan(data: dict, *, actor, source_ip: str | None = None) -> Plan:
    """Add a plan to the catalogue (active)."""
    plan = Plan(**_clean(data, None), active=True)
    db.session.add(plan)
    db.session.flush()
    audit.record("plan.create", actor, target_type="plan", target_id=plan.id,
                 details={"period": plan.period, "group": plan.plan_group}, source_ip=source_ip)
    return plan


# Sent inside the transaction with the ids of members whose plan data changed in a way the
# session's own change tracking does not show (a set-based merge, a plan's group or partner
# mapping edited); the connectors' outbox subscribes, so the partners hear of it.
members_changed = signals.members_changed

# Plan fields a partner receives or chooses members by.
PARTNER_FIELDS = {"plan_group", "egym_membership_type"}


def _members_on(plan_id: int) -> list[int]:
    return list(db.session.scalars(select(Subscription.member_id).where(Subscription.plan_id == plan_id).distinct()))


def update_plan(plan: Plan, data: dict, *, actor, source_ip: str | None = None) -> list[str]:
    """Change a plan; returns the names of the changed fields. Existing subscriptions keep their own fee."""
    cleaned = _clean(data, plan)
    changed = [name for name in FIELDS if getattr(plan, name) != cleaned[name]]
    if not changed:
        return []
    for name in changed:
        setattr(plan, name, cleaned[name])
    plan.updated_at = clock.utcnow()
    db.session.flush()
    if PARTNER_FIELDS & set(changed):
        members_changed.send(plan, member_ids=_members_on(plan.id))
    audit.record("plan.update", actor, target_type="plan", target_id=plan.id, details={"fields": changed},
                 source_ip=source_ip)
    return changed


def retire_plan(plan: Plan, *, actor, source_ip: str | None = None) -> int:
    """Stop offering a plan; its subscriptions keep it. Returns how many active subscriptions it still has."""
    if not plan.active:
        raise PlanError(_l("This plan has already been retired."))
    plan.active = False
    plan.updated_at = clock.utcnow()
    db.session.flush()
    still = active_subscriptions_of(plan)
    audit.record("plan.retire", actor, target_type="plan", target_id=plan.id,
                 details={"active_subscriptions": still}, source_ip=source_ip)
    return still


def reactivate_plan(plan: Plan, *, actor, source_ip: str | None = None) -> None:
    """Offer a retired plan again."""
    if plan.active:
        raise PlanError(_l("This plan is already offered."))
    plan.active = True
    plan.updated_at = clock.utcnow()
    db.session.flush()
    audit.record("plan.reactivate", actor, target_type="plan", target_id=plan.id, source_ip=source_ip)


def merge_plan(source: Plan, into: Plan, *, actor, source_ip: str | None = None) -> int:
    """Move every subscription of `source` to `into` (spelling variants after the migration) and retire `source`.

    One set-based UPDATE; the fees agreed with the members stay. Returns how many subscriptions moved.
    """
    if source.id == into.id:
        raise PlanError(_l("Choose another plan to merge into."), field="into")
    if not into.active:
        raise PlanError(_l("Reactivate %(name)s first, or merge into a plan that is offered.", name=into.name), field="into")
    affected = _members_on(source.id)
    moved = db.session.execute(
        update(Subscription).where(Subscription.plan_id == source.id).values(plan_id=into.id),
        execution_options={"synchronize_session": False},
    ).rowcount
    source.active = False
    source.updated_at = clock.utcnow()
    db.session.flush()
    db.session.expire_all()  # subscriptions loaded before now point at the old plan in memory
    members_changed.send(into, member_ids=affected)
    audit.record("plan.merge", actor, target_type="plan", target_id=into.id,
                 details={"from_plan": source.id, "subscriptions": moved}, source_ip=source_ip)
    return moved


def active_subscriptions_of(plan: Plan) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Subscription).where(Subscription.plan_id == plan.id, running_clause())
    ) or 0


def ensure_plans(specs) -> dict[str, Plan]:
    """Find or add catalogue entries by (folded) name, for demo data and imports: {name: Plan}."""
    existing = {fold(p.name): p for p in db.session.scalars(select(Plan))}
    found = {}
    for spec in specs:
        plan = existing.get(fold(spec["name"]))
        if plan is None:
            plan = Plan(**{"active": True, "renews": True, **spec})
            db.session.add(plan)
            existing[fold(plan.name)] = plan
        found[spec["name"]] = plan
    db.session.flush()
    return found
