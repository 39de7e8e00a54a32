"""Shared column helpers for the model modules."""

from datetime import datetime

from sqlalchemy import CheckConstraint

from app import clock


def utcnow() -> datetime:
    """Column default: the current time in UTC (naive), read through the controllable clock."""
    return clock.utcnow()


def one_of(column: str, vocabulary: tuple[str, ...]) -> CheckConstraint:
    """The database's own guard on a vocabulary column: `column` holds one of `vocabulary` (or NULL).

    Named `ck_<table>_<column>` (the metadata's naming convention); migration 0100_h12_a creates them, and
    tests/test_foundation.py holds the database's constraints equal to the models'.
    """
    allowed = ", ".join(f"'{value}'" for value in vocabulary)
    # The erasure's residual scan skips the column: it can hold no typed text (app/services/erasure/scan.py).
    return CheckConstraint(f"{column} IN ({allowed})", name=column, info={"vocabulary_of": column})
