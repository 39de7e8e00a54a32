"""`flask --app wsgi audit ...` commands."""

import click
from flask.cli import AppGroup

from app.services import audit

group = AppGroup("audit", help="Audit commands.")


@group.command("verify")
def verify_command():
    """Recompute the audit log's hash chain; exit 1 and name the first broken row if it is broken."""
    result = audit.verify()
    if result.ok:
        click.echo(f"Audit log intact: {result.checked} event(s) checked.")
        if result.head_hash:
            click.echo(f"Head hash: {result.head_hash} (note it down to detect removal of the newest rows)")
        return
    if result.reason == "content":
        what = "its content was changed"
    else:
        what = "it does not link to the row before it (a row was removed or inserted)"
    click.echo(f"Audit log BROKEN at event #{result.broken_id}: {what}.", err=True)
    click.echo(f"{result.checked} event(s) before it are intact.", err=True)
    raise SystemExit(1)


def register(app) -> None:
    app.cli.add_command(group)
