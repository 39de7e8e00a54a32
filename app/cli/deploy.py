"""`flask --app wsgi deploy-check`: the production rules and an operator's checklist, exit 1 on failure."""

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from app import production

LABELS = {"ok": "OK  ", "fail": "FAIL", "warn": "WARN", "info": "INFO"}


@click.command("deploy-check")
@with_appcontext
def deploy_check_command():
    """Check the production settings, file permissions, proxies and the database; exit 1 on any failure."""
    checks = production.deploy_checks(current_app._get_current_object())
    for check in checks:
        click.echo(f"{LABELS[check.status]} {check.name}: {check.message}")
    failures = sum(check.status == "fail" for check in checks)
    if failures:
        click.echo(f"{failures} check(s) failed: fix them before serving the portal.")
        sys.exit(1)
    click.echo("All checks passed.")


def register(app) -> None:
    app.cli.add_command(deploy_check_command)
