"""A real SMTP server on loopback (aiosmtpd) with STARTTLS from a trustme certificate."""

import socket
import ssl
from email import message_from_bytes, policy

import pytest
import trustme
from aiosmtpd.controller import Controller


class Mailbox:
    """The messages the server accepted: (envelope recipients, parsed message)."""

    def __init__(self):
        self.messages = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's hook
        if address.startswith("refused@"):  # a mailbox that does not exist: a permanent refusal
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    def __init__(self, tmp_path):
        ca = trustme.CA()
        self.ca_file = tmp_path / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, tls_context=self.context,
                                     require_starttls=True)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app, tmp_path, monkeypatch):
    """A running SMTP server the app is configured to use (MAIL_URL, MAIL_CA_FILE)."""
    server = SmtpServer(tmp_path)
    monkeypatch.setitem(app.config, "MAIL_URL", server.url)
    monkeypatch.setitem(app.config, "MAIL_CA_FILE", str(server.ca_file))
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 3)
    server.start()
    yield server
    server.stop()
