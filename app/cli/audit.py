"""`flask --app wsgi audit ...` commands."""

from flask.cli import AppGroup

group = AppGroup("audit", help="Audit commands.")


def register(app) -> None:
    app.cli.add_command(group)
