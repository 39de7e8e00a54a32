"""Real servers on loopback for the partner API: HTTPS with trustme certificates, and plain HTTP.

The servers run the test app (same database) in a thread each; they stop at the end of the
test session. Requests go through `requests`, verifying the server against the test CA.
"""

import ssl
import threading

import pytest
import requests
import trustme
from werkzeug.serving import WSGIRequestHandler, make_server

from app.services import api_clients


class QuietHandler(WSGIRequestHandler):
    """No access log lines (they would hold query strings)."""

    def log_request(self, *args, **kwargs):
        pass


class Server:
    """A werkzeug server in a thread; base is its URL."""

    def __init__(self, app, host="127.0.0.1", ssl_context=None):
        self.httpd = make_server(host, 0, app, threaded=True, ssl_context=ssl_context, request_handler=QuietHandler)
        self.port = self.httpd.server_port
        scheme = "https" if ssl_context else "http"
        shown = f"[{host}]" if ":" in host else host
        self.base = f"{scheme}://{shown}:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def ca():
    return trustme.CA()


@pytest.fixture(scope="session")
def server_cert(ca):
    return ca.issue_cert("127.0.0.1", "localhost", "::1")


@pytest.fixture(scope="session")
def ssl_context(server_cert):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    server_cert.configure_cert(context)
    return context


@pytest.fixture(scope="session")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="session")
def servers(app, ssl_context):
    """{'https': Server, 'http': Server} serving the test app."""
    started = {"https": Server(app, ssl_context=ssl_context), "http": Server(app)}
    yield started
    for server in started.values():
        server.stop()


@pytest.fixture
def https(servers, ca_file):
    """https.get('/api/v1/members', token=...) over real TLS, the server verified against the test CA."""

    class Client:
        base = servers["https"].base

        def request(self, method, path, token=None, headers=None, **kwargs):
            headers = dict(headers or {})
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return requests.request(method, self.base + path, headers=headers, verify=ca_file, timeout=10, **kwargs)

        def get(self, path, **kwargs):
            return self.request("GET", path, **kwargs)

        def post(self, path, **kwargs):
            return self.request("POST", path, **kwargs)

    return Client()


@pytest.fixture
def http(servers):
    """The same app over plain HTTP."""

    class Client:
        base = servers["http"].base

        def get(self, path, token=None, headers=None, **kwargs):
            headers = dict(headers or {})
            if token:
                headers["Authorization"] = f"Bearer {token}"
            return requests.get(self.base + path, headers=headers, timeout=10, **kwargs)

    return Client()


@pytest.fixture
def make_client(db):
    """make_client(scopes=[...], fields=[...], networks=[...]) -> (ApiClient, token), committed."""

    counter = iter(range(1, 10_000))

    def factory(name=None, scopes=("api.members.read",), fields=(), networks=(), expires_days=365, **kwargs):
        client, token = api_clients.create_client(
            None, name=name or f"partner-{next(counter)}", scopes=scopes, fields=fields, networks=networks,
            expires_days=expires_days, **kwargs)
        db.session.commit()
        return client, token

    return factory
