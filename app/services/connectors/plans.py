"""Everything the connectors need to know about plans, in one place: the plan catalogue.

A club chooses the plans taking part by plan name or by plan group (e.g. "fitness");
eGym's membershipType comes from the plan's partner mapping (`egym_membership_type`).
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select

from app.extensions import db
from app.models import Member, Plan, Subscription

DEFAULT_MEMBERSHIP_TYPE = "BASIC"  # a plan without a mapping


# Choices are stored as stable keys, never as names: "plan:<id>" or "group:<key>". A plan renamed
# in the catalogue stays chosen (matching by name made its members ineligible, and the next
# delivery deleted their partner accounts).
PLAN_KEY, GROUP_KEY = "plan:", "group:"


def plan_choices() -> list[tuple[str, str]]:
    """(key, label) of what staff can choose: each plan group, then each plan by name."""
    from app.services.plans import group_label

    groups = sorted({g for g in db.session.scalars(select(Plan.plan_group).distinct()) if g})
    found = db.session.execute(select(Plan.id, Plan.name).order_by(Plan.name)).all()
    return ([(f"{GROUP_KEY}{g}", _l("Plan group: %(name)s", name=group_label(g))) for g in groups]
            + [(f"{PLAN_KEY}{plan_id}", name) for plan_id, name in found])


def resolve_choices(values) -> list[str]:
    """Keys for what staff chose: keys as they are, or plan names and group keys as the CLI takes them.

    Raises ValueError naming what matches no plan or group.
    """
    groups = {g for g in db.session.scalars(select(Plan.plan_group).distinct()) if g}
    by_name = {name.strip().casefold(): plan_id for plan_id, name in db.session.execute(select(Plan.id, Plan.name))}
    keys, unknown = set(), []
    for value in values or ():
        value = (value or "").strip()
        if not value:
            continue
        if value.startswith(PLAN_KEY) and value[len(PLAN_KEY):].isdigit() and db.session.get(Plan, int(value[len(PLAN_KEY):])):
            keys.add(value)
        elif value.startswith(GROUP_KEY) and value[len(GROUP_KEY):] in groups:
            keys.add(value)
        elif value in groups:
            keys.add(f"{GROUP_KEY}{value}")
        elif value.casefold() in by_name:
            keys.add(f"{PLAN_KEY}{by_name[value.casefold()]}")
        else:
            unknown.append(value)
    if unknown:
        raise ValueError(", ".join(unknown))
    return sorted(keys)


def choice_labels(keys) -> list[str]:
    """The chosen keys in words (the plan's current name, the group's label)."""
    labels = dict(plan_choices())
    return [str(labels.get(key, key)) for key in keys]


def in_chosen_plans(chosen: list[str]):
    """SQL condition on Member: a subscription whose plan, or plan group, is chosen (running, or the last of an ended member)."""
    ids = [int(k[len(PLAN_KEY):]) for k in chosen if k.startswith(PLAN_KEY) and k[len(PLAN_KEY):].isdigit()]
    groups = [k[len(GROUP_KEY):] for k in chosen if k.startswith(GROUP_KEY)]
    return exists().where(
        Subscription.member_id == Member.id,
        Subscription.plan_id == Plan.id,
        or_(Plan.id.in_(ids), Plan.plan_group.in_(groups)),
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
