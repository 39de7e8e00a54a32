"""Password hashing and the password policy."""

from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash

from app.services import installation

MIN_LENGTH = 12
MAX_LENGTH = 200

# A short list of passwords people pick that are long enough to pass the length rule.
COMMON_PASSWORDS = frozenset(
    {
        "password1234", "123456789012", "qwertyuiopas", "welkom123456", "wachtwoord12",
        "wachtwoord123", "password123!", "administrator", "letmein12345", "iloveyou1234",
        "voetbal12345", "sportclub123", "fitness12345", "qwerty123456", "changeme1234",
        "passwordpassword", "welkomwelkom", "aaaaaaaaaaaa", "abcdefghijkl", "000000000000",
        "111111111111", "1234567890ab", "clubhouse123", "zomer2026!!!", "winter2026!!",
        "password12345", "password123456", "welkom1234567", "wachtwoord1234", "qwerty1234567",
        "1234567890123", "123456789abc", "abc123456789", "administrator1", "letmeinplease",
        "iloveyou12345", "sunshine1234", "football1234", "voetbal123456", "azerty123456",
        "trustno11234", "monkey123456", "dragon123456", "princess1234", "welkom01welkom",
    }
)

MESSAGES = {
    "too_short": _l("The password must have at least %(min)s characters.", min=MIN_LENGTH),
    "too_long": _l("The password may have at most %(max)s characters.", max=MAX_LENGTH),
    "too_common": _l("This password is too common or too simple; choose a less predictable one."),
    "contains_username": _l("The password must not contain the username."),
}


DEFAULT_METHOD = installation.DEFAULT_PASSWORD_HASH_METHOD


def hash_password(password: str) -> str:
    """A slow salted hash (scrypt, with the installation's PASSWORD_HASH_METHOD)."""
    return generate_password_hash(password, method=installation.password_hash_method())


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    return check_password_hash(password_hash, password)


def password_problems(password: str, username: str | None = None) -> list[str]:
    """Why a password is not acceptable (keys of MESSAGES); empty when fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if len(password) > MAX_LENGTH:
        problems.append("too_long")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("too_common")
    if username and len(username) >= 3 and username.lower() in password.lower():
        problems.append("contains_username")
    return problems


def problem_messages(password: str, username: str | None = None) -> list[str]:
    """The policy problems as sentences for the person choosing the password."""
    return [str(MESSAGES[key]) for key in password_problems(password, username)]
