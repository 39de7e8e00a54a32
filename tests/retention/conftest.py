"""Fixtures for the retention tests: policies, rows of every category at chosen moments."""

from datetime import date, datetime

import pytest

from app.extensions import db as _db
from app.models import RetentionPolicy
from app.services import retention


@pytest.fixture
def policies(db):
    """The default policies, saved; returns {category: policy}."""
    db.session.add_all(p for p in retention.policies() if p.id is None)
    db.session.commit()
    return {p.category: p for p in db.session.scalars(_db.select(RetentionPolicy))}


@pytest.fixture
def sweep(db):
    """sweep(**options) runs the real sweep with the session's commit, as the CLI does."""

    def run(actor=None, **options):
        return retention.run_sweep(actor, commit=db.session.commit, **options)

    return run


def at(year, month, day, hour=12):
    """A naive UTC datetime (what the database stores)."""
    return datetime(year, month, day, hour, 0)


__all__ = ["at", "date"]


@pytest.fixture
def in_request(app):
    """A request context (English), for service calls that produce translated text."""
    with app.test_request_context("/"):
        yield
