"""`flask --app wsgi retention ...` commands."""

from flask.cli import AppGroup

group = AppGroup("retention", help="Retention commands.")


def register(app) -> None:
    app.cli.add_command(group)
