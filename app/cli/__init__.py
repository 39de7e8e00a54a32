"""Flask commands; each module registers one area's commands and calls the same services as the views."""

from app.cli import audit, backup, privacy, retention, setup, users


def register(app) -> None:
    for module in (setup, audit, backup, privacy, retention, users):
        module.register(app)
