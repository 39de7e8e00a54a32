"""Schemathesis against the served OpenAPI document, over real TLS: no server errors, and every
response matches the document (status, content type, body schema).

Bounded for the normal suite (a few generated examples per operation, no coverage phase);
`make test-long` (and CI) runs every phase with API_FUZZ_EXAMPLES (default 300) each.
"""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.models import Subscription, Visit
from tests.api.conftest import Server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
LONG_EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "300"))


@pytest.fixture(scope="session")
def fuzz_server(make_app, ssl_context):
    server = Server(make_app(API_RATE_LIMIT=1_000_000), ssl_context=ssl_context)
    yield server
    server.stop()


def _document() -> dict:
    """The document the app serves, built once at collection (the test checks the served one is equal)."""
    from app import create_app
    from app.config import TestConfig

    app = create_app(type("SpecConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://"}))
    with app.app_context():
        return app.extensions["clubhouse_api"].spec.to_dict()


DOCUMENT = _document()


@pytest.fixture
def world(db, make_member, make_client, make_plan):
    """A few members with history, and a client holding every scope and field."""
    from datetime import date, datetime

    from app.services.api_clients import API_FIELDS

    for i in range(3):
        member = make_member(member_number=1001 + i, first_name=f"Lid{i}")
        db.session.add(Subscription(member_id=member.id, plan=make_plan("Basis"), starts_on=date(2026, 1, 1), monthly_fee=25))
        db.session.add(Visit(member_id=member.id, checked_in_at=datetime(2026, 2, 1, 8, 0), location="Zaal"))
    db.session.commit()
    _client, token = make_client(scopes=["api.members.read", "api.subscriptions.read", "api.visits.read",
                                         "api.visits.write", "api.changes.read"], fields=API_FIELDS)
    return token


BOUNDED = SchemathesisConfig.from_str("[phases.coverage]\nenabled = false\n")
schema = schemathesis.openapi.from_dict(DOCUMENT, config=BOUNDED)
long_schema = schemathesis.openapi.from_dict(DOCUMENT)  # every phase, the boundary values included


def test_the_served_document_is_the_one_fuzzed(fuzz_server, ca_file):
    import requests

    served = requests.get(fuzz_server.base + "/api/v1/openapi.json", verify=ca_file, timeout=10)
    assert served.status_code == 200 and served.json() == DOCUMENT
    assert DOCUMENT["openapi"] == "3.1.0"


def _call(case, token, server, ca_file):
    case.call_and_validate(base_url=server.base, headers={"Authorization": f"Bearer {token}"}, verify=ca_file,
                           checks=CHECKS)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_matches_its_document(case, world, fuzz_server, ca_file):
    _call(case, world, fuzz_server, ca_file)


@pytest.mark.long
@long_schema.parametrize()
@settings(max_examples=LONG_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_matches_its_document_long_run(case, world, fuzz_server, ca_file):
    _call(case, world, fuzz_server, ca_file)
