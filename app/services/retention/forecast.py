"""What the sweep would do now and what falls due soon (the preview and the dashboard panel)."""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    RetentionPolicy,
)
from app.services import clock
from app.services.retention.categories import CATEGORIES, Category
from app.services.retention.policies import policies
from app.services.retention.rules import RULES, _held_back_condition, due_condition

SAMPLE_SIZE = 10
HORIZON_DAYS = 30


def _count(model, condition) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(condition)) or 0


@dataclass
class Forecast:
    """What one policy would do now, and what falls due soon."""

    policy: RetentionPolicy
    category: Category
    due: int
    held_back: int
    due_soon: int
    sample: list[int] = field(default_factory=list)


def forecast(today: date | None = None, *, horizon_days: int = HORIZON_DAYS, sample_size: int = SAMPLE_SIZE) -> list[Forecast]:
    """Per policy: rows due now, rows kept back (hold, open claim), rows due within the horizon."""
    today = today or clock.today()
    later = today + timedelta(days=horizon_days)
    result = []
    for policy in policies():
        rule = RULES[policy.category]
        due_now = due_condition(policy, today)
        due = _count(rule.model, due_now)
        held_back = _count(rule.model, _held_back_condition(policy, today))
        due_soon = max(_count(rule.model, due_condition(policy, later)) - due, 0)
        sample = []
        if due and sample_size and rule.member_numbers is not None:
            numbers = rule.member_numbers(due_now).subquery()
            sample = list(
                db.session.scalars(
                    select(numbers.c[0]).distinct().order_by(numbers.c[0]).limit(sample_size)
                )
            )
        result.append(Forecast(policy, CATEGORIES[policy.category], due, held_back, due_soon, sample))
    return result


def fingerprint(forecasts: list[Forecast]) -> str:
    """A short digest of a preview, so a run can tell that the numbers changed since."""
    payload = [
        (f.policy.category, f.policy.period_months, f.policy.counted_from, f.policy.action, f.policy.enabled, f.due)
        for f in forecasts
    ]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]

