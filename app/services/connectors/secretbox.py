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
