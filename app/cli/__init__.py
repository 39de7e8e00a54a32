"""Flask commands; each module registers one area's commands and calls the same services as the views."""

from app.cli import api_clients, audit, backup, deploy, integrations, members, privacy, retention, setup, users


def register(app) -> None:
    for module in (setup, audit, backup, deploy, privacy, retention, users, api_clients, integrations, members):
        module.register(app)
