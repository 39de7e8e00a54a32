"""`flask --app wsgi privacy ...` commands."""

from flask.cli import AppGroup

group = AppGroup("privacy", help="Privacy commands.")


def register(app) -> None:
    app.cli.add_command(group)
