"""The partner API over real TLS on loopback: tokens, scopes, fields, HTTPS only, the allow-list."""

from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from app.models import ApiClient, AuditEvent
from app.services import api_clients, clock


@pytest.fixture
def anna(make_member):
    return make_member(first_name="Anna", email="anna@example.nl", phone="+31 6 11111111")


def test_a_valid_token_gets_data_over_https_with_only_its_fields(https, make_client, anna):
    _client, token = make_client(fields=["email"])
    response = https.get("/api/v1/members", token=token)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    [member] = response.json()["data"]
    assert member == {"member_number": anna.member_number, "first_name": "Anna", "infix": "van der",
                      "last_name": "Berg", "email": "anna@example.nl"}
    assert "phone" not in response.text and "Kerkstraat" not in response.text
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.headers["Cache-Control"] == "no-store"


def test_a_field_not_granted_never_appears_on_any_endpoint(https, make_client, anna):
    _client, token = make_client()
    single = https.get(f"/api/v1/members/{anna.member_number}", token=token).json()
    assert set(single) == {"member_number", "first_name", "infix", "last_name"}
    listed = https.get("/api/v1/members", token=token).json()["data"]
    assert set(listed[0]) == set(single)
    assert anna.email not in https.get("/api/v1/members", token=token).text


def test_plain_http_is_refused_and_a_valid_token_sent_in_clear_is_revoked(db, http, https, make_client, anna):
    client, token = make_client()
    response = http.get("/api/v1/members", token=token)
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "https-required"
    assert "Anna" not in response.text and "Location" not in response.headers
    # The token crossed the network in clear: it no longer works, even over HTTPS.
    refused = https.get("/api/v1/members", token=token)
    assert refused.status_code == 401 and refused.json()["code"] == "token-exposed"
    db.session.expire_all()
    client = db.session.get(ApiClient, client.id)
    assert client.revoked_reason == "exposed" and client.revoked_at is not None
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "api_client.token_exposed"))


def test_plain_http_without_a_token_is_refused_too(http):
    response = http.get("/api/v1/openapi.json")
    assert response.status_code == 403 and response.json()["code"] == "https-required"


def test_a_spoofed_forwarded_proto_from_an_untrusted_address_is_refused(http, make_client, anna):
    _client, token = make_client()
    response = http.get("/api/v1/members", token=token, headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 403 and response.json()["code"] == "https-required"


def test_a_trusted_proxy_may_say_the_request_arrived_over_tls(make_app, db, make_client, anna):
    from tests.api.conftest import Server

    proxied = Server(make_app(TRUSTED_PROXIES=("127.0.0.1",)))
    try:
        _client, token = make_client(networks=["203.0.113.7"])
        headers = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        ok = requests.get(proxied.base + "/api/v1/members", headers=headers, timeout=10)
        assert ok.status_code == 200 and ok.json()["data"][0]["member_number"] == anna.member_number
        # Behind the proxy the allow-list sees the forwarded client address.
        headers["X-Forwarded-For"] = "198.51.100.1"
        refused = requests.get(proxied.base + "/api/v1/members", headers=headers, timeout=10)
        assert refused.status_code == 403 and refused.json()["code"] == "address-not-allowed"
    finally:
        proxied.stop()


def test_a_token_without_the_scope_gets_403(https, make_client, anna):
    _client, token = make_client(scopes=["api.visits.write"])
    response = https.get("/api/v1/members", token=token)
    assert response.status_code == 403 and response.json()["code"] == "missing-scope"
    assert "api.members.read" in response.json()["detail"]


@pytest.mark.parametrize(("networks", "status"), [
    (["10.0.0.0/8"], 403), (["2001:db8::/32"], 403), (["127.0.0.0/8"], 200), (["10.1.2.3", "127.0.0.1"], 200)])
def test_the_allow_list(https, make_client, anna, networks, status):
    _client, token = make_client(networks=networks)
    response = https.get("/api/v1/members", token=token)
    assert response.status_code == status
    if status == 403:
        assert response.json()["code"] == "address-not-allowed" and "Anna" not in response.text


def test_ipv6_ranges_are_matched():
    client = ApiClient(allowed_networks="2001:db8::/32,192.0.2.0/24")
    assert api_clients.address_allowed(client, "2001:db8:1::5")
    assert api_clients.address_allowed(client, "::ffff:192.0.2.9")
    assert not api_clients.address_allowed(client, "2001:db9::1")
    assert not api_clients.address_allowed(client, "not an address")


def test_expired_revoked_and_rotated_out_tokens_fail(db, https, make_client, anna):
    expired_client, expired = make_client(expires_days=1)
    revoked_client, revoked = make_client()
    rotated_client, old = make_client()
    api_clients.revoke(None, revoked_client)
    new = api_clients.rotate(None, rotated_client, overlap_hours=24)
    db.session.commit()
    # During the overlap both tokens of the rotated client work.
    assert https.get("/api/v1/members", token=old).status_code == 200
    assert https.get("/api/v1/members", token=new).status_code == 200
    assert https.get("/api/v1/members", token=revoked).json()["code"] == "token-revoked"
    clock.freeze(datetime.utcnow() + timedelta(days=2))
    try:
        assert https.get("/api/v1/members", token=expired).json()["code"] == "token-expired"
        assert https.get("/api/v1/members", token=old).json()["code"] == "token-rotated"
        assert https.get("/api/v1/members", token=new).status_code == 200
    finally:
        clock.freeze(None)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer chp_nonsense", "Basic abc", "Bearer " + "x" * 500])
def test_missing_or_unknown_tokens_get_401(https, header):
    response = https.get("/api/v1/members", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["code"] in {"token-missing", "invalid-token"}


def test_a_guessed_token_with_a_real_id_fails(https, make_client):
    client, token = make_client()
    forged = token[: -4] + ("aaaa" if not token.endswith("aaaa") else "bbbb")
    assert https.get("/api/v1/members", token=forged).json()["code"] == "invalid-token"


def test_tokens_are_stored_only_as_hashes(db, make_client):
    client, token = make_client()
    assert token.startswith("chp_")
    stored = " ".join(str(v) for v in db.session.execute(select(ApiClient.__table__)).one())
    assert token not in stored and token.split("_", 2)[2] not in stored
