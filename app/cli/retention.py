"""`flask --app wsgi retention ...` commands: the nightly sweep and the policies in words."""

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.services import jobs, privacy_requests, retention

group = AppGroup("retention", help="Retention policies and the sweep that applies them.")


@group.command("sweep")
@click.option("--dry-run", is_flag=True, help="Only show what is due; change nothing.")
@click.option("--chunk-size", type=click.IntRange(1, 100_000), default=None,
              help="Members or rows per transaction (default: 25,000 members, 5,000 other rows).")
@click.option("--lang", type=click.Choice(["en", "nl"]), default="en", show_default=True,
              help="Language of the report.")
def sweep_command(dry_run: bool, chunk_size: int | None, lang: str):
    """Apply the retention policies (for a nightly cron job); --dry-run shows what is due."""
    with force_locale(lang):
        if dry_run:
            _print_forecast()
            return
        options = {}
        if chunk_size:
            options = {"member_chunk": chunk_size, "delete_chunk": chunk_size}
        try:
            result = retention.run_sweep(None, commit=db.session.commit, via="cli", **options)
        except jobs.JobBusyError as busy:
            db.session.rollback()
            since = busy.acquired_at.strftime("%Y-%m-%d %H:%M UTC") if busy.acquired_at else "?"
            raise click.ClickException(
                f"another retention sweep is running (holder {busy.holder}, since {since}); nothing was done."
            ) from None
        db.session.commit()
        # Erasure letters nobody marked sent go after their own keeping period, with the sweep.
        letters = privacy_requests.expire_letters(current_app.config["LETTER_KEEP_DAYS"])
        db.session.commit()
        if letters:
            click.echo(f"{letters} unsent erasure letter(s) removed after {current_app.config['LETTER_KEEP_DAYS']} days.")
        for key in retention.DISPLAY_ORDER:
            if key in result.counts:
                category = retention.CATEGORIES[key]
                click.echo(f"{result.counts[key]:>9}  {category.label}: {retention.ACTION_WORDS[result.actions[key]]}")
        click.echo(f"Retention sweep {result.run_id} done: {result.total} record(s) processed.")


def _print_forecast() -> None:
    click.echo("Dry run: nothing is changed.")
    total = 0
    for forecast in retention.forecast():
        total += forecast.due
        line = f"{forecast.due:>9} due  {forecast.held_back:>6} kept back  {retention.describe(forecast.policy)}"
        if not forecast.policy.enabled:
            line += "  [switched off]"
        click.echo(line)
        if forecast.sample:
            click.echo(" " * 11 + "member numbers: " + ", ".join(str(n) for n in forecast.sample)
                       + (" ..." if forecast.due > len(forecast.sample) else ""))
    click.echo(f"{total} record(s) would be processed.")


@group.command("policies")
@click.option("--lang", type=click.Choice(["en", "nl"]), default="en", show_default=True)
def policies_command(lang: str):
    """List the retention policies in plain words, with their basis."""
    with force_locale(lang):
        for policy in retention.policies():
            suffix = "" if policy.enabled else "  [switched off]"
            click.echo(f"- {retention.describe(policy)}{suffix}")
            click.echo(f"  {retention.basis_text(policy)}")


def register(app) -> None:
    app.cli.add_command(group)
