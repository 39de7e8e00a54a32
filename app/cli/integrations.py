"""`flask --app wsgi integrations ...` and `jobs worker`: connector settings, syncs and the queue's worker."""

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.services.connectors import delivery, egym, outbox, settings  # noqa: F401 - outbox registers its hooks
from app.services.connectors import plans as connector_plans

group = AppGroup("integrations", help="Equipment connectors (eGym, TechnoGym): settings and syncs.")
jobs_group = AppGroup("jobs", help="The job queue (huey).")


def _read_key(path: str) -> str:
    if path == "-":
        return sys.stdin.read().strip()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError as error:
        raise click.ClickException(f"cannot read the API key file: {error.strerror}") from None


@group.command("configure")
@click.argument("name")
@click.option("--url", help="The partner's base URL, without /api/v2 (HTTPS except for loopback addresses).")
@click.option("--api-key-file", help="A file holding the API key, or - to read it from standard input.")
@click.option("--basis", type=click.Choice(settings.BASES),
              help="consent: only members who consented; contract: with a processing agreement.")
@click.option("--processing-agreement", help="The processing agreement (reference or date); needed for --basis contract.")
@click.option("--plan", "plans", multiple=True,
              help="A plan name or plan group (e.g. fitness) taking part; repeat; none means all.")
@click.option("--all-plans", is_flag=True, help="Every plan takes part (clears --plan choices).")
@click.option("--field", "fields", multiple=True, help="An optional field to send (e.g. dateOfBirth); repeat.")
@click.option("--no-fields", is_flag=True, help="Send no optional field.")
@click.option("--sync-time", help="Daily full sync at HH:MM (local time); empty to switch it off.")
@click.option("--enable/--disable", default=None, help="Switch the connector on or off.")
@click.option("--no-test", is_flag=True, help="Do not call the partner to test the connection.")
@click.option("--application-id", help="TechnoGym: the application id TechnoGym issued.")
@click.option("--integration-user", help="TechnoGym: the integration user's name.")
@click.option("--password-file", help="TechnoGym: a file holding the integration user's password (- for standard input).")
def configure_command(name, url, api_key_file, basis, processing_agreement, plans, all_plans, fields, no_fields,
                      sync_time, enable, no_test, application_id, integration_user, password_file):
    """Set a connector's settings (egym or technogym); tests the connection (exit 1 when it fails) unless --no-test.

    For TechnoGym, --url is the facility URL TechnoGym gave the club.
    """
    if api_key_file == "-" and password_file == "-":  # noqa: S105 - "-" means standard input, not a password
        raise click.ClickException("only one of --api-key-file and --password-file can read standard input")
    api_key = _read_key(api_key_file) if api_key_file else None
    password = _read_key(password_file) if password_file else None
    plan_names = [] if all_plans else (list(plans) if plans else None)
    field_names = [] if no_fields else (list(fields) if fields else None)
    with force_locale("en"):
        try:
            row = settings.configure(name, actor=None, url=url, api_key=api_key, basis=basis,
                                     processing_agreement=processing_agreement, plan_names=plan_names,
                                     fields=field_names, sync_time=sync_time, enabled=enable,
                                     application_id=application_id, integration_user=integration_user,
                                     password=password)
        except settings.ConnectorError as error:
            db.session.rollback()
            raise click.ClickException(str(error)) from None
        if not no_test and row.base_url and row.api_key_encrypted:
            problem = settings.test_connection(row)
            if problem:
                db.session.rollback()
                text = settings.ERROR_TEXTS.get(name, egym.ERROR_TEXTS).get(problem, "")
                click.echo(f"Connection test failed ({problem}): {text}".rstrip(": "), err=True)
                click.echo("Nothing was saved.", err=True)
                sys.exit(1)
            click.echo("Connection test: the partner answered.")
        db.session.commit()
        spec = settings.declaration(name)
        click.echo(f"{spec.display_name}: {'enabled' if row.enabled else 'disabled'}, basis {row.legal_basis}, "
                   f"plans {', '.join(connector_plans.choice_labels(row.plan_list)) or 'all'}")
        click.echo("Fields sent: " + ", ".join(f.name for f in spec.sent_fields(row.optional_field_list)))


@group.command("sync")
@click.option("--connector", "name", help="Only this connector (default: every enabled one).")
@click.option("--full", is_flag=True, help="Queue every eligible member first (a full synchronisation).")
def sync_command(name, full):
    """Deliver everything pending now and exit (for cron and tests)."""
    names = [name] if name else settings.enabled_names()
    failed = False
    for connector_name in names:
        try:
            row = settings.connector(connector_name, create=False)
        except settings.ConnectorError as error:
            raise click.ClickException(str(error)) from None
        if row is None or not row.enabled:
            click.echo(f"{connector_name}: not enabled; nothing sent.")
            continue
        if full:
            queued = outbox.enqueue_full_sync(row)
            db.session.commit()
            click.echo(f"{connector_name}: {queued} member(s) queued for a full sync.")
        result = delivery.run_pending(connector_name)
        line = f"{connector_name}: {result.delivered} delivered, {result.retrying} waiting to retry, {result.parked} parked"
        if result.stopped:
            line += f" (stopped: the partner answered {result.stopped}; the rest waits)"
            failed = True
        click.echo(line)
    if failed:
        sys.exit(2)


@jobs_group.command("worker")
@click.option("--workers", type=click.IntRange(1, 16), default=1, show_default=True, help="Worker threads.")
def worker_command(workers):
    """Run a job-queue worker (deliveries, the daily syncs) until stopped."""
    from app.services import jobqueue  # huey (and the Redis client it brings) loads here, not in every process

    try:
        jobqueue.run_worker(current_app._get_current_object(), workers=workers)
    except jobqueue.JobQueueError as error:
        raise click.ClickException(str(error)) from None


def register(app) -> None:
    app.cli.add_command(group)
    app.cli.add_command(jobs_group)
