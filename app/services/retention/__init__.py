"""Retention policies per data category, and the sweep that applies them.

Each category of personal data has one policy: a period in months, what the period is
counted from, and what happens then (delete or anonymise), with its basis in words.
The sweep applies every enabled policy with set-based SQL, in chunks: each chunk is one
transaction, so an interrupted sweep leaves every row (and every member) either fully
processed or untouched, and the next run simply carries on. Ended memberships go through
the erasure engine (app/services/erasure), so they enter the erasure ledger exactly
like an erasure from the wizard. Members under a legal hold are never touched.

The package, one job a module (every public name stays importable from ``app.services.retention``):
- ``categories``: the categories of data, their defaults and their wording;
- ``policies``: the defaults in code, the saved rows, reading and changing a policy;
- ``rules``: the declarative due-rules (per category: the model, the SQL that makes rows due,
  what keeps them anyway, and how to name the members concerned);
- ``forecast``: what the sweep would do now and within the horizon;
- ``confirmation``: the counts typed back before a sweep, and every member it affects, paginated;
- ``sweep``: the sweep itself, in chunked transactions, and the last sweep's summary.
"""

from app.services.retention.categories import (
    ACTION_CHOICES,
    ACTION_WORDS,
    BASIS_MAX_LENGTH,
    CATEGORIES,
    COUNTED_FROM_WORDS,
    DISPLAY_ORDER,
    FISCAL_MINIMUM_MONTHS,
    MAX_PERIOD_MONTHS,
    SWEEP_ORDER,
    Category,
    period_words,
)
from app.services.retention.confirmation import (
    AFFECTED_PER_PAGE,
    AffectedMember,
    AffectedPage,
    PlanRow,
    SweepConfirmationError,
    affected_members,
    check_confirmation,
    plan_total,
    sweep_plan,
)
from app.services.retention.forecast import (
    HORIZON_DAYS,
    SAMPLE_SIZE,
    Forecast,
    fingerprint,
    forecast,
    forecast_counts,
)
from app.services.retention.policies import (
    PolicyError,
    basis_text,
    describe,
    effective_policy,
    policies,
    policy_for,
    update_policy,
)
from app.services.retention.rules import (
    RULES,
    Rule,
    due_condition,
)
from app.services.retention.sweep import (
    CRON_LINE,
    DELETE_CHUNK,
    JOB_NAME,
    MEMBER_CHUNK,
    SQLITE_BULK_PRAGMAS,
    SQLITE_CACHE_KIB,
    STALE_AFTER_DAYS,
    SWEEP_COMMAND,
    SweepResult,
    last_sweep,
    nightly_due,
    run_nightly,
    run_sweep,
    sweep_is_stale,
    sweep_summary,
)

__all__ = [
    "AFFECTED_PER_PAGE",
    "ACTION_CHOICES",
    "AffectedMember",
    "AffectedPage",
    "PlanRow",
    "SweepConfirmationError",
    "affected_members",
    "check_confirmation",
    "plan_total",
    "sweep_plan",
    "ACTION_WORDS",
    "BASIS_MAX_LENGTH",
    "CATEGORIES",
    "COUNTED_FROM_WORDS",
    "CRON_LINE",
    "Category",
    "DELETE_CHUNK",
    "DISPLAY_ORDER",
    "FISCAL_MINIMUM_MONTHS",
    "Forecast",
    "HORIZON_DAYS",
    "JOB_NAME",
    "MAX_PERIOD_MONTHS",
    "MEMBER_CHUNK",
    "PolicyError",
    "RULES",
    "Rule",
    "SAMPLE_SIZE",
    "SQLITE_BULK_PRAGMAS",
    "SQLITE_CACHE_KIB",
    "STALE_AFTER_DAYS",
    "SWEEP_COMMAND",
    "SWEEP_ORDER",
    "SweepResult",
    "basis_text",
    "describe",
    "due_condition",
    "effective_policy",
    "fingerprint",
    "forecast",
    "forecast_counts",
    "last_sweep",
    "period_words",
    "policies",
    "policy_for",
    "nightly_due",
    "run_nightly",
    "run_sweep",
    "sweep_is_stale",
    "sweep_summary",
    "update_policy",
]
