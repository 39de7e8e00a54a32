"""Cookies and response headers every page carries."""

import re
from pathlib import Path

from app.config import ProductionConfig
from tests.conftest import TEST_PASSWORD

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "templates"


def _session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies
    return cookies[-1]


def test_session_cookie_is_httponly_and_lax(client, make_user):
    user = make_user("front_desk")
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD})
    cookie = _session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on a development machine


def test_production_cookie_is_secure(make_app, make_user):
    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    app = make_app(SESSION_COOKIE_SECURE=ProductionConfig.SESSION_COOKIE_SECURE)
    user = make_user("front_desk")
    response = app.test_client().post(
        "/login", data={"username": user.username, "password": TEST_PASSWORD}, base_url="https://localhost"
    )
    cookie = _session_cookie(response)
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_pages_errors_and_redirects(client, make_user, login):
    login(make_user("front_desk"))
    for path, status in (("/", 200), ("/admin/users", 403), ("/nope", 404), ("/login", 302)):
        response = client.get(path)
        assert response.status_code == status
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"


def test_no_template_carries_inline_script():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), path
        assert not re.search(r"\son[a-z]+=", text), path


def test_an_installation_hashes_passwords_with_full_cost_scrypt(make_app, db):
    """The suite's cheaper scrypt is the test configuration's alone; every other config hashes at full cost."""
    from app.config import Config
    from app.services import accounts, passwords

    assert Config.PASSWORD_HASH_METHOD == ProductionConfig.PASSWORD_HASH_METHOD == "scrypt"
    app = make_app(PASSWORD_HASH_METHOD=Config.PASSWORD_HASH_METHOD)
    with app.app_context():
        stored = accounts.create_user("fullcost", TEST_PASSWORD).password_hash
        assert stored.startswith("scrypt:32768:8:1$")  # werkzeug's default: N=2**15, r=8, p=1
        assert accounts._dummy_hash().startswith("scrypt:32768:8:1$")  # unknown users cost as much
        assert passwords.verify_password(stored, TEST_PASSWORD)
