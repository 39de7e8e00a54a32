"""The production way: gunicorn with --certfile/--keyfile and PORTAL_MODE=api, as docs/api.md says."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def gunicorn_api(database_url, server_cert, tmp_path):
    binary = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    if binary is None:
        pytest.skip("gunicorn is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    server_cert.cert_chain_pems[0].write_to_path(str(cert))
    server_cert.private_key_pem.write_to_path(str(key))
    port = _free_port()
    env = {**os.environ, "PORTAL_MODE": "api", "DATABASE_URL": database_url, "SECRET_KEY": "gunicorn-test",
           "CLUBHOUSE_INSTANCE": str(tmp_path), "ERASURE_LEDGER_KEY": "test-ledger-key"}
    # One worker: TLS and the API mode are what is tested, and each worker imports the whole app.
    process = subprocess.Popen(
        [binary, "--workers", "1", "--bind", f"127.0.0.1:{port}", "--certfile", str(cert), "--keyfile", str(key),
         "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):  # until it listens (a cold start imports the whole app)
            if process.poll() is not None:
                pytest.fail("gunicorn stopped: " + process.stderr.read().decode()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"https://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.slow
def test_gunicorn_serves_the_api_over_tls_with_its_own_certificate(gunicorn_api, ca_file, make_client, make_member):
    member = make_member()
    _client, token = make_client()
    headers = {"Authorization": f"Bearer {token}"}
    response = requests.get(gunicorn_api + "/api/v1/members", headers=headers, verify=ca_file, timeout=30)
    assert response.status_code == 200
    assert response.json()["data"][0]["member_number"] == member.member_number
    assert requests.get(gunicorn_api + "/login", verify=ca_file, timeout=30).status_code == 404
    # The same port without TLS: the handshake fails, nothing is answered in clear.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(gunicorn_api.replace("https:", "http:") + "/api/v1/members", headers=headers, timeout=30)
