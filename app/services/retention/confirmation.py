"""Before a sweep deletes anything: the counts per category, typed back as the total, and every member affected.

A single erasure needs the member number typed; a sweep that may delete thousands of records
needs its total typed, after a page that shows what each category loses. The preview lists every
member the sweep touches, a page at a time, with the categories that touch them.
"""

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, union

from app.extensions import db
from app.models import Member
from app.services import clock
from app.services.errors import DomainError
from app.services.retention.categories import CATEGORIES, DISPLAY_ORDER
from app.services.retention.forecast import Forecast
from app.services.retention.policies import describe, policies
from app.services.retention.rules import RULES, due_condition

AFFECTED_PER_PAGE = 50


class SweepConfirmationError(DomainError):
    """The typed total does not match what the sweep would process."""


@dataclass(frozen=True)
class PlanRow:
    """One category the sweep would process now: its policy in words and how many records."""

    category: str
    policy_words: str
    action: str
    count: int


def sweep_plan(forecasts: list[Forecast]) -> list[PlanRow]:
    """The categories with something due, in the order the pages list them."""
    order = {key: index for index, key in enumerate(DISPLAY_ORDER)}
    rows = [PlanRow(f.policy.category, describe(f.policy), f.policy.action, f.due)
            for f in forecasts if f.policy.enabled and f.due]
    return sorted(rows, key=lambda row: order.get(row.category, len(order)))


def plan_total(forecasts: list[Forecast]) -> int:
    return sum(row.count for row in sweep_plan(forecasts))


def check_confirmation(typed: str | None, forecasts: list[Forecast]) -> None:
    """The officer typed the total the confirmation page shows (separators allowed); nothing due needs nothing."""
    total = plan_total(forecasts)
    if not total:
        return
    digits = "".join(ch for ch in (typed or "") if ch not in " .,\u00a0'")
    if not digits:
        raise SweepConfirmationError(_l("Type the number of records to confirm."), field="confirm_total")
    if not digits.isdigit() or int(digits) != total:
        raise SweepConfirmationError(
            _l("That is not the number of records the sweep would process. Type the number shown above."),
            field="confirm_total")


def _affected(today: date):
    """Select (member_number, category) for every member some enabled policy would touch now."""
    parts = []
    for policy in policies():
        rule = RULES[policy.category]
        if not policy.enabled or rule.member_numbers is None:
            continue
        numbers = rule.member_numbers(due_condition(policy, today)).subquery()
        parts.append(select(numbers.c[0].label("member_number"), literal(policy.category).label("category")))
    if not parts:
        return None
    return (union(*parts) if len(parts) > 1 else parts[0].distinct()).subquery()


@dataclass(frozen=True)
class AffectedMember:
    member_number: int
    full_name: str | None  # None for a viewer who may not see members, or a member already gone
    categories: list[str]  # category labels, in words


@dataclass(frozen=True)
class AffectedPage:
    items: list[AffectedMember]
    total: int
    page: int
    pages: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def affected_members(page: int = 1, *, per_page: int = AFFECTED_PER_PAGE, with_names: bool = False,
                     today: date | None = None) -> AffectedPage:
    """Every member the sweep would touch now, by member number, a page at a time, with the categories."""
    affected = _affected(today or clock.today())
    if affected is None:
        return AffectedPage([], 0, 1, 1)
    total = db.session.scalar(select(func.count(affected.c.member_number.distinct())))
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    numbers = list(db.session.scalars(
        select(affected.c.member_number).distinct().order_by(affected.c.member_number)
        .offset((page - 1) * per_page).limit(per_page)))
    categories: dict[int, list[str]] = {number: [] for number in numbers}
    order = {key: index for index, key in enumerate(DISPLAY_ORDER)}
    if numbers:
        rows = db.session.execute(select(affected.c.member_number, affected.c.category)
                                  .where(affected.c.member_number.in_(numbers)))
        for number, category in sorted(rows, key=lambda row: (row[0], order.get(row[1], 99))):
            categories[number].append(str(CATEGORIES[category].label))
    names = {}
    if with_names and numbers:
        names = {member.member_number: member.full_name for member in db.session.scalars(
            select(Member).where(Member.member_number.in_(numbers), ~Member.is_anonymised))}
    items = [AffectedMember(number, names.get(number), categories[number]) for number in numbers]
    return AffectedPage(items, total, page, pages)
