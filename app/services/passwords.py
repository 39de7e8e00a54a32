"""Password hashing and the password policy."""

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12

# A short list of passwords people pick that are long enough to pass the length rule.
COMMON_PASSWORDS = frozenset(
    {
        "password1234", "123456789012", "qwertyuiopas", "welkom123456", "wachtwoord12",
        "wachtwoord123", "password123!", "administrator", "letmein12345", "iloveyou1234",
        "voetbal12345", "sportclub123", "fitness12345", "qwerty123456", "changeme1234",
        "passwordpassword", "welkomwelkom", "aaaaaaaaaaaa", "abcdefghijkl", "000000000000",
        "111111111111", "1234567890ab", "clubhouse123", "zomer2026!!!", "winter2026!!",
    }
)


def hash_password(password: str) -> str:
    """A slow salted hash (scrypt)."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    return check_password_hash(password_hash, password)


def password_problems(password: str) -> list[str]:
    """Why a password is not acceptable (message ids for gettext); empty when fine."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append("too_short")
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("too_common")
    return problems
