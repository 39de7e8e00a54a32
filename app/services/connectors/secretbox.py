"""Partner API keys, encrypted at rest with a key kept outside the database.

A database dump or backup alone never reveals a partner key: the Fernet key lives in a
file in instance/ (0600) or in CONNECTOR_SECRET_KEY. Losing that key means entering the
partner keys again; nothing else depends on it.
"""

import os

from cryptography.fernet import Fernet, InvalidToken

from app.services import installation


class SecretError(Exception):
    """The stored key cannot be opened with this installation's key."""


class BadSecretKeyError(RuntimeError):
    """CONNECTOR_SECRET_KEY is set but is no Fernet key: the portal must not start with it."""


def refuse_bad_configured_key(config) -> None:
    """At startup: a mistyped CONNECTOR_SECRET_KEY is named now, not as a crash on the first partner call."""
    configured = config.get("CONNECTOR_SECRET_KEY")
    if not configured:
        return
    try:
        Fernet(configured.encode() if isinstance(configured, str) else configured)
    except (ValueError, TypeError) as error:
        raise BadSecretKeyError(
            "CONNECTOR_SECRET_KEY is not a valid key: it must be 32 bytes in url-safe base64 (44 characters), "
            "as made by: python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'. "
            "Keep the key that sealed the stored partner keys, or enter those keys again after changing it."
        ) from error


def _fernet() -> Fernet:
    configured = installation.connector_secret_key()
    if configured:
        return Fernet(configured.encode() if isinstance(configured, str) else configured)
    path = installation.connector_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(Fernet.generate_key())
    return Fernet(path.read_bytes().strip())


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def open_sealed(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretError("the partner key cannot be decrypted with this installation's key") from error
