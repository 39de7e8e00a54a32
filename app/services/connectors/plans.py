"""Everything the connectors need to know about plans, in one place: the plan catalogue.

A club chooses the plans taking part by plan name or by plan group (e.g. "fitness");
eGym's membershipType comes from the plan's partner mapping (`egym_membership_type`).
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

from app.extensions import db
from app.models import Member, Plan, Subscription

DEFAULT_MEMBERSHIP_TYPE = "BASIC"  # a plan without a mapping


def plan_choices() -> list[tuple[str, str]]:
    """(value, label) of what staff can choose: each plan group, then each plan by name."""
    groups = sorted({g for g in db.session.scalars(select(Plan.plan_group).distinct()) if g})
    names = list(db.session.scalars(select(Plan.name).order_by(Plan.name)))
    from app.services.plans import group_label

    return [(g, _l("Plan group: %(name)s", name=group_label(g))) for g in groups] + [(n, n) for n in names if n not in groups]


def in_chosen_plans(chosen: list[str]):
    """SQL condition on Member: a subscription whose plan, or plan group, is chosen (running, or the last of an ended member)."""
    return exists().where(
        Subscription.member_id == Member.id,
        Subscription.plan_id == Plan.id,
        or_(Plan.name.in_(chosen), Plan.plan_group.in_(chosen)),
        (Subscription.status == "active") | (Member.status == "ended"),
    )


def current_subscription(member: Member) -> Subscription | None:
    active = [s for s in member.subscriptions if s.status == "active"]
    return (active or list(member.subscriptions) or [None])[0]


def membership_type(member: Member) -> str:
    """eGym's membershipType: the current plan's partner mapping, BASIC where the plan has none."""
    subscription = current_subscription(member)
    plan = subscription.plan if subscription is not None else None
    return (plan.egym_membership_type if plan is not None else None) or DEFAULT_MEMBERSHIP_TYPE
