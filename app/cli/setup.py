"""Installation commands: seed-roles, create-admin, bootstrap (what `make run` calls)."""

import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.services import accounts, passwords, retention, roles


@click.command("seed-roles")
@with_appcontext
def seed_roles_command():
    """Create the default roles that do not exist yet."""
    created = roles.ensure_default_roles()
    db.session.commit()
    click.echo(f"{len(created)} role(s) created.")


def _create_admin(username: str, password: str) -> User:
    roles.ensure_default_roles()
    admin_role = roles.role_by_key("administrator")
    return accounts.create_user(username, password, full_name="Administrator", roles=[admin_role])


@click.command("create-admin")
@click.option("--username", prompt=True, help="Login name of the new administrator.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 12 characters, not a common password.")
@with_appcontext
def create_admin_command(username: str, password: str):
    """Create an administrator account."""
    if accounts.find_by_username(username) is not None:
        raise click.ClickException(f"A user named {username!r} already exists.")
    problems = passwords.password_problems(password)
    if problems:
        raise click.ClickException(
            f"Password refused: it must have at least {passwords.MIN_LENGTH} characters and not be a common password."
        )
    _create_admin(username, password)
    db.session.commit()
    click.echo(f"Administrator {username!r} created.")


@click.command("bootstrap")
@click.option("--demo/--no-demo", default=True, help="Load demo data into an empty database.")
@with_appcontext
def bootstrap_command(demo: bool):
    """First-run setup for `make run`: default roles, an administrator, demo data (idempotent)."""
    roles.ensure_default_roles()
    retention.ensure_default_policies()
    if db.session.scalar(select(func.count()).select_from(User)) == 0:
        password = secrets.token_urlsafe(12)
        _create_admin("admin", password)
        db.session.commit()
        click.echo("=" * 60)
        click.echo("Administrator created. Write this down, it is shown only once:")
        click.echo("  username: admin")
        click.echo(f"  password: {password}")
        click.echo("=" * 60)
    db.session.commit()


def register(app) -> None:
    for command in (seed_roles_command, create_admin_command, bootstrap_command):
        app.cli.add_command(command)
