"""`flask --app wsgi api-clients create|list|rotate|revoke`: partner API clients from the command line.

The same services as the pages at /integrations/api-clients; audit rows carry no actor (the
command line). A token is printed once, as the last line, and never stored.
"""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.services import api_clients

group = AppGroup("api-clients", help="Partner API clients: create, list, rotate and revoke their tokens.")


def _refused(error) -> None:
    db.session.rollback()
    with force_locale("en"):
        click.echo(f"Refused: {error}", err=True)
    sys.exit(2)


def _client(name: str):
    client = api_clients.find(name)
    if client is None:
        click.echo(f"No API client named {name!r}.", err=True)
        sys.exit(2)
    return client


@group.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, help="An existing role (holding api.* scopes only); repeatable.")
@click.option("--scope", "scopes", multiple=True, help="A permission code, e.g. api.members.read; repeatable.")
@click.option("--field", "fields", multiple=True,
              help="A member field on top of member_number and the name, e.g. email; repeatable.")
@click.option("--allow", "networks", multiple=True, help="An address or CIDR range the client may call from.")
@click.option("--expires-days", default=api_clients.DEFAULT_EXPIRY_DAYS, show_default=True, type=int)
@click.option("--agreement", default="", help="Note on the processing agreement (verwerkersovereenkomst).")
def create_command(name, roles, scopes, fields, networks, expires_days, agreement):
    """Create a client and print its token (once, as the last line)."""
    try:
        client, token = api_clients.create_client(
            None, name=name, roles=api_clients.roles_by_names(roles), scopes=scopes, fields=fields,
            networks=networks, expires_days=expires_days, processing_agreement=agreement)
    except api_clients.ApiClientError as error:
        _refused(error)
    db.session.commit()
    click.echo(f"Created API client {client.name}.")
    click.echo(f"Scopes: {', '.join(api_clients.scopes_of(client))}")
    click.echo(f"Fields: {', '.join(api_clients.granted_fields(client))}")
    click.echo(f"Expires: {client.expires_at:%Y-%m-%d}")
    click.echo("The token is shown only now; give it to the partner over a safe channel:")
    click.echo(token)


@group.command("list")
def list_command():
    """Every client: name, scopes, fields, allow-list, expiry, last used, state."""
    clients = api_clients.all_clients()
    if not clients:
        click.echo("No API clients.")
        return
    for client in clients:
        click.echo(client.name)
        click.echo(f"  scopes:     {', '.join(api_clients.scopes_of(client)) or '-'}")
        click.echo(f"  fields:     {', '.join(api_clients.granted_fields(client))}")
        click.echo(f"  allow-list: {', '.join(api_clients.networks_of(client)) or 'any address'}")
        click.echo(f"  expires:    {client.expires_at:%Y-%m-%d %H:%M} UTC")
        click.echo(f"  last used:  {f'{client.last_used_at:%Y-%m-%d %H:%M} UTC' if client.last_used_at else 'never'}")
        state = api_clients.state(client)
        if client.revoked_at:
            state += f" since {client.revoked_at:%Y-%m-%d %H:%M} UTC"
        click.echo(f"  state:      {state}")


@group.command("rotate")
@click.argument("name")
def rotate_command(name):
    """Issue a new token; the old one keeps working for API_TOKEN_OVERLAP_HOURS (not after a revocation)."""
    client = _client(name)
    hours = current_app.config["API_TOKEN_OVERLAP_HOURS"]
    overlap = client.revoked_at is None and hours > 0
    token = api_clients.rotate(None, client, overlap_hours=hours)
    db.session.commit()
    if overlap:
        click.echo(f"New token for {client.name}; the previous one stops at {client.previous_valid_until:%Y-%m-%d %H:%M} UTC.")
    else:
        click.echo(f"New token for {client.name}; no earlier token works.")
    click.echo(token)


@group.command("revoke")
@click.argument("name")
def revoke_command(name):
    """Stop every token of the client at once."""
    client = _client(name)
    api_clients.revoke(None, client)
    db.session.commit()
    click.echo(f"Every token of {client.name} is revoked.")


def register(app) -> None:
    app.cli.add_command(group)
