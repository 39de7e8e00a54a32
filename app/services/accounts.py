"""Staff accounts: creating users and checking a login."""

from sqlalchemy import func, select

from app.extensions import db
from app.models import Role, User
from app.services import clock, passwords


def find_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))


def authenticate(username: str, password: str) -> User | None:
    """The active staff user with this username and password, or None."""
    user = find_by_username(username)
    if user is None or user.kind != "staff" or not user.active:
        passwords.verify_password(passwords.hash_password("x" * 12), password)  # even out timing
        return None
    if not passwords.verify_password(user.password_hash, password):
        return None
    user.last_login_at = clock.utcnow()
    return user


def create_user(username: str, password: str, *, full_name: str = "", email: str | None = None,
                roles: list[Role] = (), must_change_password: bool = False) -> User:
    """Create a staff account (flushed); the caller checks the password policy first."""
    user = User(
        username=username.strip(),
        full_name=full_name,
        email=email,
        password_hash=passwords.hash_password(password),
        must_change_password=must_change_password,
        roles=list(roles),
    )
    db.session.add(user)
    db.session.flush()
    return user
