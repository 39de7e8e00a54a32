"""`integrations configure egym ...` and `integrations sync` as the docs show them; claims on PostgreSQL."""

import pytest
from sqlalchemy import select, text

from app.models import Connector, OutboxEvent
from app.services.connectors import delivery, secretbox
from tests.integrations.conftest import KEY


def _configure(runner, egym, tmp_path, *extra, key=KEY):
    key_file = tmp_path / "egym.key"
    key_file.write_text(key + "\n")
    return runner.invoke(args=["integrations", "configure", "egym", "--url", egym.url, "--api-key-file",
                               str(key_file), "--basis", "consent", "--enable", *extra])


def test_configure_tests_the_connection_and_keeps_the_key_encrypted(runner, egym, tmp_path, db):
    result = _configure(runner, egym, tmp_path, "--field", "dateOfBirth")
    assert result.exit_code == 0, result.output
    assert "Connection test: the partner answered." in result.output
    assert "dateOfBirth" in result.output and "contact.city" not in result.output
    row = db.session.get(Connector, "egym")
    assert row.enabled and KEY not in row.api_key_encrypted
    assert secretbox.open_sealed(row.api_key_encrypted) == KEY
    assert egym.requests[-1]["path"] == "/api/v2/accounts"


def test_a_failing_connection_test_exits_1_and_saves_nothing(runner, egym, tmp_path, db):
    result = _configure(runner, egym, tmp_path, key="wrong-key")
    assert result.exit_code == 1
    assert "Connection test failed (unauthorized)" in result.output
    assert db.session.get(Connector, "egym") is None
    result = _configure(runner, egym, tmp_path, "--no-test", key="wrong-key")
    assert result.exit_code == 0 and egym.requests and len(egym.requests) == 1


def test_configure_refuses_bad_settings_with_a_message(runner, egym, tmp_path, db):
    key_file = tmp_path / "k"
    key_file.write_text(KEY)
    result = runner.invoke(args=["integrations", "configure", "egym", "--url", "http://egym.example.com",
                                 "--api-key-file", str(key_file), "--basis", "consent", "--enable"])
    assert result.exit_code == 1 and "HTTPS" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["integrations", "configure", "egym", "--url", egym.url, "--api-key-file",
                                 str(key_file), "--basis", "contract", "--enable", "--no-test"])
    assert result.exit_code == 1 and "processing agreement" in result.output
    result = runner.invoke(args=["integrations", "configure", "egym", "--field", "iban", "--no-test"])
    assert result.exit_code == 1 and "Unknown optional field" in result.output


def test_the_key_can_come_from_standard_input(runner, egym, db):
    result = runner.invoke(args=["integrations", "configure", "egym", "--url", egym.url, "--api-key-file", "-",
                                 "--basis", "contract", "--processing-agreement", "Verwerkersovereenkomst 2026-01",
                                 "--enable"], input=KEY + "\n")
    assert result.exit_code == 0, result.output


def test_sync_full_sends_everyone_eligible_and_exits(runner, egym, tmp_path, egym_member, db, clock_at):
    egym_member()
    egym_member()
    assert _configure(runner, egym, tmp_path).exit_code == 0
    result = runner.invoke(args=["integrations", "sync", "--connector", "egym", "--full"])
    assert result.exit_code == 0, result.output
    assert "2 member(s) queued" in result.output and "2 delivered" in result.output
    assert len(egym.accounts) == 2
    egym.down = True
    egym_member()
    result = runner.invoke(args=["integrations", "sync"])
    assert result.exit_code == 2 and "stopped" in result.output


def test_a_row_locked_by_another_worker_is_skipped_on_postgresql(app, configure, egym_member, db, clock_at):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
    configure()
    egym_member()
    egym_member()
    first, second = sorted(db.session.scalars(select(OutboxEvent.id)))
    with db.engine.connect() as other:
        other.execute(text("BEGIN"))
        other.execute(text("SELECT id FROM outbox_events WHERE id = :id FOR UPDATE"), {"id": first})
        assert delivery.claim("egym", "worker-b") == [second]
        other.execute(text("ROLLBACK"))
    assert delivery.claim("egym", "worker-a") == [first]


def test_a_mistyped_connector_secret_key_stops_the_start_with_its_remedy(make_app):
    from cryptography.fernet import Fernet

    from app.services.connectors.secretbox import BadSecretKeyError

    with pytest.raises(BadSecretKeyError, match="CONNECTOR_SECRET_KEY is not a valid key.*generate_key"):
        make_app(CONNECTOR_SECRET_KEY="not-a-key")
    make_app(CONNECTOR_SECRET_KEY=Fernet.generate_key().decode())  # a real key starts
