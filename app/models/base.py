"""Shared column helpers for the model modules."""

from datetime import datetime

from app import clock


def utcnow() -> datetime:
    """Column default: the current time in UTC (naive), read through the controllable clock."""
    return clock.utcnow()
