"""Fixtures for the connector tests: a loopback eGym, a configured connector, short retry settings."""

import os
from datetime import datetime

import pytest

from app.services.connectors import settings
from tests.integrations.egym_server import MISSING, FakeEgym


def pytest_collection_modifyitems(config, items):
    """Without eGym's document the contract tests cannot check a body: skipped with the reason, failed in CI."""
    if MISSING is None:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(MISSING)
    for item in items:
        if "egym" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=MISSING))

KEY = "test-key-123"


@pytest.fixture
def egym():
    server = FakeEgym(api_key=KEY).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def short_retries(app):
    saved = {k: app.config.get(k) for k in ("CONNECTOR_RETRY_BASE_SECONDS", "CONNECTOR_MAX_ATTEMPTS",
                                            "CONNECTOR_LEASE_SECONDS", "CONNECTOR_TIMEOUT_SECONDS")}
    app.config.update(CONNECTOR_RETRY_BASE_SECONDS=10, CONNECTOR_MAX_ATTEMPTS=4, CONNECTOR_LEASE_SECONDS=60,
                      CONNECTOR_TIMEOUT_SECONDS=5)
    yield
    app.config.update(saved)


@pytest.fixture
def clock_at(frozen_clock):
    return frozen_clock(datetime(2026, 3, 2, 9, 0, 0))


@pytest.fixture
def configure(db, egym):
    """configure(**settings) -> the eGym connector enabled against the loopback server (consent basis by default)."""

    def do(**overrides):
        options = {"url": egym.url, "api_key": KEY, "basis": "consent", "enabled": True}
        options.update(overrides)
        row = settings.configure("egym", actor=None, **options)
        db.session.commit()
        return row

    return do


@pytest.fixture
def egym_member(make_member, make_plan, db):
    """egym_member(consent=True, **fields) -> a member with a subscription and (by default) consent for eGym."""
    from datetime import date
    from decimal import Decimal

    from app.models import Consent, Subscription

    def make(consent=True, plan="Fitness onbeperkt", group="fitness", egym_type=None, **fields):
        fields.setdefault("gender", "female")
        member = make_member(**fields)
        catalogue_plan = make_plan(plan, plan_group=group, egym_membership_type=egym_type)
        db.session.add(Subscription(member_id=member.id, plan=catalogue_plan, starts_on=date(2024, 1, 1),
                                    monthly_fee=Decimal("39.50"), status="active"))
        if consent:
            db.session.add(Consent(member_id=member.id, purpose="egym", given_via="desk"))
        db.session.commit()
        return member

    return make


@pytest.fixture
def technogym():
    from app.services.connectors import technogym as technogym_api
    from tests.integrations.technogym_server import FakeTechnogym

    technogym_api.forget_tokens()
    server = FakeTechnogym().start()
    yield server
    server.stop()
    technogym_api.forget_tokens()


@pytest.fixture
def configure_technogym(db, technogym):
    """configure_technogym(**settings) -> TechnoGym enabled against the loopback server (consent basis by default)."""

    def do(**overrides):
        options = {"url": technogym.url, "api_key": technogym.api_key, "application_id": technogym.application_id,
                   "integration_user": technogym.username, "password": technogym.password, "basis": "consent",
                   "enabled": True}
        options.update(overrides)
        row = settings.configure("technogym", actor=None, **options)
        db.session.commit()
        return row

    return do


@pytest.fixture
def gym_member(egym_member, db):
    """gym_member(platforms=("egym", "technogym"), **fields) -> a member with consent for the given platforms."""
    from app.models import Consent

    def make(platforms=("technogym",), **fields):
        member = egym_member(consent="egym" in platforms, **fields)
        if "technogym" in platforms:
            db.session.add(Consent(member_id=member.id, purpose="technogym", given_via="desk"))
            db.session.commit()
        return member

    return make
