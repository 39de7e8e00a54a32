"""Everything the connectors need to know about plans, in one place.

Today a subscription names its plan in free text; the plan catalogue (model Plan with
plan_group and egym_membership_type) replaces that. Only this module changes then.
"""

from sqlalchemy import distinct, exists, select

from app.extensions import db
from app.models import Member, Subscription

DEFAULT_MEMBERSHIP_TYPE = "BASIC"


def plan_choices() -> list[str]:
    """Plan names (and, with the catalogue, plan groups) staff can choose from."""
    return sorted(p for p in db.session.scalars(select(distinct(Subscription.plan))) if p)


def in_chosen_plans(chosen: list[str]):
    """SQL condition on Member: a subscription in one of the chosen plans (running, or the last one of an ended member)."""
    return exists().where(
        Subscription.member_id == Member.id,
        Subscription.plan.in_(chosen),
        (Subscription.status == "active") | (Member.status == "ended"),
    )


def current_subscription(member: Member) -> Subscription | None:
    active = [s for s in member.subscriptions if s.status == "active"]
    return (active or list(member.subscriptions) or [None])[0]


def membership_type(member: Member) -> str:
    """eGym's membershipType for the member's plan (the catalogue's partner mapping; BASIC until then)."""
    return DEFAULT_MEMBERSHIP_TYPE

