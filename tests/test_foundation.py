"""The base every feature stands on: routes declare access, schema matches migrations, i18n, health."""

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.auth.decorators import access_of
from app.auth.permissions import CATALOGUE, CODES, DEFAULT_ROLES
from app.extensions import db as _db
from app.services import search_index

PUBLIC_ENDPOINTS = {"core.healthz", "core.set_language", "auth.login", "auth.login_code", "api.openapi_json"}
PUBLIC_BLUEPRINTS = {"intake"}


def test_every_route_declares_its_access(app):
    undeclared, wrongly_public = [], []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        access = access_of(app.view_functions[rule.endpoint])
        if access is None:
            undeclared.append(rule.rule)
            continue
        kind, codes = access
        blueprint = rule.endpoint.split(".")[0]
        if kind == "public" and rule.endpoint not in PUBLIC_ENDPOINTS and blueprint not in PUBLIC_BLUEPRINTS:
            wrongly_public.append(rule.rule)
        if kind == "permission":
            assert codes and set(codes) <= CODES, rule.rule
    assert undeclared == [], f"routes without a permission check: {undeclared}"
    assert wrongly_public == [], f"routes open to the public that should not be: {wrongly_public}"


def test_permission_catalogue_is_complete_and_described(app):
    codes = [p.code for p in CATALOGUE]
    assert len(codes) == len(set(codes))
    for info in CATALOGUE:
        assert re.fullmatch(r"[a-z]+(\.[a-z_]+)+", info.code)
        with app.test_request_context():
            assert len(str(info.description)) > 10
    for spec in DEFAULT_ROLES.values():
        assert set(spec["codes"]) <= CODES


def test_migrations_produce_exactly_the_models(app):
    """The session database was built by `flask db upgrade`; autogenerate must find nothing.

    The tables that are not models (SQLite's FTS5 search index, see services/search_index.py) are
    left out by the same hook `flask db migrate` uses; nothing else is.
    """
    with _db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "include_name": search_index.include_name})
        diff = compare_metadata(context, _db.metadata)
    assert diff == []


def test_sqlite_enforces_foreign_keys(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert db.session.execute(_db.text("PRAGMA foreign_keys")).scalar() == 1


def test_healthz_answers_json(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert set(body["jobs"]) == {"worker_alive", "worker_seen_at", "outbox_backlog", "outbox_oldest_at", "parked"}


def test_pages_need_login(client):
    response = client.get("/members")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_login_and_dashboard_in_dutch_by_default(make_app, make_user, password_hash):
    app = make_app(BABEL_DEFAULT_LOCALE="nl")
    user = make_user("front_desk")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "Inloggen" in page and "Gebruikersnaam" in page
    from tests.conftest import TEST_PASSWORD

    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Overzicht" in page and "Leden" in page
    client.post("/language", data={"lang": "en", "next": "/"})
    page = client.get("/").get_data(as_text=True)
    assert "Dashboard" in page and "Members" in page


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user("front_desk")
    response = client.post("/login", data={"username": user.username, "password": "not-the-password"})
    assert response.status_code == 200
    assert "Unknown username or wrong password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_every_string_has_a_dutch_translation():
    from app import catalogs as i18n

    missing = i18n.missing("nl")
    assert missing == [], "run `python -m app.catalogs stub AREA` and translate: " + ", ".join(m for m, _ in missing[:20])


def test_no_translation_is_left_for_a_string_the_code_dropped():
    from app import catalogs as i18n

    assert i18n.stale("nl") == {}, "run `python -m app.catalogs prune`"


def test_compiled_templates_are_kept_and_an_edited_template_is_compiled_afresh(make_app, tmp_path):
    """A new process renders from the kept compiled templates, yet never shows an old version of one."""
    from jinja2 import FileSystemLoader

    cache, sources = tmp_path / "compiled", tmp_path / "templates"
    sources.mkdir()
    (sources / "note.html").write_text("Opening hours: {{ hours }}")

    def render():
        fresh = make_app(TEMPLATE_CACHE_DIR=str(cache))
        fresh.jinja_env.loader = FileSystemLoader(sources)
        return fresh.jinja_env.get_template("note.html").render(hours="7-23")

    assert render() == "Opening hours: 7-23"
    assert len(list(cache.iterdir())) == 1  # compiled once and kept
    (sources / "note.html").write_text("Open from {{ hours }}, also on Sundays")
    assert render() == "Open from 7-23, also on Sundays"
