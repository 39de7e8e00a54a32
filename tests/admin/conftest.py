"""Fixtures for the admin tests."""

import pytest


@pytest.fixture
def in_request(app):
    """A request context, for service calls whose refusal messages are translated."""
    with app.test_request_context():
        yield
