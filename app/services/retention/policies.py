"""Retention policies: the defaults in code, the saved rows, reading and changing them."""


from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from app.extensions import db
from app.models import (
    RetentionPolicy,
)
from app.services import audit, clock, fiscal
from app.services.errors import DomainError
from app.services.retention.categories import (
    ACTION_WORDS,
    BASIS_MAX_LENGTH,
    CATEGORIES,
    COUNTED_FROM_WORDS,
    DISPLAY_ORDER,
    MAX_PERIOD_MONTHS,
    period_words,
)


class PolicyError(DomainError, ValueError):
    """A policy change was refused; field says which form field, str(error) why (translated)."""

    def __init__(self, field_name: str, message):
        super().__init__(message, field=field_name)



# ---------------------------------------------------------------------------- policies


# The defaults live in CATEGORIES, in code: a category without a saved row follows them, and
# a row is written only when someone edits the policy (update_policy). Reading never writes.


def _default_policy(category: str) -> RetentionPolicy:
    """An unsaved policy holding the category's defaults."""
    spec = CATEGORIES[category]
    return RetentionPolicy(category=category, period_months=spec.default_period, counted_from=spec.counted_from[0],
                           action=spec.actions[0], basis="",  # empty: the default basis, in the reader's language
                           enabled=True)


def policies() -> list[RetentionPolicy]:
    """Every category's effective policy (saved, or its defaults), in display order."""
    found = {p.category: p for p in db.session.scalars(select(RetentionPolicy))}
    return [found.get(key) or _default_policy(key) for key in DISPLAY_ORDER]


def policy_for(category: str) -> RetentionPolicy | None:
    """The saved policy row, or None while the category follows its defaults."""
    return db.session.scalar(select(RetentionPolicy).where(RetentionPolicy.category == category))


def effective_policy(category: str) -> RetentionPolicy:
    """The club's policy for a category: the saved one, or an unsaved one holding the defaults."""
    return policy_for(category) or _default_policy(category)


def basis_text(policy: RetentionPolicy) -> str:
    """The basis in words: the privacy officer's own text, or the default in the reader's language."""
    return policy.basis or str(CATEGORIES[policy.category].default_basis)

def describe(policy: RetentionPolicy) -> str:
    """The policy in plain words: 'Visit history: deleted 24 months after the visit'."""
    category = CATEGORIES[policy.category]
    return _(
        "%(category)s: %(action)s %(period)s after %(start)s",
        category=category.label,
        action=ACTION_WORDS[policy.action],
        period=period_words(policy.period_months),
        start=COUNTED_FROM_WORDS[policy.counted_from],
    )


def update_policy(
    policy: RetentionPolicy,
    actor,
    *,
    period_months,
    counted_from: str,
    action: str,
    basis: str,
    enabled: bool,
) -> bool:
    """Change a policy after checking it (PolicyError); audited; returns whether anything changed.

    The policy may be an unsaved default (effective_policy): it is saved only when it changes.
    A basis equal to the category's default (in the editor's language) is stored empty, so the
    default keeps showing in each reader's language.
    """
    category = CATEGORIES[policy.category]
    try:
        period = int(period_months)
    except (TypeError, ValueError):
        raise PolicyError("period_months", _("Enter the period as a whole number of months.")) from None
    if period < category.minimum_period:
        if category.key == "invoices":
            raise PolicyError(
                "period_months",
                _(
                    "Invoices must be kept at least %(minimum)s months (%(years)s years after the end of the "
                    "book year): Dutch tax law requires it.",
                    minimum=category.minimum_period,
                    years=fiscal.RETENTION_YEARS,
                ),
            )
        raise PolicyError(
            "period_months", ngettext("The period must be at least %(num)s month.",
                                      "The period must be at least %(num)s months.", category.minimum_period)
        )
    if period > MAX_PERIOD_MONTHS:
        raise PolicyError("period_months", _("The period can be at most %(maximum)s months.", maximum=MAX_PERIOD_MONTHS))
    if counted_from not in category.counted_from:
        raise PolicyError("counted_from", _("Choose one of the listed starting points."))
    if action not in category.actions:
        raise PolicyError("action", _("Choose one of the listed actions."))
    basis = (basis or "").strip()
    if len(basis) > BASIS_MAX_LENGTH:
        raise PolicyError("basis", _("The basis can be at most %(maximum)s characters.", maximum=BASIS_MAX_LENGTH))
    if basis == str(category.default_basis).strip():
        basis = ""

    old = _policy_terms(policy)
    old_basis = policy.basis
    policy.period_months = period
    policy.counted_from = counted_from
    policy.action = action
    policy.basis = basis
    policy.enabled = bool(enabled)
    new = _policy_terms(policy)
    if old == new and old_basis == basis:
        return False
    if policy.id is None and policy not in db.session:
        db.session.add(policy)  # the first edit of a category that followed its defaults
    policy.updated_by_id = getattr(actor, "id", None)
    policy.updated_at = clock.utcnow()
    db.session.flush()
    audit.record(
        "retention.policy_changed",
        actor,
        target_type="retention_policy",
        target_id=policy.category,
        details={"category": policy.category, "old": old, "new": new, "basis_changed": old_basis != basis},
    )
    return True


def _policy_terms(policy: RetentionPolicy) -> dict:
    return {
        "period_months": policy.period_months,
        "counted_from": policy.counted_from,
        "action": policy.action,
        "enabled": policy.enabled,
    }

