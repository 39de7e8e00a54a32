"""Findings 9 and 11: production settings enforced at start and by deploy-check; two-factor where it matters."""

import re

import pytest
from sqlalchemy import select

from app import create_app, production
from app.config import ProductionConfig
from app.models import User
from tests.conftest import TEST_PASSWORD

GOOD_SECRET = "k" * 40


@pytest.fixture
def production_app(database_url, instance_dir, monkeypatch, tmp_path):
    """build(**overrides) -> a production app on the test database (raises when the settings are unsafe)."""
    monkeypatch.setenv("CLUBHOUSE_ENV", "production")

    def build(secret=GOOD_SECRET, **overrides):
        if secret is None:
            monkeypatch.delenv("SECRET_KEY", raising=False)
        else:
            monkeypatch.setenv("SECRET_KEY", secret)
        config = type("Prod", (ProductionConfig,), {
            "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret or "instance-file-key",
            "ERASURE_LEDGER_PATH": str(instance_dir / "erasure-ledger.jsonl"), "ERASURE_LEDGER_KEY": "k" * 32,
            "BACKUP_DIR": str(tmp_path / "backups"), "WTF_CSRF_ENABLED": False, **overrides})
        return create_app(config)

    return build


@pytest.mark.parametrize(("secret", "overrides", "says"), [
    ("a", {}, "SECRET_KEY"),
    (None, {}, "SECRET_KEY"),
    (GOOD_SECRET, {"DEBUG": True}, "debug"),
    (GOOD_SECRET, {"SESSION_COOKIE_SECURE": False}, "cookies"),
    (GOOD_SECRET, {"HSTS_ENABLED": False}, "HSTS"),
])
def test_production_refuses_to_start_with_unsafe_settings(production_app, secret, overrides, says):
    with pytest.raises(production.UnsafeProductionSettingsError, match=says):
        production_app(secret, **overrides)


def test_the_ledger_inside_the_backup_folder_is_refused(production_app, tmp_path):
    with pytest.raises(production.UnsafeProductionSettingsError, match="must not be inside BACKUP_DIR"):
        production_app(ERASURE_LEDGER_PATH=str(tmp_path / "backups" / "ledger.jsonl"))


def test_production_sends_hsts_and_secure_cookies(production_app, make_user):
    app = production_app()
    user = make_user("front_desk")
    response = app.test_client().post("/login", data={"username": user.username, "password": TEST_PASSWORD},
                                      base_url="https://clubhouse.example")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    assert "Secure" in response.headers["Set-Cookie"]


def test_flask_debug_in_the_environment_does_not_turn_debug_on_in_production(production_app, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    with pytest.raises(production.UnsafeProductionSettingsError, match="debug"):
        production_app()


def test_deploy_check_prints_every_check_and_exits_1_on_a_failure(runner):
    result = runner.invoke(args=["deploy-check"])
    assert result.exit_code == 1
    for name in ("CLUBHOUSE_ENV", "SECRET_KEY", "debug", "cookies", "HSTS", "ledger", "TRUSTED_PROXIES",
                 "database", "workers"):
        assert re.search(rf"^(OK  |FAIL|WARN|INFO) {name}", result.output, re.M), name
    assert "WARN workers" in result.output and "jobs worker" in result.output  # no worker has run here
    assert "FAIL CLUBHOUSE_ENV" in result.output


def test_deploy_check_sees_a_live_job_worker(runner, db):
    from app.models import WorkerHeartbeat

    db.session.add(WorkerHeartbeat(worker="host-1:4242"))
    db.session.commit()
    result = runner.invoke(args=["deploy-check"])
    assert re.search(r"^OK   workers: a job worker was seen at ", result.output, re.M), result.output


def test_deploy_check_passes_a_sound_production_setup(production_app, monkeypatch, tmp_path):
    folder = tmp_path / "instance"
    folder.mkdir(mode=0o700)
    app = production_app(TRUSTED_PROXIES=("10.0.0.1",), INSTANCE_DIR=str(folder))
    with app.app_context():  # the command runs in the production app, not the test session's
        result = app.test_cli_runner().invoke(args=["deploy-check"])
        assert result.exit_code == 0, result.output
        assert "All checks passed." in result.output
        folder.chmod(0o777)
        result = app.test_cli_runner().invoke(args=["deploy-check"])
        assert result.exit_code == 1 and "FAIL instance/" in result.output


def test_an_administrator_enrols_at_the_first_login_with_a_qr_code(client, make_user, db):
    admin = make_user("administrator", totp_enabled=False, username="newboss")
    response = client.post("/login", data={"username": "newboss", "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/account/two-factor"
    assert client.get("/admin/users").headers["Location"] == "/account/two-factor"  # nothing else until enrolled
    client.post("/account/two-factor/start")
    page = client.get("/account/two-factor")
    html = page.get_data(as_text=True)
    db.session.expire_all()
    secret = db.session.get(User, admin.id).totp_secret
    assert "<svg" in html and "otpauth://totp/" in html
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in html  # the key as text
    svg = html[html.index("<svg"):html.index("</svg>")]
    assert "style=" not in svg and "<script" not in svg  # nothing the CSP (style-src/script-src 'self') blocks
    assert "unsafe-inline" not in page.headers["Content-Security-Policy"]


def test_make_runs_first_administrator_must_enrol(runner, client, db):
    result = runner.invoke(args=["bootstrap", "--no-demo"])
    assert result.exit_code == 0, result.output
    password = re.search(r"password: (\S+)", result.output).group(1)
    response = client.post("/login", data={"username": "admin", "password": password})
    assert response.headers["Location"] == "/account/two-factor"
    assert db.session.scalar(select(User).where(User.username == "admin")).totp_enabled is False
