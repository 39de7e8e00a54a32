"""`flask --app wsgi users ...`: account rescue from the server's command line.

For when no administrator can log in (the only one is locked out, forgot the password or lost
the phone). The same services as the admin pages; audit rows carry no actor (the command line).
"""

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.services import accounts

group = AppGroup("users", help="Account rescue: unlock, reset a password or two-factor login.")


def _user(username: str):
    user = accounts.find_by_username(username)
    if user is None or user.kind != "staff":
        raise click.ClickException(f"No staff account named {username!r}.")
    return user


@group.command("unlock")
@click.argument("username")
def unlock_command(username: str):
    """Lift a lockout after too many failed logins."""
    accounts.unlock_user(None, _user(username))
    db.session.commit()
    click.echo(f"{username} is unlocked.")


@group.command("reset-password")
@click.argument("username")
@click.option("--password", prompt="Temporary password", hide_input=True, confirmation_prompt=True,
              help="At least 12 characters, not a common password; changed at the next login.")
def reset_password_command(username: str, password: str):
    """Give a user a temporary password (also unlocks); they must change it at the next login."""
    user = _user(username)
    try:
        accounts.reset_password(None, user, password)
    except accounts.AccountError as error:
        db.session.rollback()
        with force_locale("en"):
            raise click.ClickException(f"Password refused: {error}") from None
    db.session.commit()
    click.echo(f"{username} has a temporary password and must change it at the next login.")


@group.command("reset-two-factor")
@click.argument("username")
def reset_two_factor_command(username: str):
    """Clear a user's two-factor login (lost phone); they set it up again if a role requires it."""
    accounts.reset_totp(None, _user(username))
    db.session.commit()
    click.echo(f"Two-factor login of {username} is reset.")


def register(app) -> None:
    app.cli.add_command(group)
