"""`flask --app wsgi backup create|restore FILE`: a consistent backup, and a restore that re-erases by itself."""

import click
from flask.cli import AppGroup

from app.cli.privacy import echo_file_scan
from app.services import backup as service
from app.services import jobs, ledger

group = AppGroup("backup", help="Database backups (into BACKUP_DIR) and restores.")


@group.command("create")
def create():
    """Write a consistent backup of the database into BACKUP_DIR and say what was written."""
    try:
        written = service.create()
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written: {written.path} ({written.size} bytes).")
    click.echo("The erasure ledger and its key are not in it: back them up separately (see docs/privacy-requests.md).")


@group.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
def restore(file):
    """Restore FILE, then erase again every member the ledger says was erased, and scan what is left."""
    try:
        result = service.restore(file)
    except (service.BackupError, jobs.JobBusyError) as exc:
        raise click.ClickException(str(exc)) from exc
    except ledger.LedgerError as exc:
        raise click.ClickException(f"Restored, but the ledger file cannot be read: {exc}. Restore the ledger "
                                   "file from its own backup, then run `privacy reapply-erasures`.") from exc
    reapply = result.reapply
    click.echo(f"Restored {result.backup}.")
    click.echo(f"Ledger rows put back into the database: {reapply.table_rows_restored}.")
    click.echo(f"{reapply.erased} member(s) erased again.")
    if reapply.chain_problems:
        click.echo("WARNING: the ledger file's chain is broken: run `privacy verify-ledger`.", err=True)
    if result.rows is not None:
        click.echo(f"Residual scan of the rows: {result.rows['failures']} failure(s), "
                   f"{result.rows['kept_by_law']} kept by law.")
    echo_file_scan(result.files)
    if (result.rows and not result.rows["ok"]) or not result.files.get("ok", True):
        raise click.ClickException("Personal data of erased members remains: see above.")


def register(app) -> None:
    app.cli.add_command(group)
