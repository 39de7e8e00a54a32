"""Installation commands: seed-roles, create-admin, bootstrap (what `make run` calls)."""

import secrets
import time

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from app.extensions import db
from app.models import Member, User
from app.services import accounts, passwords, roles


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
    """Create an administrator account (prompts for what is not given as an option)."""
    username = username.strip()
    if not username:
        raise click.ClickException("The username cannot be empty.")
    if accounts.find_by_username(username) is not None:
        raise click.ClickException(f"A user named {username!r} already exists.")
    problems = passwords.password_problems(password)
    if problems:
        reasons = []
        if "too_short" in problems:
            reasons.append(f"it has fewer than {passwords.MIN_LENGTH} characters")
        if "too_common" in problems:
            reasons.append("it is a common or easily guessed password")
        raise click.ClickException(
            "Password refused: " + " and ".join(reasons)
            + f". Choose at least {passwords.MIN_LENGTH} characters that are not a common password."
        )
    _create_admin(username, password)
    db.session.commit()
    click.echo(f"Administrator {username!r} created.")


@click.command("seed-demo")
@click.option("--members", default=500, show_default=True, type=click.IntRange(1, 1_000_000),
              help="How many demo members to add.")
@click.option("--years", default=3, show_default=True, type=click.IntRange(0, 30), help="Years of history.")
@click.option("--visits-per-year", default=100, show_default=True, type=click.IntRange(0, 400),
              help="Average visits per member per year.")
@click.option("--seed", default=None, type=int, help="Random seed, for the same data every time.")
@with_appcontext
def seed_demo_command(members: int, years: int, visits_per_year: int, seed: int | None):
    """Add realistic Dutch demo members with subscriptions, visits, invoices, consents and notes."""
    from app.services import demo as demo_data  # Faker loads here, not in every process that builds the app

    started = time.perf_counter()
    result = demo_data.load(members=members, years=years, visits_per_year=visits_per_year, seed=seed)
    db.session.commit()
    elapsed = time.perf_counter() - started
    counts = ", ".join(f"{value} {name.replace('_', ' ')}" for name, value in result.as_dict().items())
    click.echo(f"Demo data loaded in {elapsed:.1f} s: {counts}.")


@click.command("bootstrap")
@click.option("--demo/--no-demo", default=True, help="Load demo data on the first run (into an empty database).")
@click.option("--upgrade", is_flag=True,
              help="Apply the database migrations first (what `flask db upgrade` does), in the same process.")
@with_appcontext
def bootstrap_command(demo: bool, upgrade: bool):
    """First-run setup for `make run`: default roles, an administrator, demo data (idempotent)."""
    if upgrade:
        # One process instead of two: `make run` paid for loading the app once more for `db upgrade`.
        from flask_migrate import upgrade as apply_migrations

        apply_migrations()
    roles.ensure_default_roles()
    first_run = (
        db.session.scalar(select(func.count()).select_from(User)) == 0
        and db.session.scalar(select(func.count()).select_from(Member)) == 0
    )
    if db.session.scalar(select(func.count()).select_from(User)) == 0:
        password = secrets.token_urlsafe(12)
        _create_admin("admin", password)
        db.session.commit()
        click.echo("=" * 60)
        click.echo("Administrator created. Write this down, it is shown only once:")
        click.echo("  username: admin")
        click.echo(f"  password: {password}")
        click.echo("At the first login you choose two-factor login (an authenticator app): it is")
        click.echo("required for administrators.")
        click.echo("=" * 60)
    if first_run and demo:
        click.echo("Loading demo data (first run; `make run DEMO=0` starts empty)...")
        started = time.perf_counter()
        result = _load_demo()
        click.echo(f"  {result.members} demo members loaded in {time.perf_counter() - started:.1f} s.")
    db.session.commit()


def _load_demo():
    from app.services import demo as demo_data

    return demo_data.load(members=500, years=3, visits_per_year=100)


def register(app) -> None:
    for command in (seed_roles_command, create_admin_command, seed_demo_command, bootstrap_command):
        app.cli.add_command(command)
